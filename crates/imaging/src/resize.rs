//! Cover-resize with a centred crop, and thumbnails, in one `fast_image_resize` call each
//! (SIMD: AVX2 on x86-64, NEON on arm64), Catmull-Rom when enlarging and Lanczos3 when reducing.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{CropBox, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::{Frame, PipelineError, ResizeFailure};

/// The kernel when enlarging: Catmull-Rom, the bicubic Sharp (libvips) also enlarges with
/// (its `kernel: 'lanczos3'` applies to reductions only). Lanczos3 is the sharper of the two, but
/// measured on the benchmark image (1024x1024 photo-like PNG to 1080x1080, JPEG q85, against an
/// f32 Lanczos3 reference) it is neither clearly better nor free: SSIM 0.943 vs 0.936 for
/// Catmull-Rom, but PSNR 32.03 vs 32.38 dB (its extra detail costs more in JPEG: 235 vs 222 KB)
/// and 1.96 vs 1.50 ms CPU (1280x720: 1.60 vs 1.10 ms). Catmull-Rom matches Sharp's enlargements
/// on both figures (SSIM 0.936, 32.36 dB once Sharp's half-pixel offset is aligned away).
const ENLARGE: FilterType = FilterType::CatmullRom;

/// The kernel when reducing: Lanczos3, as Sharp. Catmull-Rom is faster here too (a 384
/// thumbnail: 0.50 vs 0.80 ms) but softer than Sharp's (SSIM 0.963 vs 0.964).
const REDUCE: FilterType = FilterType::Lanczos3;

const CENTRE: (f64, f64) = (0.5, 0.5);

/// The centred region of a `source`-sized image that has the aspect of `target`, in whole
/// pixels. `fast_image_resize` 6.1 mis-sizes its intermediate image for some fractional crops
/// it enlarges (402x270 covered to 472x942, 1995x160 to 1023x280): an overflow that panics in
/// debug builds and reads out of bounds in release ones. Whole pixels never reach that path
/// (8,000 random sizes checked), and move the crop's edges by less than a pixel.
fn centred_crop(source: (u32, u32), target: (u32, u32)) -> CropBox {
    let exact =
        CropBox::fit_src_into_dst_size(source.0, source.1, target.0, target.1, Some(CENTRE));
    let (width, height) = (f64::from(source.0), f64::from(source.1));
    let w = exact.width.round().clamp(1.0, width);
    let h = exact.height.round().clamp(1.0, height);
    CropBox {
        left: exact.left.round().clamp(0.0, width - w),
        top: exact.top.round().clamp(0.0, height - h),
        width: w,
        height: h,
    }
}

pub(crate) fn cover(source: &Frame, target: (u32, u32)) -> Result<Frame, PipelineError> {
    let crop = centred_crop((source.width, source.height), target);
    resize(source, crop, target)
}

/// Resizes from whichever of the source's crop and the preset has fewer pixels: the work of a
/// downscale grows with its input (384 from the 1024x1024 source: 0.80 ms; from its 1080x1080
/// preset: 0.93 ms). For provider images (at most 1536 on a side) that is the source, which
/// also resamples once instead of twice; for a large source it is the preset. Both use the
/// preset's crop, so the thumbnail shows exactly what the preset shows.
pub(crate) fn thumbnail(
    source: &Frame,
    preset: &Frame,
    size: (u32, u32),
) -> Result<Frame, PipelineError> {
    let crop = centred_crop((source.width, source.height), (preset.width, preset.height));
    if crop.width * crop.height <= f64::from(preset.width) * f64::from(preset.height) {
        resize(source, crop, size)
    } else {
        let whole = CropBox {
            left: 0.0,
            top: 0.0,
            width: f64::from(preset.width),
            height: f64::from(preset.height),
        };
        resize(preset, whole, size)
    }
}

/// `longest` on the longest side of `preset`, the other side in proportion, rounded half up
/// and at least one pixel.
pub(crate) fn thumbnail_size(preset: (u32, u32), longest: u32) -> (u32, u32) {
    let scaled = |short: u32, long: u32| -> u32 {
        let (short, long, longest) = (u128::from(short), u128::from(long), u128::from(longest));
        let side = (2 * short * longest + long) / (2 * long).max(1);
        u32::try_from(side).unwrap_or(u32::MAX).max(1)
    };
    let (width, height) = preset;
    if width >= height {
        (longest, scaled(height, width))
    } else {
        (scaled(width, height), longest)
    }
}

fn resize(source: &Frame, crop: CropBox, size: (u32, u32)) -> Result<Frame, PipelineError> {
    // RGBA is resized premultiplied (the options' default `mul_div_alpha`), so transparent
    // pixels' colours do not bleed into the edges as dark fringes.
    let pixel_type = if source.alpha {
        PixelType::U8x4
    } else {
        PixelType::U8x3
    };
    let src = ImageRef::new(source.width, source.height, &source.rgb, pixel_type)
        .map_err(|e| PipelineError::Resize(ResizeFailure::Buffer(e)))?;
    let mut dst = Image::new(size.0, size.1, pixel_type);
    let filter = if f64::from(size.0) > crop.width {
        ENLARGE
    } else {
        REDUCE
    };
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(filter))
        .crop(crop.left, crop.top, crop.width, crop.height);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| PipelineError::Resize(ResizeFailure::Resize(e)))?;
    Ok(Frame {
        width: size.0,
        height: size.1,
        rgb: dst.into_vec(),
        alpha: source.alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_are_whole_pixels_inside_the_source_with_the_targets_aspect() {
        for (source, target) in [
            ((402, 270), (472, 942)),
            ((1995, 160), (1023, 280)),
            ((1024, 1536), (1080, 1920)),
            ((1536, 1024), (1280, 720)),
            ((7, 3), (1, 1500)),
        ] {
            let crop = centred_crop(source, target);
            for edge in [crop.left, crop.top, crop.width, crop.height] {
                assert_eq!(edge, edge.round(), "{source:?} -> {target:?}: {crop:?}");
            }
            assert!(crop.left + crop.width <= f64::from(source.0), "{crop:?}");
            assert!(crop.top + crop.height <= f64::from(source.1), "{crop:?}");
            let aspect = |w: f64, h: f64| w / h;
            let want = aspect(f64::from(target.0), f64::from(target.1));
            let got = aspect(crop.width, crop.height);
            // Off by less than a pixel on the cropped side.
            assert!(
                (got - want).abs() * crop.height.min(crop.width) < want.max(1.0) * 1.01,
                "{source:?} -> {target:?}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn fractional_crops_that_broke_the_resizer_now_cover() {
        for (source, target) in [((402, 270), (472, 942)), ((1995, 160), (1023, 280))] {
            let frame = Frame {
                width: source.0,
                height: source.1,
                rgb: vec![128; (source.0 * source.1 * 3) as usize],
                alpha: false,
            };
            let covered = cover(&frame, target).expect("covers");
            assert_eq!((covered.width, covered.height), target);
        }
    }

    #[test]
    fn thumbnails_keep_the_preset_aspect_in_whole_pixels() {
        assert_eq!(thumbnail_size((1080, 1080), 384), (384, 384));
        assert_eq!(thumbnail_size((1080, 1350), 384), (307, 384));
        assert_eq!(thumbnail_size((1080, 1920), 384), (216, 384));
        assert_eq!(thumbnail_size((1280, 720), 384), (384, 216));
        assert_eq!(thumbnail_size((10_000, 1), 384), (384, 1));
        assert_eq!(thumbnail_size((u32::MAX, 7), u32::MAX), (u32::MAX, 7));
    }
}
