//! What can go wrong between the provider's bytes and the renditions.

/// Why [`Pipeline`](crate::Pipeline) could not make the renditions.
///
/// `Unsupported`, `Undecodable` and `TooLarge` are the source's fault (the provider sent
/// something unusable); `InvalidTarget` and `AlphaNeedsPngOrWebp` the caller's; `Resize` and
/// `Encode` are ours.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The bytes are not a PNG, JPEG or WebP image (`detected` names what they are, if known).
    #[error("the source is not a PNG, JPEG or WebP image (detected: {})", detected.unwrap_or("unknown"))]
    Unsupported { detected: Option<&'static str> },

    /// The bytes claim a supported format but do not decode (truncated, corrupt, or over
    /// the decoder's memory limit).
    #[error("the source could not be decoded")]
    Undecodable(#[source] image::ImageError),

    /// The header claims more pixels than `max_source_pixels`; nothing was decoded.
    #[error("the source is {width}x{height}, over the limit of {max_pixels} pixels")]
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },

    /// A zero-sized target or thumbnail, or one over `max_source_pixels`.
    #[error(
        "cannot render {width}x{height}: sides must be non-zero and the area at most {max_pixels} pixels"
    )]
    InvalidTarget {
        width: u32,
        height: u32,
        max_pixels: u64,
    },

    /// Transparency was asked for in JPEG, which has no alpha channel.
    #[error("keeping transparency needs PNG or WebP; JPEG has no alpha channel")]
    AlphaNeedsPngOrWebp,

    /// Resizing failed. Sizes are checked first, so this is a bug here, not bad data.
    #[error("resizing failed")]
    Resize(#[source] ResizeFailure),

    /// Encoding a rendition failed.
    #[error("encoding a rendition failed")]
    Encode(#[source] EncodeError),
}

/// The cause of [`PipelineError::Resize`].
#[derive(Debug, thiserror::Error)]
pub enum ResizeFailure {
    #[error("the pixel buffer does not match its size")]
    Buffer(#[source] fast_image_resize::ImageBufferError),
    #[error("the resizer refused the images")]
    Resize(#[source] fast_image_resize::ResizeError),
}

/// The cause of [`PipelineError::Encode`], per encoder.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("JPEG encoding failed")]
    Jpeg(#[source] jpeg_encoder::EncodingError),
    /// JPEG stores sides as 16-bit numbers.
    #[error("{width}x{height} is too large for JPEG (at most 65535 per side)")]
    TooLargeForJpeg { width: u32, height: u32 },
    #[error("PNG encoding failed")]
    Png(#[source] image::ImageError),
    /// libwebp's own error code (it is a C enum, not a Rust error, hence no source).
    #[error("WebP encoding failed: libwebp says {0:?}")]
    WebP(webp::WebPEncodingError),
}
