//! Artforge's image pipeline: turns the bytes an image provider returned into the stored
//! renditions (DESIGN §3, step 2).
//!
//! [`Pipeline::process`] sniffs the source (PNG, JPEG or WebP), decodes it under a pixel limit,
//! cover-resizes and centre-crops it to the preset's exact pixels in one resize, makes a
//! thumbnail with the preset's aspect, and encodes both. The original bytes are stored as
//! given, so nothing here re-encodes them. [`Pipeline::process_with`] picks the format per job
//! and can keep the source's transparency (PNG, WebP).
//!
//! The steps are public too ([`Pipeline::decode`], [`Pipeline::cover`],
//! [`Pipeline::thumbnail`], [`Pipeline::encode`]) so that one decode can feed several presets.
//!
//! Work is CPU-bound and synchronous: call it from `tokio::task::spawn_blocking`.

mod decode;
mod encode;
mod error;
mod format;
mod probe;
mod resize;

pub use error::{EncodeError, PipelineError, ResizeFailure};
pub use format::ImageFormat;
pub use probe::{PROBE_BYTES, probe};

/// How renditions are made. Fields are plain data; [`Pipeline::new`] brings them into range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The format of the preset variant and the thumbnail.
    pub format: ImageFormat,
    /// Lossy quality, 1..=100 (ignored for PNG); out-of-range values are clamped.
    pub quality: u8,
    /// The thumbnail's longest side in pixels (at least 1).
    pub thumbnail_longest: u32,
    /// The most pixels a source may have, checked against the header before anything is
    /// decoded (decompression bombs). Rendition sizes are held to the same limit.
    pub max_source_pixels: u64,
}

impl Default for PipelineConfig {
    /// JPEG at quality 83 (with the standard Huffman tables, the size of libjpeg-turbo's q85 with
    /// optimised ones: ADR 0105), 384-pixel thumbnails, sources up to 64 megapixels.
    fn default() -> Self {
        Self {
            format: ImageFormat::Jpeg,
            quality: 83,
            thumbnail_longest: 384,
            max_source_pixels: 64 * 1024 * 1024,
        }
    }
}

/// An encoded image and its size in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// How one job's renditions are made (the config holds quality and thumbnail size).
///
/// `keep_alpha` keeps a source's transparency in the preset and the thumbnail; it needs a
/// format with alpha (PNG, WebP). Without it, transparency is flattened onto white.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub format: ImageFormat,
    pub keep_alpha: bool,
}

/// Everything [`Pipeline::process`] made from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub source_format: ImageFormat,
    pub source_width: u32,
    pub source_height: u32,
    /// Exactly the requested target size.
    pub preset: Rendition,
    /// `thumbnail_longest` on its longest side, with the preset's aspect.
    pub thumbnail: Rendition,
    /// The format of `preset` and `thumbnail`.
    pub format: ImageFormat,
    /// True when the renditions carry an alpha channel: only with [`Output::keep_alpha`] and a
    /// source with at least one pixel that is not fully opaque.
    pub has_alpha: bool,
}

/// Decoded, unencoded pixels: 8-bit RGB, row-major, no padding, alpha already flattened
/// onto white; or 8-bit RGBA (straight, not premultiplied) when decoded to keep alpha
/// ([`Pipeline::decode_with`]) from a source with transparency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    alpha: bool,
}

impl Frame {
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels: `width * height * 3` bytes, R, G, B per pixel; or `width * height * 4`,
    /// R, G, B, A, when [`Frame::has_alpha`].
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// True when the pixels are RGBA.
    pub fn has_alpha(&self) -> bool {
        self.alpha
    }
}

/// A decoded source: its sniffed format and its pixels (EXIF orientation applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    format: ImageFormat,
    frame: Frame,
}

impl Decoded {
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    pub fn frame(&self) -> &Frame {
        &self.frame
    }
}

/// Makes renditions. Cheap to build, `Send + Sync`, and holds no buffers between calls, so one
/// instance can serve the images of a job concurrently.
#[derive(Debug, Clone)]
pub struct Pipeline {
    config: PipelineConfig,
}

impl Pipeline {
    /// Clamps `quality` to 1..=100 and `thumbnail_longest` to at least 1.
    pub fn new(config: PipelineConfig) -> Self {
        let config = PipelineConfig {
            quality: config.quality.clamp(1, 100),
            thumbnail_longest: config.thumbnail_longest.max(1),
            ..config
        };
        Self { config }
    }

    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Decodes `source` once and makes the preset variant at exactly `target` (width, height)
    /// and its thumbnail, both encoded in the configured format, transparency flattened onto
    /// white: `process_with` with the configured format and `keep_alpha: false`.
    pub fn process(&self, source: &[u8], target: (u32, u32)) -> Result<Processed, PipelineError> {
        self.process_with(
            source,
            target,
            Output {
                format: self.config.format,
                keep_alpha: false,
            },
        )
    }

