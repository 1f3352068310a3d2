//! The pipeline end to end: real encoded sources in, renditions decoded back out.

use std::io::Cursor;

use artforge_imaging::{ImageFormat as Format, Pipeline, PipelineConfig, PipelineError, Processed};
use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use proptest::prelude::*;

const PRESETS: [(u32, u32); 4] = [(1080, 1080), (1080, 1350), (1080, 1920), (1280, 720)];
const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const YELLOW: [u8; 3] = [255, 255, 0];

fn encoded(image: impl Into<image::DynamicImage>, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image
        .into()
        .write_to(&mut bytes, format)
        .expect("test image encodes");
    bytes.into_inner()
}

/// A smooth gradient, so resizing and JPEG have something to do.
fn gradient_png(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    encoded(image, ImageFormat::Png)
}

fn pipeline(format: Format) -> Pipeline {
    Pipeline::new(PipelineConfig {
        format,
        ..PipelineConfig::default()
    })
}

fn decode_back(bytes: &[u8], format: ImageFormat) -> image::DynamicImage {
    assert_eq!(image::guess_format(bytes).expect("known format"), format);
    image::load_from_memory_with_format(bytes, format).expect("rendition decodes")
}

fn close(actual: [u8; 3], expected: [u8; 3], tolerance: u8) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| a.abs_diff(e) <= tolerance)
}

#[test]
fn every_preset_comes_out_at_exactly_its_size_with_a_thumbnail_of_its_aspect() {
    let pipeline = pipeline(Format::Jpeg);
    let thumbnails = [(384, 384), (307, 384), (216, 384), (384, 216)];
    for source in [(1024, 1024), (1024, 1536), (1536, 1024)] {
        let bytes = gradient_png(source.0, source.1);
        for (target, thumbnail) in PRESETS.into_iter().zip(thumbnails) {
            let out = pipeline.process(&bytes, target).expect("processes");
            assert_eq!(
                (out.source_format, out.source_width, out.source_height),
                (Format::Png, source.0, source.1)
            );
            assert_eq!((out.preset.width, out.preset.height), target);
            assert_eq!((out.thumbnail.width, out.thumbnail.height), thumbnail);
            let preset = decode_back(&out.preset.bytes, ImageFormat::Jpeg);
            assert_eq!((preset.width(), preset.height()), target, "{source:?}");
            let thumb = decode_back(&out.thumbnail.bytes, ImageFormat::Jpeg);
            assert_eq!((thumb.width(), thumb.height()), thumbnail, "{source:?}");
        }
    }
}

#[test]
fn a_wide_source_loses_equal_bands_on_the_left_and_right() {
    // 256 red | 512 green | 512 yellow | 256 blue: the centred square is exactly green|yellow.
    let source = RgbImage::from_fn(1536, 1024, |x, _| {
        Rgb(match x {
            0..256 => RED,
            256..768 => GREEN,
            768..1280 => YELLOW,
            _ => BLUE,
        })
    });
    let pipeline = pipeline(Format::Png);
    let decoded = pipeline
        .decode(&encoded(source, ImageFormat::Png))
        .expect("decodes");
    let frame = pipeline.cover(&decoded, (1080, 1080)).expect("covers");
    let pixel = |x: u32, y: u32| -> [u8; 3] {
        let i = ((y * frame.width() + x) * 3) as usize;
        [frame.rgb()[i], frame.rgb()[i + 1], frame.rgb()[i + 2]]
    };
    for y in [0, 540, 1079] {
        let (left, right) = (pixel(0, y), pixel(1079, y));
        assert!(close(left, GREEN, 8), "left edge {left:?}");
        assert!(close(pixel(530, y), GREEN, 2), "{:?}", pixel(530, y));
        assert!(close(pixel(550, y), YELLOW, 2), "{:?}", pixel(550, y));
        assert!(close(right, YELLOW, 8), "right edge {right:?}");
        // Lanczos reaches a few pixels past the crop: as much red bleeds into the left edge as
        // blue into the right one. Off-centre by one source pixel, these differ by far more.
        assert!(left[0].abs_diff(right[2]) <= 1, "{left:?} vs {right:?}");
    }
}

