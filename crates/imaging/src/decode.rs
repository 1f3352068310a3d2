//! Sniff, check the header against the pixel limit, decode, flatten to RGB8.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::{
    Decoded, Frame, PipelineError,
    format::{codec, sniff},
};

/// Bytes per pixel of the widest layout a decoder may produce (RGBA, 16 bits per channel),
/// so the decoders' own allocation limit never trips before the pixel limit does.
const WIDEST_PIXEL: u64 = 8;
/// Headroom for decoders' working buffers on top of the output.
const DECODER_SLACK: u64 = 64 * 1024 * 1024;

pub(crate) fn decode(
    source: &[u8],
    max_pixels: u64,
    keep_alpha: bool,
) -> Result<Decoded, PipelineError> {
    let format = sniff(source).map_err(|detected| PipelineError::Unsupported { detected })?;

    let mut reader = ImageReader::with_format(Cursor::new(source), codec(format));
    let mut limits = Limits::default();
    limits.max_alloc = Some(
        max_pixels
            .saturating_mul(WIDEST_PIXEL)
            .saturating_add(DECODER_SLACK),
    );
    reader.limits(limits);

    // Reads the header only: the size is known before any pixel is decoded.
    let mut decoder = reader.into_decoder().map_err(PipelineError::Undecodable)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(PipelineError::TooLarge {
            width,
            height,
            max_pixels,
        });
    }
    let orientation = decoder.orientation().map_err(PipelineError::Undecodable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(PipelineError::Undecodable)?;
    image.apply_orientation(orientation);

    let (width, height) = (image.width(), image.height());
    let (rgb, alpha) = match image {
        DynamicImage::ImageRgb8(rgb) => (rgb.into_raw(), false),
        other if other.color().has_alpha() => {
            let rgba = match other {
                DynamicImage::ImageRgba8(rgba) => rgba.into_raw(),
                other => other.to_rgba8().into_raw(),
            };
            if !keep_alpha {
                (flatten_onto_white(&rgba), false)
            } else if all_opaque(&rgba) {
                (drop_alpha(&rgba), false)
            } else {
                (rgba, true)
            }
        }
        other => (other.to_rgb8().into_raw(), false),
    };
    Ok(Decoded {
        format,
        frame: Frame {
            width,
            height,
            rgb,
            alpha,
        },
    })
}

/// True when every pixel's alpha is 255: such a source has nothing to keep, and RGB renditions
/// are smaller and cheaper.
fn all_opaque(rgba: &[u8]) -> bool {
    rgba.chunks_exact(4).all(|px| px[3] == u8::MAX)
}

fn drop_alpha(rgba: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        rgb.extend_from_slice(&px[..3]);
    }
    rgb
}

/// Composites RGBA8 onto an opaque white background: `c * a + 255 * (1 - a)`, rounded, in
/// integers (one pass; the renditions are JPEG-compatible RGB, and white is what a
/// transparent PNG looks like on the site's cards).
pub(crate) fn flatten_onto_white(rgba: &[u8]) -> Vec<u8> {
    let mut rgb = vec![0; rgba.len() / 4 * 3];
    for (out, px) in rgb.chunks_exact_mut(3).zip(rgba.chunks_exact(4)) {
        match *px {
            // Most pixels of a cut-out are fully opaque or fully transparent: no arithmetic.
            [r, g, b, u8::MAX] => out.copy_from_slice(&[r, g, b]),
            [_, _, _, 0] => out.fill(u8::MAX),
            [r, g, b, a] => {
                let a = u16::from(a);
                let white = 255 * (255 - a) + 127;
                for (o, c) in out.iter_mut().zip([r, g, b]) {
                    // At most (255 * 255 + 127) / 255 = 255: the cast cannot truncate.
                    *o = ((u16::from(c) * a + white) / 255) as u8;
                }
            }
            _ => {}
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattening_matches_the_formula_for_every_alpha() {
        for a in 0..=u8::MAX {
            for c in [0u8, 1, 77, 128, 254, 255] {
                let expected =
                    ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a)) + 127) / 255) as u8;
                assert_eq!(
                    flatten_onto_white(&[c, c, c, a]),
                    [expected; 3],
                    "c {c} a {a}"
                );
            }
        }
    }

    #[test]
    fn flattening_keeps_opaque_pixels_and_whitens_transparent_ones() {
        let rgba = [10, 20, 30, 255, 10, 20, 30, 0, 0, 0, 0, 128, 255, 0, 0, 128];
        assert_eq!(
            flatten_onto_white(&rgba),
            [10, 20, 30, 255, 255, 255, 127, 127, 127, 255, 127, 127]
        );
    }
}
