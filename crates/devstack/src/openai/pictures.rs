//! The deterministic pictures: a stable hash of the prompt and the image's index seeds the draws
//! of a gradient and shapes, encoded in the requested format.

use std::io::Cursor;

use super::request::Format;

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64: a small, stable stream of numbers from a seed.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u32) -> u32 {
        u32::try_from(self.next() % u64::from(bound.max(1))).unwrap_or(0)
    }

    fn colour(&mut self) -> [u8; 3] {
        let [r, g, b, ..] = self.next().to_le_bytes();
        [r, g, b]
    }
}

/// The picture for `prompt`'s image `index`: a diagonal gradient between two colours and a few
/// discs and bars, all chosen by the hash of the prompt and the index.
pub(super) fn draw(prompt: &str, index: usize, width: u32, height: u32) -> image::RgbImage {
    let mut draws = Draws(fnv1a(prompt.as_bytes()) ^ (index as u64).wrapping_mul(0x9e37_79b9));
    let (from, to) = (draws.colour(), draws.colour());
    let span = u64::from(width) + u64::from(height);
    let mut picture = image::RgbImage::from_fn(width, height, |x, y| {
        let t = (u64::from(x) + u64::from(y)) * 255 / span.max(1);
        let mix = |a: u8, b: u8| {
            let v = (u64::from(a) * (255 - t) + u64::from(b) * t) / 255;
            u8::try_from(v).unwrap_or(u8::MAX)
        };
        image::Rgb([
            mix(from[0], to[0]),
            mix(from[1], to[1]),
            mix(from[2], to[2]),
        ])
    });
    let shapes = 3 + draws.below(4);
    for _ in 0..shapes {
        let colour = image::Rgb(draws.colour());
        let (cx, cy) = (draws.below(width), draws.below(height));
        let size = 1 + draws.below(width.min(height) / 4);
        let (x0, x1) = (cx.saturating_sub(size), (cx + size).min(width));
        let (y0, y1) = (cy.saturating_sub(size), (cy + size).min(height));
        let disc = draws.below(2) == 0;
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (i64::from(x) - i64::from(cx), i64::from(y) - i64::from(cy));
                let inside = !disc || dx * dx + dy * dy <= i64::from(size) * i64::from(size);
                if inside {
                    picture.put_pixel(x, y, colour);
                }
            }
        }
    }
    picture
}

/// [`draw`]'s shapes on a fully transparent ground: what `background: "transparent"` answers.
pub(super) fn draw_cutout(prompt: &str, index: usize, width: u32, height: u32) -> image::RgbaImage {
    let ground = draw(prompt, index, width, height);
    let plain = draw_ground(prompt, index, width, height);
    image::RgbaImage::from_fn(width, height, |x, y| {
        let [r, g, b] = ground.get_pixel(x, y).0;
        let alpha = if ground.get_pixel(x, y) == plain.get_pixel(x, y) {
            0
        } else {
            255
        };
        image::Rgba([r, g, b, alpha])
    })
}

/// The gradient alone, without the shapes.
fn draw_ground(prompt: &str, index: usize, width: u32, height: u32) -> image::RgbImage {
    let mut draws = Draws(fnv1a(prompt.as_bytes()) ^ (index as u64).wrapping_mul(0x9e37_79b9));
    let (from, to) = (draws.colour(), draws.colour());
    let span = u64::from(width) + u64::from(height);
    image::RgbImage::from_fn(width, height, |x, y| {
        let t = (u64::from(x) + u64::from(y)) * 255 / span.max(1);
        let mix = |a: u8, b: u8| {
            let v = (u64::from(a) * (255 - t) + u64::from(b) * t) / 255;
            u8::try_from(v).unwrap_or(u8::MAX)
        };
        image::Rgb([
            mix(from[0], to[0]),
            mix(from[1], to[1]),
            mix(from[2], to[2]),
        ])
    })
}

/// An RGBA picture in `format` (PNG or WebP: the ones with alpha).
pub(super) fn encode_rgba(
    picture: &image::RgbaImage,
    format: Format,
) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Cursor::new(Vec::new());
    picture.write_to(&mut bytes, format.image_format())?;
    Ok(bytes.into_inner())
}

pub(super) fn encode(
    picture: &image::RgbImage,
    format: Format,
) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Cursor::new(Vec::new());
    picture.write_to(&mut bytes, format.image_format())?;
    Ok(bytes.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_deterministic_per_prompt_and_index() {
        let a = draw("a lighthouse", 0, 256, 256);
        assert_eq!(a, draw("a lighthouse", 0, 256, 256));
        assert_ne!(a, draw("a lighthouse", 1, 256, 256));
        assert_ne!(a, draw("a lightship", 0, 256, 256));
        assert_eq!(draw("x", 0, 512, 256).dimensions(), (512, 256));
    }

    #[test]
    fn a_cutout_has_a_transparent_ground_and_opaque_shapes() {
        let cutout = draw_cutout("a fox sticker", 0, 256, 256);
        let alphas: Vec<u8> = cutout.pixels().map(|p| p.0[3]).collect();
        assert!(alphas.contains(&0) && alphas.contains(&255));
        assert!(alphas.iter().all(|a| *a == 0 || *a == 255));
        for format in [Format::Png, Format::Webp] {
            let bytes = encode_rgba(&cutout, format).expect("encodes");
            let back = image::load_from_memory(&bytes).expect("decodes");
            assert!(back.color().has_alpha(), "{format:?}");
        }
    }
}
