//! The pipeline on one 1024x1024 photo-like PNG: decode, the 1080x1080 and 1280x720
//! presets, a 384 thumbnail, JPEG q85; the whole and each step.
//!
//! `cargo bench -p artforge-imaging --bench pipeline`. For the side-by-side with Sharp see
//! `scripts/bench-pipeline`.

#[path = "../examples/support/photo.rs"]
mod photo;

use std::hint::black_box;
use std::io::Cursor;

use artforge_imaging::{ImageFormat as Format, Pipeline, PipelineConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

fn input_png() -> Vec<u8> {
    let image = photo::photo_like(1024, 1024);
    let mut png = Cursor::new(Vec::new());
    PngEncoder::new_with_quality(&mut png, CompressionType::Default, FilterType::Adaptive)
        .write_image(image.as_raw(), 1024, 1024, image::ExtendedColorType::Rgb8)
        .expect("the bench input encodes");
    png.into_inner()
}

fn pipeline(c: &mut Criterion) {
    let source = input_png();
    let pipeline = Pipeline::new(PipelineConfig::default());
    let decoded = pipeline.decode(&source).expect("decodes");
    let square = pipeline.cover(&decoded, (1080, 1080)).expect("covers");
    let landscape = pipeline.cover(&decoded, (1280, 720)).expect("covers");
    let thumbnail = pipeline.thumbnail(&decoded, &square).expect("thumbnails");

    let mut group = c.benchmark_group("pipeline");
    group.sample_size(20);
    group.bench_function(
        "whole: decode, 1080x1080 + 1280x720 + 384 thumb, jpeg q85",
        |b| {
            b.iter(|| {
                let decoded = pipeline.decode(black_box(&source)).expect("decodes");
                let square = pipeline.cover(&decoded, (1080, 1080)).expect("covers");
                let landscape = pipeline.cover(&decoded, (1280, 720)).expect("covers");
                let thumbnail = pipeline.thumbnail(&decoded, &square).expect("thumbnails");
                for frame in [&square, &landscape, &thumbnail] {
                    black_box(pipeline.encode(frame).expect("encodes"));
                }
            })
        },
    );
    group.bench_function("decode png 1024x1024", |b| {
        b.iter(|| pipeline.decode(black_box(&source)).expect("decodes"))
    });
    group.bench_function("cover 1080x1080", |b| {
        b.iter(|| {
            pipeline
                .cover(&decoded, black_box((1080, 1080)))
                .expect("covers")
        })
    });
    group.bench_function("cover 1280x720", |b| {
        b.iter(|| {
            pipeline
                .cover(&decoded, black_box((1280, 720)))
                .expect("covers")
        })
    });
    group.bench_function("thumbnail 384", |b| {
        b.iter(|| {
            pipeline
                .thumbnail(&decoded, black_box(&square))
                .expect("thumbnails")
        })
    });
    group.bench_function("encode jpeg q85 1080x1080", |b| {
        b.iter(|| pipeline.encode(black_box(&square)).expect("encodes"))
    });
    group.bench_function("encode jpeg q85 1280x720", |b| {
        b.iter(|| pipeline.encode(black_box(&landscape)).expect("encodes"))
    });
    group.bench_function("encode jpeg q85 384x384", |b| {
        b.iter(|| pipeline.encode(black_box(&thumbnail)).expect("encodes"))
    });
    for format in [Format::Png, Format::Webp] {
        let other = Pipeline::new(PipelineConfig {
            format,
            ..PipelineConfig::default()
        });
        group.bench_function(format!("encode {format} 1080x1080"), |b| {
            b.iter(|| other.encode(black_box(&square)).expect("encodes"))
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