#[test]
fn a_tall_source_loses_equal_bands_at_the_top_and_bottom() {
    // 1024x1536 to 16:9 keeps the middle 576 rows: 480 red above, 480 blue below are cut.
    let source = RgbImage::from_fn(1024, 1536, |_, y| {
        Rgb(match y {
            0..480 => RED,
            480..768 => GREEN,
            768..1056 => YELLOW,
            _ => BLUE,
        })
    });
    let pipeline = pipeline(Format::Png);
    let out = pipeline
        .process(&encoded(source, ImageFormat::Png), (1280, 720))
        .expect("processes");
    let preset = decode_back(&out.preset.bytes, ImageFormat::Png).to_rgb8();
    for x in [0, 640, 1279] {
        for (y, colour) in [(0, GREEN), (350, GREEN), (370, YELLOW), (719, YELLOW)] {
            // Upscaling by 1.25, Lanczos3 reaches further past the crop than in the wide case.
            let actual = preset.get_pixel(x, y).0;
            assert!(close(actual, colour, 24), "({x},{y}) is {actual:?}");
        }
        let (top, bottom) = (preset.get_pixel(x, 0).0, preset.get_pixel(x, 719).0);
        assert!(top[0].abs_diff(bottom[2]) <= 1, "{top:?} vs {bottom:?}");
    }
    let thumb = decode_back(&out.thumbnail.bytes, ImageFormat::Png).to_rgb8();
    assert_eq!(thumb.dimensions(), (384, 216));
    assert!(close(thumb.get_pixel(0, 0).0, GREEN, 24));
    assert!(close(thumb.get_pixel(383, 215).0, YELLOW, 24));
}

#[test]
fn a_png_with_alpha_is_flattened_onto_white() {
    // Left half transparent black, right half opaque red.
    let source = RgbaImage::from_fn(1024, 1024, |x, _| {
        Rgba(if x < 512 {
            [0, 0, 0, 0]
        } else {
            [255, 0, 0, 255]
        })
    });
    let out = pipeline(Format::Png)
        .process(&encoded(source, ImageFormat::Png), (1080, 1080))
        .expect("processes");
    let preset = decode_back(&out.preset.bytes, ImageFormat::Png);
    assert_eq!(preset.color(), image::ColorType::Rgb8, "no alpha left");
    let preset = preset.to_rgb8();
    assert_eq!(preset.get_pixel(100, 500).0, [255, 255, 255]);
    assert_eq!(preset.get_pixel(980, 500).0, RED);
}

#[test]
fn jpeg_and_webp_sources_decode_and_report_their_format() {
    let image = RgbImage::from_fn(640, 480, |x, y| Rgb([x as u8, y as u8, 128]));
    for (format, expected) in [
        (ImageFormat::Jpeg, Format::Jpeg),
        (ImageFormat::WebP, Format::Webp),
    ] {
        let out = pipeline(Format::Jpeg)
            .process(&encoded(image.clone(), format), (1080, 1350))
            .expect("processes");
        assert_eq!(
            (out.source_format, out.source_width, out.source_height),
            (expected, 640, 480)
        );
        assert_eq!((out.preset.width, out.preset.height), (1080, 1350));
    }
}

#[test]
fn renditions_decode_back_in_the_configured_format_at_the_stated_size() {
    let source = gradient_png(1024, 1536);
    for (format, image_format) in [
        (Format::Jpeg, ImageFormat::Jpeg),
        (Format::Png, ImageFormat::Png),
        (Format::Webp, ImageFormat::WebP),
    ] {
        let out: Processed = pipeline(format)
            .process(&source, (1080, 1920))
            .expect("processes");
        assert_eq!(out.format, format);
        for rendition in [&out.preset, &out.thumbnail] {
            let back = decode_back(&rendition.bytes, image_format);
            assert_eq!(
                (back.width(), back.height()),
                (rendition.width, rendition.height),
                "{format}"
            );
        }
        assert_eq!((out.thumbnail.width, out.thumbnail.height), (216, 384));
    }
}

#[test]
fn renditions_hold_no_spare_capacity() {
    // A rendition is held until it is stored; a buffer sized for the worst case kept several
    // times its bytes (docs/performance.md, ADR 0105).
    let source = gradient_png(1024, 1536);
    for format in [Format::Jpeg, Format::Png, Format::Webp] {
        let out = pipeline(format)
            .process(&source, (1080, 1920))
            .expect("processes");
        for rendition in [&out.preset, &out.thumbnail] {
            assert_eq!(
                rendition.bytes.capacity(),
                rendition.bytes.len(),
                "{format}"
            );
        }
    }
}

/// The JPEG markers of `bytes` (the byte after each 0xFF that is not stuffing, a fill byte or a
/// restart marker), in order.
fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    bytes
        .windows(2)
        .filter(|w| w[0] == 0xFF && !matches!(w[1], 0x00 | 0xFF | 0xD0..=0xD7))
        .map(|w| w[1])
        .collect()
}

