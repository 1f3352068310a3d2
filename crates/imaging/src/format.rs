//! The formats a source may come in and the formats renditions are encoded to.

use std::fmt;
use std::str::FromStr;

/// The format of the stored renditions (the preset-sized variant and the thumbnail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Baseline JPEG, 4:2:0 chroma, `jpeg-encoder`.
    Jpeg,
    /// 8-bit RGB PNG, fast compression, `image`'s encoder.
    Png,
    /// Lossy WebP, libwebp's default method (through the `webp` crate).
    WebP,
}

impl OutputFormat {
    /// The file extension, as stored in S3 keys (`preset.jpeg`).
    pub fn ext(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::WebP => "webp",
        }
    }

    /// The `Content-Type` of an encoded rendition.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ext())
    }
}

/// A configured output format that is not `jpeg`, `png` or `webp`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {0:?}: expected jpeg, png or webp")]
pub struct ParseOutputFormatError(pub String);

impl FromStr for OutputFormat {
    type Err = ParseOutputFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jpeg" => Ok(Self::Jpeg),
            "png" => Ok(Self::Png),
            "webp" => Ok(Self::WebP),
            other => Err(ParseOutputFormatError(other.to_owned())),
        }
    }
}

/// The format of a provider's image, sniffed from its bytes (never from a header or a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Png,
    Jpeg,
    WebP,
}

impl SourceFormat {
    /// Sniffs the magic bytes. `Err` carries what was recognised instead, if anything
    /// (e.g. `Some("gif")`), for the error message.
    pub(crate) fn sniff(bytes: &[u8]) -> Result<Self, Option<&'static str>> {
        match image::guess_format(bytes) {
            Ok(image::ImageFormat::Png) => Ok(Self::Png),
            Ok(image::ImageFormat::Jpeg) => Ok(Self::Jpeg),
            Ok(image::ImageFormat::WebP) => Ok(Self::WebP),
            Ok(other) => Err(other.extensions_str().first().copied()),
            Err(_) => Err(None),
        }
    }

    pub(crate) fn image_format(self) -> image::ImageFormat {
        match self {
            Self::Png => image::ImageFormat::Png,
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::WebP => image::ImageFormat::WebP,
        }
    }

    /// The file extension of the stored original (`original.png`).
    pub fn ext(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::WebP => "webp",
        }
    }

    /// The `Content-Type` of the stored original.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::WebP => "image/webp",
        }
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ext())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_formats_parse_from_their_extension_and_nothing_else() {
        for format in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::WebP] {
            assert_eq!(format.ext().parse::<OutputFormat>(), Ok(format));
        }
        assert_eq!(
            "jpg".parse::<OutputFormat>(),
            Err(ParseOutputFormatError("jpg".into()))
        );
        assert_eq!(OutputFormat::WebP.content_type(), "image/webp");
    }

    #[test]
    fn sources_are_sniffed_from_their_magic_bytes() {
        assert_eq!(
            SourceFormat::sniff(b"\x89PNG\r\n\x1a\n0000"),
            Ok(SourceFormat::Png)
        );
        assert_eq!(
            SourceFormat::sniff(b"\xff\xd8\xff\xe0"),
            Ok(SourceFormat::Jpeg)
        );
        assert_eq!(
            SourceFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Ok(SourceFormat::WebP)
        );
        assert_eq!(SourceFormat::sniff(b"GIF89a......"), Err(Some("gif")));
        assert_eq!(SourceFormat::sniff(b"<html>"), Err(None));
    }
}
