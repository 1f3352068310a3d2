//! `POST /generations` past the JSON: the catalogue's check and pricing of a request, built
//! structure-aware (`arbitrary`) from the catalogue's own words and arbitrary text, so the
//! fuzzer reaches the accepting paths that a JSON byte string seldom does.
//!
//! Asserts: nothing panics; a rejected request names every field it rejects (never an empty
//! 422); an accepted one is within its tier's limits and priced (credits, provider cost, the
//! provider request), and checking it twice gives the same request (same idempotency
//! fingerprint).
#![no_main]

use arbitrary::Arbitrary;
use artforge_domain::{Background, ImageFormat, RawGeneration};
use artforge_fuzz::{CATALOG, assert_client_error};
use artforge_http::ApiError;
use libfuzzer_sys::fuzz_target;

/// A field's value: one of the catalogue's words (by index) or any text.
#[derive(Debug, Arbitrary)]
enum Word {
    Known(u8),
    Text(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    prompt: Option<String>,
    model: Option<Word>,
    style: Option<Word>,
    preset: Option<Word>,
    quality: Option<Word>,
    count: Option<u64>,
    tags: Option<Vec<String>>,
    /// The studio's fields: a background and a format by index, a custom size's sides.
    background: Option<u8>,
    format: Option<u8>,
    width: Option<u64>,
    height: Option<u64>,
}

const BACKGROUNDS: [Background; 3] = [
    Background::Auto,
    Background::Opaque,
    Background::Transparent,
];
const FORMATS: [ImageFormat; 3] = [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp];

/// Every id the catalogue knows: tiers, styles, qualities, presets.
fn vocabulary() -> Vec<String> {
    let mut words = Vec::new();
    for tier in &CATALOG.tiers {
        words.push(tier.id.to_string());
        words.extend(tier.styles.iter().map(|s| s.id.to_string()));
        words.extend(tier.qualities.iter().map(|q| q.id.to_string()));
    }
    words.extend(CATALOG.presets.iter().map(|p| p.id.to_string()));
    words
}

fn text(word: Option<Word>, words: &[String]) -> Option<String> {
    word.map(|w| match w {
        Word::Known(i) => words[usize::from(i) % words.len()].clone(),
        Word::Text(t) => t,
    })
}

fuzz_target!(|input: Input| {
    let words = vocabulary();
    let raw = RawGeneration {
        prompt: input.prompt,
        model: text(input.model, &words),
        style: text(input.style, &words),
        preset: text(input.preset, &words),
        quality: text(input.quality, &words),
        count: input.count,
        tags: input.tags,
        background: input
            .background
            .map(|i| BACKGROUNDS[usize::from(i) % BACKGROUNDS.len()]),
        format: input
            .format
            .map(|i| FORMATS[usize::from(i) % FORMATS.len()]),
        width: input.width,
        height: input.height,
        inputs: Default::default(),
    };
    match CATALOG.validate(raw.clone()) {
        Ok(request) => {
            let spec = CATALOG.tier(request.tier).expect("a validated tier");
            assert!(
                (1..=spec.max_images).contains(&request.count),
                "{request:?}"
            );
            let prompt = request.prompt.as_str();
            assert!(!prompt.is_empty() && prompt.chars().count() <= 2000);
            let unit = CATALOG.unit_price(&request).expect("a price");
            assert!(unit.get() > 0, "a free request: {request:?}");
            assert!(CATALOG.provider_cost_micros(&request).is_some());
            let provider = CATALOG
                .provider_request(&request)
                .expect("a provider request");
            assert_eq!(provider.count, request.count);
            assert!(provider.prompt.starts_with(prompt));
            let again = CATALOG.validate(raw).expect("accepted twice");
            assert_eq!(again.fingerprint(), request.fingerprint());
        }
        Err(fields) => {
            assert!(!fields.is_empty(), "rejected naming no field");
            assert_client_error(ApiError::validation(fields));
        }
    }
});