#[test]
fn a_jpeg_rendition_is_one_interleaved_scan_with_the_standard_tables() {
    // Tables optimised per image would need a scan per component over every block held in
    // memory (ADR 0105): one scan of the three components, and the standard tables' DHT.
    let out = pipeline(Format::Jpeg)
        .process(&gradient_png(1024, 1536), (1080, 1920))
        .expect("processes");
    for rendition in [&out.preset, &out.thumbnail] {
        let bytes = &rendition.bytes;
        let markers = jpeg_markers(bytes);
        assert_eq!(
            markers.iter().filter(|&&m| m == 0xDA).count(),
            1,
            "{markers:x?}"
        );
        let sos = bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("has a scan");
        assert_eq!(bytes[sos + 4], 3, "components in the scan");
        // The luminance DC table of Annex K: code lengths 0 1 5 1 1 1 1 1 1 0 0 0 0 0 0 0.
        let standard_dc = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
        assert!(bytes.windows(16).any(|w| w == standard_dc));
    }
}

#[test]
fn a_truncated_png_is_undecodable() {
    let bytes = gradient_png(256, 256);
    let truncated = &bytes[..bytes.len() / 2];
    let error = pipeline(Format::Jpeg)
        .process(truncated, (1080, 1080))
        .expect_err("half a PNG");
    assert!(matches!(error, PipelineError::Undecodable(_)), "{error:?}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the decoder's error is kept"
    );
}

#[test]
fn garbage_and_other_formats_are_unsupported() {
    let pipeline = pipeline(Format::Jpeg);
    for (bytes, detected) in [
        (&b"<html>not an image</html>"[..], None),
        (&b""[..], None),
        (&b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"[..], Some("gif")),
    ] {
        let error = pipeline.process(bytes, (1080, 1080)).expect_err("rejected");
        assert!(
            matches!(error, PipelineError::Unsupported { detected: d } if d == detected),
            "{error:?}"
        );
    }
}

#[test]
fn a_jpeg_with_only_a_signature_is_undecodable() {
    let error = pipeline(Format::Jpeg)
        .process(b"\xff\xd8\xff\xe0garbage", (1080, 1080))
        .expect_err("rejected");
    assert!(matches!(error, PipelineError::Undecodable(_)), "{error:?}");
}

/// CRC-32 (IEEE) for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

#[test]
fn a_tiny_png_claiming_a_huge_size_is_too_large_before_decoding() {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(png_chunk(b"IHDR", &ihdr));
    bytes.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00])); // a few bytes, not 30 GB
    bytes.extend(png_chunk(b"IEND", &[]));
    assert!(bytes.len() < 100);

    let error = pipeline(Format::Jpeg)
        .process(&bytes, (1080, 1080))
        .expect_err("bomb");
    assert!(
        matches!(
            error,
            PipelineError::TooLarge {
                width: 100_000,
                height: 100_000,
                max_pixels: 67_108_864
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_jpeg_header_claiming_a_huge_size_is_too_large() {
    let mut bytes = encoded(RgbImage::new(16, 16), ImageFormat::Jpeg);
    // Baseline frame header: FFC0, length (2), precision (1), height (2), width (2).
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]); // 60000x60000
    let error = pipeline(Format::Jpeg)
        .process(&bytes, (1080, 1080))
        .expect_err("bomb");
    assert!(
        matches!(
            error,
            PipelineError::TooLarge {
                width: 60_000,
                height: 60_000,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn the_pixel_limit_is_the_configured_one() {
    let pipeline = Pipeline::new(PipelineConfig {
        max_source_pixels: 1000,
        ..PipelineConfig::default()
    });
    let error = pipeline
        .process(&gradient_png(64, 64), (16, 16))
        .expect_err("over the limit");
    assert!(
        matches!(
            error,
            PipelineError::TooLarge {
                width: 64,
                height: 64,
                max_pixels: 1000
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_zero_sized_target_is_an_error_not_a_panic() {
    let error = pipeline(Format::Jpeg)
        .process(&gradient_png(32, 32), (0, 720))
        .expect_err("zero width");
    assert!(
        matches!(
            error,
            PipelineError::InvalidTarget {
                width: 0,
                height: 720,
                ..
            }
        ),
        "{error:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_source_and_target_give_exactly_the_target(
        source in (16u32..2000, 16u32..2000),
        target in (1u32..1500, 1u32..1500),
    ) {
        let pipeline = pipeline(Format::Jpeg);
        let decoded = pipeline.decode(&gradient_png(source.0, source.1)).expect("decodes");
        let preset = pipeline.cover(&decoded, target).expect("covers");
        prop_assert_eq!((preset.width(), preset.height()), target);
        prop_assert_eq!(preset.rgb().len(), (target.0 * target.1 * 3) as usize);
        let thumbnail = pipeline.thumbnail(&decoded, &preset).expect("thumbnails");
        prop_assert_eq!(thumbnail.width().max(thumbnail.height()), 384);
        let rendition = pipeline.encode(&preset).expect("encodes");
        let back = image::load_from_memory_with_format(&rendition.bytes, ImageFormat::Jpeg)
            .expect("decodes back");
        prop_assert_eq!((back.width(), back.height()), target);
    }
}
