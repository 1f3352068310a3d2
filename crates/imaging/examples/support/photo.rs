//! A deterministic, photo-like test image: smooth gradients (sky, a soft sun), mid-frequency
//! texture (ripples), fine detail (grass) and sensor-like noise, so PNG decoding, resizing and
//! JPEG all have real work to do. Shared by the examples and the criterion bench.

use image::{Rgb, RgbImage};

/// SplitMix64 of the pixel index: noise that depends only on the position.
fn noise(index: u64) -> f32 {
    let mut z = index.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // Sum of two uniforms in [-1, 1): a triangular distribution, amplitude about 6 levels.
    let a = (z & 0xFFFF) as f32 / 32768.0 - 1.0;
    let b = ((z >> 16) & 0xFFFF) as f32 / 32768.0 - 1.0;
    (a + b) * 3.0
}

pub fn photo_like(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        // Sky above a horizon at 60%, ground below.
        let (mut r, mut g, mut b) = if v < 0.6 {
            (70.0 + 120.0 * v, 120.0 + 90.0 * v, 230.0 - 60.0 * v)
        } else {
            (90.0 - 40.0 * (v - 0.6), 110.0 + 30.0 * (v - 0.6), 40.0)
        };
        // A soft sun.
        let d = ((u - 0.72).powi(2) + (v - 0.25).powi(2)).sqrt();
        let sun = (1.0 - d / 0.18).clamp(0.0, 1.0).powi(2) * 140.0;
        r += sun;
        g += sun * 0.85;
        b += sun * 0.3;
        // Water-like ripples in the middle band, growing towards the viewer.
        if (0.45..0.6).contains(&v) {
            let ripple = (u * 90.0 + (v * 60.0).sin() * 4.0).sin() * (v * 140.0).cos();
            r += ripple * 14.0;
            g += ripple * 14.0;
            b += ripple * 20.0;
        }
        // Grass: fine, high-contrast blades.
        if v >= 0.6 {
            let blade = ((x.wrapping_mul(7) ^ y.wrapping_mul(13)) % 23) as f32 - 11.0;
            let stripes = (u * 400.0 + v * 37.0).sin() * 12.0;
            r += blade * 1.5 + stripes * 0.5;
            g += blade * 3.0 + stripes;
        }
        let n = noise(u64::from(y) * u64::from(width) + u64::from(x));
        let px = |c: f32| (c + n).round().clamp(0.0, 255.0) as u8;
        Rgb([px(r), px(g), px(b)])
    })
}
