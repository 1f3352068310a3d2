//! The formats a source may come in and renditions are encoded to: the domain's
//! [`ImageFormat`], one spelling everywhere. A source's format is sniffed from its bytes, never
//! taken from a header or a name.

pub use artforge_domain::ImageFormat;

/// Sniffs the magic bytes. `Err` carries what was recognised instead, if anything (e.g.
/// `Some("gif")`), for the error message.
pub(crate) fn sniff(bytes: &[u8]) -> Result<ImageFormat, Option<&'static str>> {
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Png) => Ok(ImageFormat::Png),
        Ok(image::ImageFormat::Jpeg) => Ok(ImageFormat::Jpeg),
        Ok(image::ImageFormat::WebP) => Ok(ImageFormat::Webp),
        Ok(other) => Err(other.extensions_str().first().copied()),
        Err(_) => Err(None),
    }
}

/// The `image` crate's name of a format, for its decoders.
pub(crate) fn codec(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Webp => image::ImageFormat::WebP,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_sniffed_from_their_magic_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n0000"), Ok(ImageFormat::Png));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Ok(ImageFormat::Jpeg));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(ImageFormat::Webp));
        assert_eq!(sniff(b"GIF89a......"), Err(Some("gif")));
        assert_eq!(sniff(b"<html>"), Err(None));
    }
}
