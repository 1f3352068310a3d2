//! Writes the benchmark's deterministic photo-like PNG (default 1024x1024, like the provider's
//! square images): `cargo run --example make_input -- <out.png> [width] [height]`.

#[path = "support/photo.rs"]
mod photo;

use std::process::ExitCode;

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: make_input <out.png> [width] [height]");
        return ExitCode::FAILURE;
    };
    let side = |i: usize| args.get(i).map_or(Ok(1024), |s| s.parse::<u32>());
    let (Ok(width), Ok(height)) = (side(1), side(2)) else {
        eprintln!("width and height must be whole numbers");
        return ExitCode::FAILURE;
    };
    // Default zlib level and adaptive filters, as libpng writes by default: a typical provider
    // PNG, not one tuned to be cheap to decode.
    let image = photo::photo_like(width, height);
    let written = std::fs::File::create(out)
        .map_err(image::ImageError::IoError)
        .and_then(|file| {
            PngEncoder::new_with_quality(
                std::io::BufWriter::new(file),
                CompressionType::Default,
                FilterType::Adaptive,
            )
            .write_image(
                image.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
        });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("writing {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
