//! Encoders: `jpeg-encoder` for JPEG, `image`'s PNG encoder, libwebp for WebP.

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, SamplingFactor};

use crate::{EncodeError, Frame};

/// Baseline JPEG with 4:2:0 chroma, box-averaged like libjpeg's `h2v2_downsample`, Huffman tables
/// optimised per image (as Sharp's `optimiseCoding` default: 7% smaller on the bench corpus, for
/// 17% more CPU per image; see docs/performance.md). For chroma, the crate's
/// default takes the top-left sample of each 2x2 block instead: about 1 ms faster on a
/// 1080x1080 frame (7.1 vs 8.0 ms) but 0.4 dB worse (PSNR against the unencoded frame's
/// reference, 31.65 vs 32.03 dB), as colour edges alias. Averaged, the output matches
/// libjpeg-turbo's (Sharp's) at the same quality setting: 32.03 dB, SSIM 0.943 for both.
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
    encoder.set_optimized_huffman_tables(true);
    encoder
        .encode(&frame.rgb, width, height, ColorType::Rgb)
        .map_err(EncodeError::Jpeg)?;
    Ok(out)
}

/// 8-bit RGB or RGBA PNG, fast compression (renditions are for display; the original is
/// kept).
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
    Ok(out)
}

/// Lossy WebP at `quality`, libwebp's default method; an RGBA frame keeps its alpha (libwebp
/// compresses the alpha plane losslessly beside the lossy colour).
pub(crate) fn webp(frame: &Frame, quality: u8) -> Result<Vec<u8>, EncodeError> {
    let encoder = if frame.alpha {
        webp::Encoder::from_rgba(&frame.rgb, frame.width, frame.height)
    } else {
        webp::Encoder::from_rgb(&frame.rgb, frame.width, frame.height)
    };
    let encoded = encoder
        .encode_simple(false, f32::from(quality))
        .map_err(EncodeError::WebP)?;
    Ok(encoded.to_vec())
}
