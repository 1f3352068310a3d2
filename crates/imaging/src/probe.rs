//! What a file is, read from its first bytes without decoding its pixels: its format (sniffed
//! from the magic bytes) and its size in pixels (from the header). Checks of uploads use it
//! before anything is charged (DESIGN §10).

use std::io::Cursor;

pub use artforge_domain::edit::Probe;

use crate::format::{codec, sniff};

/// The most bytes [`probe`] may need: headers of PNG and WebP are at the start; a JPEG's size
/// comes after its metadata segments, which are rarely longer than this.
pub const PROBE_BYTES: u64 = 512 * 1024;

/// The format and pixel size of the image whose first bytes (or all of them) are `head`;
/// `None` when it is not a PNG, JPEG or WebP whose header can be read from them.
pub fn probe(head: &[u8]) -> Option<Probe> {
    let format = sniff(head).ok()?;
    let reader = image::ImageReader::with_format(Cursor::new(head), codec(format));
    let (width, height) = reader.into_dimensions().ok()?;
    Some(Probe {
        format,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use artforge_domain::ImageFormat;

    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        image::RgbaImage::new(width, height)
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encodes");
        bytes
    }

    #[test]
    fn a_probe_reads_the_format_and_size_from_the_header_alone() {
        let bytes = png(300, 200);
        assert_eq!(
            probe(&bytes[..64]),
            Some(Probe {
                format: ImageFormat::Png,
                width: 300,
                height: 200
            })
        );
    }

    #[test]
    fn text_or_a_gif_is_no_image_of_ours() {
        assert_eq!(probe(b"<html><body>hello</body></html>"), None);
        assert_eq!(probe(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"), None);
        assert_eq!(probe(b"\x89PNG\r\n\x1a\ntruncated"), None);
    }
}
