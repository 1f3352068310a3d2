//! The quality figure of `scripts/bench-pipeline`: `quality <input.png> <rendition>...`.
//!
//! For each rendition (any size; JPEG, PNG or WebP), the reference is the same cover-resize and
//! centre crop of the input computed in f32 with Lanczos3 and never rounded: one reference for
//! every side. Both are compared in 8-bit sRGB values (what resizers and encoders work in):
//! PSNR over R, G and B, and SSIM (8x8 windows, step 4, the usual constants) on luma (BT.601).
//!
//! `aligned` repeats the comparison against references whose crop is shifted by up to half a
//! source pixel (steps of a quarter) and keeps the best: a resizer with another pixel-centre
//! convention (libvips upsizes with a half-pixel offset) is then judged on its sharpness and
//! encoding rather than on where it put the image. Prints one JSON object keyed by file name.

use std::process::ExitCode;

use fast_image_resize::images::Image;
use fast_image_resize::{CropBox, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// f32 RGB, interleaved, row-major.
struct Rgb32 {
    width: u32,
    height: u32,
    px: Vec<f32>,
}

/// Edge pixels repeated around the input, so that shifted crops stay inside it.
const PAD: u32 = 4;
const SHIFTS: [f64; 5] = [-0.5, -0.25, 0.0, 0.25, 0.5];

/// The input as f32 RGB with `pad` edge pixels repeated on every side.
fn padded_f32(input: &image::RgbImage, pad: u32) -> Image<'static> {
    let (w, h) = (input.width(), input.height());
    let mut out = Image::new(w + 2 * pad, h + 2 * pad, PixelType::F32x3);
    let out_width = (w + 2 * pad) as usize;
    let buffer = out.buffer_mut();
    for y in 0..h + 2 * pad {
        for x in 0..w + 2 * pad {
            let sx = x.saturating_sub(pad).min(w - 1);
            let sy = y.saturating_sub(pad).min(h - 1);
            let px = input.get_pixel(sx, sy).0;
            let at = (y as usize * out_width + x as usize) * 12;
            for (c, v) in px.iter().enumerate() {
                buffer[at + c * 4..at + c * 4 + 4].copy_from_slice(&f32::from(*v).to_ne_bytes());
            }
        }
    }
    out
}

/// The Lanczos3 resize of `crop` of `src` to `width` x `height`, in f32.
fn reference(src: &Image<'_>, crop: CropBox, width: u32, height: u32) -> Result<Rgb32, String> {
    let mut dst = Image::new(width, height, PixelType::F32x3);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.left, crop.top, crop.width, crop.height);
    Resizer::new()
        .resize(src, &mut dst, &options)
        .map_err(|e| format!("reference resize: {e}"))?;
    let px = dst
        .buffer()
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Rgb32 { width, height, px })
}

fn psnr(reference: &Rgb32, test: &[u8]) -> f64 {
    let sum: f64 = reference
        .px
        .iter()
        .zip(test)
        .map(|(&r, &t)| (f64::from(r) - f64::from(t)).powi(2))
        .sum();
    let mse = sum / reference.px.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn luma(rgb: impl Iterator<Item = f64>) -> Vec<f64> {
    let rgb: Vec<f64> = rgb.collect();
    rgb.chunks_exact(3)
        .map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])
        .collect()
}

fn ssim(reference: &Rgb32, test: &[u8]) -> f64 {
    let (w, h) = (reference.width as usize, reference.height as usize);
    let x = luma(reference.px.iter().map(|&v| f64::from(v)));
    let y = luma(test.iter().map(|&v| f64::from(v)));
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut windows) = (0.0, 0u64);
    for top in (0..h.saturating_sub(7)).step_by(4) {
        for left in (0..w.saturating_sub(7)).step_by(4) {
            let idx = |i: usize| (top + i / 8) * w + left + i % 8;
            let n = 64.0;
            let (mut mx, mut my) = (0.0, 0.0);
            for i in 0..64 {
                mx += x[idx(i)];
                my += y[idx(i)];
            }
            let (mx, my) = (mx / n, my / n);
            let (mut vx, mut vy, mut cov) = (0.0, 0.0, 0.0);
            for i in 0..64 {
                let (dx, dy) = (x[idx(i)] - mx, y[idx(i)] - my);
                vx += dx * dx;
                vy += dy * dy;
                cov += dx * dy;
            }
            let (vx, vy, cov) = (vx / (n - 1.0), vy / (n - 1.0), cov / (n - 1.0));
            total += ((2.0 * mx * my + c1) * (2.0 * cov + c2))
                / ((mx * mx + my * my + c1) * (vx + vy + c2));
            windows += 1;
        }
    }
    total / windows as f64
}

fn compare(input: &image::RgbImage, test: &image::RgbImage) -> Result<serde_json::Value, String> {
    let (width, height) = test.dimensions();
    let centred = CropBox::fit_src_into_dst_size(
        input.width(),
        input.height(),
        width,
        height,
        Some((0.5, 0.5)),
    );
    let exact = reference(&padded_f32(input, 0), centred, width, height)?;

    let padded = padded_f32(input, PAD);
    let mut best: Option<(f64, Rgb32, (f64, f64))> = None;
    for dx in SHIFTS {
        for dy in SHIFTS {
            let crop = CropBox {
                left: centred.left + f64::from(PAD) + dx,
                top: centred.top + f64::from(PAD) + dy,
                ..centred
            };
            let shifted = reference(&padded, crop, width, height)?;
            let score = psnr(&shifted, test.as_raw());
            if best.as_ref().is_none_or(|(b, ..)| score > *b) {
                best = Some((score, shifted, (dx, dy)));
            }
        }
    }
    let (aligned_psnr, aligned, shift) = best.ok_or("no shifts")?;
    Ok(serde_json::json!({
        "width": width,
        "height": height,
        "psnr_db": psnr(&exact, test.as_raw()),
        "ssim_y": ssim(&exact, test.as_raw()),
        "aligned": {
            "psnr_db": aligned_psnr,
            "ssim_y": ssim(&aligned, test.as_raw()),
            "shift_px": [shift.0, shift.1],
        },
    }))
}

fn run(args: &[String]) -> Result<serde_json::Value, String> {
    let [input, renditions @ ..] = args else {
        return Err("usage: quality <input.png> <rendition>...".into());
    };
    let input = image::open(input)
        .map_err(|e| format!("{input}: {e}"))?
        .into_rgb8();
    let mut report = serde_json::Map::new();
    for path in renditions {
        let test = image::open(path)
            .map_err(|e| format!("{path}: {e}"))?
            .into_rgb8();
        let name = std::path::Path::new(path)
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        report.insert(name, compare(&input, &test)?);
    }
    Ok(report.into())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("quality: {e}");
            ExitCode::FAILURE
        }
    }
}