    /// [`Pipeline::process`] in `output.format`, keeping the source's transparency when
    /// `output.keep_alpha` (RGBA renditions, resized with premultiplied alpha). A source without
    /// transparency (no alpha channel, or every pixel opaque) gives opaque renditions
    /// (`has_alpha: false`). `keep_alpha` with JPEG is [`PipelineError::AlphaNeedsPngOrWebp`],
    /// before anything is decoded.
    pub fn process_with(
        &self,
        source: &[u8],
        target: (u32, u32),
        output: Output,
    ) -> Result<Processed, PipelineError> {
        if output.keep_alpha && output.format == ImageFormat::Jpeg {
            return Err(PipelineError::AlphaNeedsPngOrWebp);
        }
        let decoded = self.decode_with(source, output.keep_alpha)?;
        let preset = self.cover(&decoded, target)?;
        let thumbnail = self.thumbnail(&decoded, &preset)?;
        let (source_format, source_width, source_height) =
            (decoded.format, decoded.frame.width, decoded.frame.height);
        // The source's pixels are not needed for encoding: freed first, they lower the peak.
        drop(decoded);
        Ok(Processed {
            source_format,
            source_width,
            source_height,
            preset: self.encode_as(&preset, output.format)?,
            thumbnail: self.encode_as(&thumbnail, output.format)?,
            format: output.format,
            has_alpha: preset.alpha,
        })
    }

    /// Sniffs and decodes a source to RGB8. The header is checked against
    /// `max_source_pixels` before any pixel is decoded.
    pub fn decode(&self, source: &[u8]) -> Result<Decoded, PipelineError> {
        self.decode_with(source, false)
    }

    /// [`Pipeline::decode`], but with `keep_alpha` a source with transparency decodes to RGBA8
    /// (a source whose every pixel is opaque still decodes to RGB8).
    pub fn decode_with(&self, source: &[u8], keep_alpha: bool) -> Result<Decoded, PipelineError> {
        decode::decode(source, self.config.max_source_pixels, keep_alpha)
    }

    /// Cover-resizes the source and crops the centre: the result is exactly `target`
    /// (width, height) pixels, scaled uniformly, with the overflow cut equally from both sides.
    pub fn cover(&self, decoded: &Decoded, target: (u32, u32)) -> Result<Frame, PipelineError> {
        self.check_size(target)?;
        resize::cover(&decoded.frame, target)
    }

    /// The thumbnail of a preset made by [`Pipeline::cover`] from `decoded`: the preset's
    /// aspect, `thumbnail_longest` on the longest side, rounded to whole pixels.
    pub fn thumbnail(&self, decoded: &Decoded, preset: &Frame) -> Result<Frame, PipelineError> {
        let size =
            resize::thumbnail_size((preset.width, preset.height), self.config.thumbnail_longest);
        self.check_size(size)?;
        resize::thumbnail(&decoded.frame, preset, size)
    }

    /// Encodes a frame in the configured format and quality.
    pub fn encode(&self, frame: &Frame) -> Result<Rendition, PipelineError> {
        self.encode_as(frame, self.config.format)
    }

    /// Encodes a frame in `format` at the configured quality; an RGBA frame keeps its alpha
    /// (PNG: RGBA8; WebP: lossy colour, lossless alpha), and in JPEG is
    /// [`PipelineError::AlphaNeedsPngOrWebp`].
    pub fn encode_as(
        &self,
        frame: &Frame,
        format: ImageFormat,
    ) -> Result<Rendition, PipelineError> {
        if frame.alpha && format == ImageFormat::Jpeg {
            return Err(PipelineError::AlphaNeedsPngOrWebp);
        }
        let bytes = match format {
            ImageFormat::Jpeg => encode::jpeg(frame, self.config.quality),
            ImageFormat::Png => encode::png(frame),
            ImageFormat::Webp => encode::webp(frame, self.config.quality),
        }
        .map_err(PipelineError::Encode)?;
        Ok(Rendition {
            bytes,
            width: frame.width,
            height: frame.height,
        })
    }

    fn check_size(&self, (width, height): (u32, u32)) -> Result<(), PipelineError> {
        let max_pixels = self.config.max_source_pixels;
        if width == 0 || height == 0 || u64::from(width) * u64::from(height) > max_pixels {
            return Err(PipelineError::InvalidTarget {
                width,
                height,
                max_pixels,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pipeline_can_serve_the_images_of_a_job_concurrently() {
        fn shared<T: Send + Sync>() {}
        shared::<Pipeline>();
        shared::<Processed>();
        shared::<PipelineError>();
    }

    #[test]
    fn out_of_range_settings_are_brought_into_range() {
        let pipeline = Pipeline::new(PipelineConfig {
            quality: 0,
            thumbnail_longest: 0,
            ..PipelineConfig::default()
        });
        assert_eq!(
            (
                pipeline.config().quality,
                pipeline.config().thumbnail_longest
            ),
            (1, 1)
        );
        let pipeline = Pipeline::new(PipelineConfig {
            quality: 250,
            ..PipelineConfig::default()
        });
        assert_eq!(pipeline.config().quality, 100);
    }
}
