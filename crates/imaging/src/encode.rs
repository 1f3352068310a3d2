//! Encoders: `jpeg-encoder` for JPEG, `image`'s PNG encoder, libwebp for WebP.

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, SamplingFactor};

use crate::{EncodeError, Frame};

/// Baseline JPEG with 4:2:0 chroma, box-averaged like libjpeg's `h2v2_downsample`, the standard
/// (Annex K) Huffman tables, in one interleaved pass over 16-row strips. Tables optimised per
/// image (Sharp's `optimiseCoding` default) made the same pixels 7.7% smaller, but in
/// `jpeg-encoder` they need a second, non-interleaved pass over every quantised block of the image
/// held in memory: +40% of the encode's CPU and ~19 MB more per 2-megapixel preset. The bytes are
/// held equal by the quality setting instead (83 here is Sharp's q85 in size; ADR 0105,
/// docs/performance.md). For chroma, the crate's default takes the top-left sample of each 2x2
/// block instead: about 1 ms faster on a 1080x1080 frame (7.1 vs 8.0 ms) but 0.4 dB worse (PSNR
/// against the unencoded frame's reference, 31.65 vs 32.03 dB), as colour edges alias. Averaged,
/// the output matches libjpeg-turbo's (Sharp's) at the same quality setting: 32.03 dB, SSIM 0.943
/// for both.
///
/// The output buffer is trimmed to its length: a rendition is held until it is stored, and a
/// buffer sized for the worst case kept 4-8x its bytes (38 MB over the bench's 136 outputs).
pub(crate) fn jpeg(frame: &Frame, quality: u8) -> Result<Vec<u8>, EncodeError> {
    let too_large = || EncodeError::TooLargeForJpeg {
        width: frame.width,
        height: frame.height,
    };
    let width = u16::try_from(frame.width).map_err(|_| too_large())?;
    let height = u16::try_from(frame.height).map_err(|_| too_large())?;

    let mut out = Vec::with_capacity(frame.rgb.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder
        .encode(&frame.rgb, width, height, ColorType::Rgb)
        .map_err(EncodeError::Jpeg)?;
    out.shrink_to_fit();
    Ok(out)
}

/// 8-bit RGB or RGBA PNG, fast compression (renditions are for display; the original is
/// kept), the buffer trimmed to its length as for JPEG.
pub(crate) fn png(frame: &Frame) -> Result<Vec<u8>, EncodeError> {
    let layout = if frame.alpha {
        image::ExtendedColorType::Rgba8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let mut out = Vec::with_capacity(frame.rgb.len() / 2);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(&frame.rgb, frame.width, frame.height, layout)
        .map_err(EncodeError::Png)?;
    out.shrink_to_fit();
    Ok(out)
}

/// Lossy WebP at `quality` with libwebp's `method` [`WEBP_METHOD`]; an RGBA frame keeps its alpha
/// (libwebp compresses the alpha plane losslessly beside the lossy colour).
/// libwebp's speed/size trade-off, 0 (fastest) to 6; its default and Sharp's `effort` default
/// are 4. Method 2 halves the encode (RGBA 1080x1920 + thumbnail: ~150 vs ~300 ms CPU) for ~3%
/// more bytes at the same quality, judged against Sharp's method 4 at equal bytes (ADR 0107).
pub(crate) const WEBP_METHOD: i32 = 2;

pub(crate) fn webp(frame: &Frame, quality: u8) -> Result<Vec<u8>, EncodeError> {
    let encoder = if frame.alpha {
        webp::Encoder::from_rgba(&frame.rgb, frame.width, frame.height)
    } else {
        webp::Encoder::from_rgb(&frame.rgb, frame.width, frame.height)
    };
    // libwebp's defaults (what `encode_simple` starts from), lossy colour, lossless alpha.
    let mut config = webp::WebPConfig::new().map_err(|()| {
        EncodeError::WebP(webp::WebPEncodingError::VP8_ENC_ERROR_INVALID_CONFIGURATION)
    })?;
    config.quality = f32::from(quality);
    config.alpha_compression = 1;
    config.method = WEBP_METHOD;
    let encoded = encoder
        .encode_advanced(&config)
        .map_err(EncodeError::WebP)?;
    Ok(encoded.to_vec())
}
