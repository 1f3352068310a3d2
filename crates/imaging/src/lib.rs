//! Artforge's image pipeline: turns the bytes an image provider returned into the stored
//! renditions (DESIGN §3, step 2).
//!
//! [`Pipeline::process`] sniffs the source (PNG, JPEG or WebP), decodes it under a pixel limit,
//! cover-resizes and centre-crops it to the preset's exact pixels in one resize, makes a
//! thumbnail with the preset's aspect, and encodes both. The original bytes are stored as
//! given, so nothing here re-encodes them.
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
    /// JPEG at quality 85, 384-pixel thumbnails, sources up to 64 megapixels.
    fn default() -> Self {
        Self {
            format: ImageFormat::Jpeg,
            quality: 85,
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
}

/// Decoded, unencoded pixels: 8-bit RGB, row-major, no padding, alpha already flattened
/// onto white.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Frame {
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// `width * height * 3` bytes, R, G, B per pixel.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
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
    /// and its thumbnail, both encoded in the configured format.
    pub fn process(&self, source: &[u8], target: (u32, u32)) -> Result<Processed, PipelineError> {
        let decoded = self.decode(source)?;
        let preset = self.cover(&decoded, target)?;
        let thumbnail = self.thumbnail(&decoded, &preset)?;
        Ok(Processed {
            source_format: decoded.format,
            source_width: decoded.frame.width,
            source_height: decoded.frame.height,
            preset: self.encode(&preset)?,
            thumbnail: self.encode(&thumbnail)?,
            format: self.config.format,
        })
    }

    /// Sniffs and decodes a source to RGB8. The header is checked against
    /// `max_source_pixels` before any pixel is decoded.
    pub fn decode(&self, source: &[u8]) -> Result<Decoded, PipelineError> {
        decode::decode(source, self.config.max_source_pixels)
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
        let bytes = match self.config.format {
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
