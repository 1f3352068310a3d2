//! Transparency kept (`Output { keep_alpha: true }`): PNG and WebP renditions decoded back.

use std::io::Cursor;

use artforge_imaging::{ImageFormat as Format, Output, Pipeline, PipelineConfig, PipelineError};
use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

fn encoded(image: impl Into<image::DynamicImage>) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image
        .into()
        .write_to(&mut bytes, ImageFormat::Png)
        .expect("test image encodes");
    bytes.into_inner()
}

/// A red disc of radius `size / 3` in the middle of a fully transparent square; the
/// transparent pixels are black, so a resize that mixes straight (not premultiplied) colour
/// darkens the disc's rim.
fn disc(size: u32) -> RgbaImage {
    let (c, r) = (f64::from(size) / 2.0, f64::from(size) / 3.0);
    RgbaImage::from_fn(size, size, |x, y| {
        let d = (f64::from(x) + 0.5 - c).hypot(f64::from(y) + 0.5 - c);
        Rgba(if d <= r {
            [255, 0, 0, 255]
        } else {
            [0, 0, 0, 0]
        })
    })
}

fn keep_alpha(format: Format) -> Output {
    Output {
        format,
        keep_alpha: true,
    }
}

fn pipeline() -> Pipeline {
    Pipeline::new(PipelineConfig::default())
}

fn decode_back(bytes: &[u8], format: ImageFormat) -> image::DynamicImage {
    assert_eq!(image::guess_format(bytes).expect("known format"), format);
    image::load_from_memory_with_format(bytes, format).expect("rendition decodes")
}

#[test]
fn kept_alpha_survives_in_png_and_webp_presets_and_thumbnails() {
    let source = encoded(disc(1024));
    for (format, image_format) in [
        (Format::Png, ImageFormat::Png),
        (Format::Webp, ImageFormat::WebP),
    ] {
        let out = pipeline()
            .process_with(&source, (1080, 1080), keep_alpha(format))
            .expect("processes");
        assert!(out.has_alpha, "{format}");
        assert_eq!(out.format, format);
        for rendition in [&out.preset, &out.thumbnail] {
            let back = decode_back(&rendition.bytes, image_format);
            assert!(back.color().has_alpha(), "{format}: {:?}", back.color());
            let back = back.to_rgba8();
            let (w, h) = back.dimensions();
            assert_eq!((w, h), (rendition.width, rendition.height));
            for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)] {
                assert_eq!(back.get_pixel(x, y).0[3], 0, "{format} corner ({x},{y})");
            }
            let centre = back.get_pixel(w / 2, h / 2).0;
            assert_eq!(centre[3], 255, "{format} centre {centre:?}");
            assert!(
                centre[0] >= 240 && centre[1] <= 16,
                "{format} centre {centre:?}"
            );
        }
    }
}

#[test]
fn a_png_preset_keeps_the_alpha_channel_as_rgba8() {
    let out = pipeline()
        .process_with(&encoded(disc(1024)), (1280, 720), keep_alpha(Format::Png))
        .expect("processes");
    let back = decode_back(&out.preset.bytes, ImageFormat::Png);
    assert_eq!(back.color(), image::ColorType::Rgba8);
}

#[test]
fn the_rim_of_a_resized_transparent_shape_is_not_darkened() {
    // Half-transparent rim pixels must stay red: premultiplied resizing gives them less alpha,
    // not a darker colour. A straight-alpha Lanczos would mix in the transparent black.
    let out = pipeline()
        .process_with(&encoded(disc(1024)), (1080, 1080), keep_alpha(Format::Png))
        .expect("processes");
    let back = decode_back(&out.thumbnail.bytes, ImageFormat::Png).to_rgba8();
    let mut rim = 0;
    for pixel in back.pixels() {
        let [r, g, b, a] = pixel.0;
        if (16..240).contains(&a) {
            rim += 1;
            assert!(r >= 235 && g <= 20 && b <= 20, "rim pixel {:?}", pixel.0);
        }
    }
    assert!(rim > 100, "the thumbnail has a soft rim ({rim} pixels)");
}

#[test]
fn a_source_without_transparency_gives_opaque_renditions_even_when_alpha_is_kept() {
    let rgb = RgbImage::from_fn(1024, 1536, |x, y| Rgb([x as u8, y as u8, 90]));
    let opaque_rgba = RgbaImage::from_fn(1024, 1024, |x, y| Rgba([x as u8, y as u8, 90, 255]));
    for source in [encoded(rgb), encoded(opaque_rgba)] {
        for (format, image_format) in [
            (Format::Png, ImageFormat::Png),
            (Format::Webp, ImageFormat::WebP),
        ] {
            let out = pipeline()
                .process_with(&source, (1080, 1350), keep_alpha(format))
                .expect("processes");
            assert!(!out.has_alpha, "{format}");
            for rendition in [&out.preset, &out.thumbnail] {
                let back = decode_back(&rendition.bytes, image_format);
                assert!(!back.color().has_alpha(), "{format}: {:?}", back.color());
            }
        }
    }
}

#[test]
fn keeping_alpha_in_jpeg_is_refused_before_decoding() {
    let error = pipeline()
        .process_with(b"not even an image", (1080, 1080), keep_alpha(Format::Jpeg))
        .expect_err("JPEG has no alpha");
    assert!(
        matches!(error, PipelineError::AlphaNeedsPngOrWebp),
        "{error:?}"
    );
}

#[test]
fn process_is_process_with_the_configured_format_and_alpha_flattened() {
    let source = encoded(disc(512));
    for format in [Format::Jpeg, Format::Png, Format::Webp] {
        let pipeline = Pipeline::new(PipelineConfig {
            format,
            ..PipelineConfig::default()
        });
        let plain = pipeline.process(&source, (1080, 1080)).expect("processes");
        let with = pipeline
            .process_with(
                &source,
                (1080, 1080),
                Output {
                    format,
                    keep_alpha: false,
                },
            )
            .expect("processes");
        assert_eq!(plain, with, "{format}");
        assert!(!plain.has_alpha);
    }
}

#[test]
fn a_job_may_ask_for_another_format_than_the_configured_one() {
    let out = pipeline()
        .process_with(
            &encoded(disc(512)),
            (1080, 1080),
            Output {
                format: Format::Webp,
                keep_alpha: false,
            },
        )
        .expect("processes");
    assert_eq!(out.format, Format::Webp);
    let back = decode_back(&out.preset.bytes, ImageFormat::WebP);
    assert!(!back.color().has_alpha());
    // Flattened onto white.
    assert!(back.to_rgb8().get_pixel(0, 0).0.iter().all(|&c| c >= 245));
}
