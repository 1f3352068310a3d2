//! The model catalogue: what a user may ask for and what it costs. It comes from configuration
//! (`config/models.json`, or `MODEL_CATALOG`), never from code, because the provider keeps
//! renaming its models. Loading checks it whole, so a bad file fails at init, not mid-request.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{
    Background, Credits, FieldError, ImageFormat, Preset, Quality, Style, Tags, Tier,
    generation::{GenerationRequest, ImageSpec, Prompt, ProviderRequest},
};

/// One quality of a tier and what an image of it costs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QualitySpec {
    pub id: Quality,
    pub name: String,
    /// Credits per image.
    pub credits: Credits,
    /// The provider's `quality` value.
    pub provider_quality: String,
    /// What the provider charges for one image of this quality at the tier's largest size,
    /// in millionths of a US dollar (`providerCostUsd` in the file): what the daily spend cap
    /// counts.
    #[serde(rename = "providerCostUsd", deserialize_with = "usd_as_micros")]
    pub provider_cost_micros: u64,
}

/// Reads a dollar amount such as `0.042` as whole millionths of a dollar (42000), exactly: the
/// number's decimal text, not a float's rounding.
fn usd_as_micros<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    crate::limits::usd_micros(&number.to_string(), 1000).ok_or_else(|| {
        serde::de::Error::custom("a dollar amount from 0 to 1000, six decimals at most")
    })
}

/// A style: the provider has no parameter for it, so it is a sentence added to the prompt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StyleSpec {
    pub id: Style,
    pub name: String,
    pub prompt: String,
}

/// A model tier: the provider model behind it, its limits, qualities, styles and sizes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierSpec {
    pub id: Tier,
    pub name: String,
    pub description: String,
    pub provider_model: String,
    /// The most images one job of this tier makes.
    pub max_images: u8,
    /// The most images one provider request returns (`n`); more are asked for in turns.
    pub images_per_request: u8,
    /// What the provider is asked to return.
    pub output_format: ImageFormat,
    pub qualities: Vec<QualitySpec>,
    pub styles: Vec<StyleSpec>,
    /// Per preset, the provider size to ask for (`WxH`), nearest in aspect to the preset.
    pub provider_sizes: BTreeMap<Preset, String>,
    /// The backgrounds a request may ask for; the first is the default.
    pub backgrounds: Vec<Background>,
    /// The formats of the sized image and thumbnail a request may ask for; the first is the
    /// default (for a transparent background, the first that keeps alpha).
    pub formats: Vec<ImageFormat>,
    /// The limits of `preset: "custom"`; a tier without them takes no custom size.
    #[serde(default)]
    pub custom_size: Option<CustomSize>,
    /// What an edit of this tier takes and costs; a tier without it makes no edits.
    #[serde(default)]
    pub edits: Option<EditsSpec>,
    /// The custom sizes the provider model takes; without it, the provider is asked for the
    /// size of `providerSizes` nearest in aspect, and the pipeline crops the rest.
    #[serde(default)]
    pub provider_custom_size: Option<ProviderCustomSize>,
}

/// The pixels `preset: "custom"` may ask for: each side `min` to `max`, the longer side at most
/// `maxRatio` times the shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomSize {
    pub min: u32,
    pub max: u32,
    pub max_ratio: u32,
}

/// What an edit takes (sources, a mask) and costs per image, by quality.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditsSpec {
    /// The most source images one edit takes.
    pub max_sources: u8,
    /// Whether an edit takes a mask (for its first source).
    pub mask: bool,
    /// Credits per edited image, for every quality of the tier.
    pub credits: BTreeMap<Quality, Credits>,
}

/// The custom sizes a provider model takes: both sides multiples of `multiple`, at most `max`,
/// the longer at most `maxRatio` times the shorter, at most `maxPixels` in all. Asked sizes have
/// a longer side of at least `minLongerSide` (smaller targets are made from a larger picture,
/// not an upscaled one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderCustomSize {
    pub multiple: u32,
    pub max: u32,
    pub max_ratio: u32,
    pub min_longer_side: u32,
    /// The most pixels (width x height) the model makes.
    pub max_pixels: u64,
}

/// The most source images an edit may take (the provider's limit).
pub const MAX_EDIT_SOURCES: u8 = 16;

/// The largest side of any image the service makes or asks for.
pub const MAX_SIDE: u32 = 3840;

impl TierSpec {
    /// The studio's part of a tier: backgrounds, formats, custom sizes, edits.
    fn check_studio(&self) -> Result<(), String> {
        let id = self.id;
        if self.backgrounds.is_empty() || self.formats.is_empty() {
            return Err(format!("tier {id} needs a background and a format"));
        }
        if has_duplicates(&self.backgrounds) || has_duplicates(&self.formats) {
            return Err(format!("tier {id}: a background or format is listed twice"));
        }
        if self.backgrounds.contains(&Background::Transparent)
            && !self.formats.iter().any(|f| f.has_alpha())
        {
            return Err(format!(
                "tier {id}: a transparent background needs a format with alpha (png or webp)"
            ));
        }
        if let Some(c) = self.custom_size
            && (c.min < 16 || c.min > c.max || c.max > MAX_SIDE || c.max_ratio < 1)
        {
            return Err(format!(
                "tier {id}: customSize needs 16 <= min <= max <= {MAX_SIDE} and maxRatio >= 1"
            ));
        }
        if let Some(p) = self.provider_custom_size
            && (p.multiple == 0
                || p.max > MAX_SIDE
                || p.max < p.multiple
                || p.max_ratio < 1
                || p.min_longer_side > p.max)
        {
            return Err(format!(
                "tier {id}: providerCustomSize needs 0 < multiple <= max <= {MAX_SIDE}, \
                 maxRatio >= 1 and minLongerSide <= max"
            ));
        }
        if let Some(edits) = &self.edits {
            if !(1..=MAX_EDIT_SOURCES).contains(&edits.max_sources) {
                return Err(format!(
                    "tier {id}: an edit takes 1 to {MAX_EDIT_SOURCES} sources"
                ));
            }
            let priced = self
                .qualities
                .iter()
                .all(|q| edits.credits.contains_key(&q.id));
            let known = edits
                .credits
                .keys()
                .all(|q| self.qualities.iter().any(|s| s.id == *q));
            if !priced || !known {
                return Err(format!(
                    "tier {id}: edits are priced for exactly the tier's qualities"
                ));
            }
            if edits
                .credits
                .values()
                .any(|c| !(1..=MAX_CREDITS_PER_IMAGE).contains(&c.get()))
            {
                return Err(format!(
                    "tier {id}: an edited image costs 1 to {MAX_CREDITS_PER_IMAGE} credits"
                ));
            }
        }
        Ok(())
    }
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, item)| items[..i].contains(item))
}

/// A size preset as clients show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresetSpec {
    pub id: Preset,
    pub name: String,
    pub platforms: Vec<String>,
    pub width: u32,
    pub height: u32,
}

/// The whole catalogue, checked: what a user may ask for, what it costs, and what the
/// provider is asked. `GET /models` shows it without the provider's side (the generate
/// function's view).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    pub tiers: Vec<TierSpec>,
    pub presets: Vec<PresetSpec>,
}

/// The most credits one image may cost: a sanity bound on configuration.
pub const MAX_CREDITS_PER_IMAGE: u64 = 1000;

/// Why a catalogue cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the model catalogue is not valid JSON of the expected shape")]
    Json(#[from] serde_json::Error),
    #[error("the model catalogue is inconsistent: {0}")]
    Invalid(String),
}

/// A generation request as it arrives, before anything is checked; `None` is "not given".
#[derive(Debug, Clone, Default)]
pub struct RawGeneration {
    pub prompt: Option<String>,
    pub model: Option<String>,
    pub style: Option<String>,
    pub preset: Option<String>,
    pub quality: Option<String>,
    pub count: Option<u64>,
    pub tags: Option<Vec<String>>,
    pub background: Option<Background>,
    pub format: Option<ImageFormat>,
    /// Pixels of a custom size (`preset: "custom"` only).
    pub width: Option<u64>,
    pub height: Option<u64>,
    /// Sources, mask and remix (`crate::edit`), checked by the generate function's use case.
    pub inputs: crate::edit::RawInputs,
}

impl Catalog {
    /// Parses and checks a catalogue: both tiers, every preset with its exact pixels and a
    /// provider size per tier, at least one quality and style per tier, sane limits.
    pub fn from_json(raw: &str) -> Result<Self, CatalogError> {
        let catalog: Self = serde_json::from_str(raw)?;
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), CatalogError> {
        let invalid = |m: String| Err(CatalogError::Invalid(m));
        for tier in Tier::ALL {
            if self.tiers.iter().filter(|t| t.id == *tier).count() != 1 {
                return invalid(format!("tier {tier} must be listed exactly once"));
            }
        }
        if self.presets.is_empty() {
            return invalid("the catalogue offers no preset".into());
        }
        for (i, spec) in self.presets.iter().enumerate() {
            let preset = spec.id;
            if preset == Preset::Custom {
                return invalid(
                    "custom is not a listed preset: a tier's customSize offers it".into(),
                );
            }
            if self.presets[..i].iter().any(|p| p.id == preset) {
                return invalid(format!("preset {preset} is listed twice"));
            }
            if !(16..=MAX_SIDE).contains(&spec.width) || !(16..=MAX_SIDE).contains(&spec.height) {
                return invalid(format!("preset {preset}: each side is 16 to {MAX_SIDE} px"));
            }
        }
        for tier in &self.tiers {
            let id = tier.id;
            if tier.provider_model.trim().is_empty() {
                return invalid(format!("tier {id} has no provider model"));
            }
            if !(1..=10).contains(&tier.max_images) || !(1..=10).contains(&tier.images_per_request)
            {
                return invalid(format!("tier {id}: image limits must be 1 to 10"));
            }
            if tier.qualities.is_empty() || tier.styles.is_empty() {
                return invalid(format!("tier {id} needs a quality and a style"));
            }
            // Bounded so a job's price (at most ten images) can never overflow.
            if tier
                .qualities
                .iter()
                .any(|q| !(1..=MAX_CREDITS_PER_IMAGE).contains(&q.credits.get()))
            {
                return invalid(format!(
                    "tier {id}: every quality costs 1 to {MAX_CREDITS_PER_IMAGE} credits"
                ));
            }
            // The spend cap fails closed only if every image counts against it.
            if tier.qualities.iter().any(|q| q.provider_cost_micros == 0) {
                return invalid(format!("tier {id}: every quality has a provider cost"));
            }
            for preset in self.presets.iter().map(|p| p.id) {
                let Some(size) = tier.provider_sizes.get(&preset) else {
                    return invalid(format!("tier {id} has no provider size for {preset}"));
                };
                if parse_size(size).is_none() {
                    return invalid(format!("tier {id}: {size} is not WIDTHxHEIGHT"));
                }
            }
            if let Some(size) = tier
                .provider_sizes
                .values()
                .find(|s| parse_size(s).is_none())
            {
                return invalid(format!("tier {id}: {size} is not WIDTHxHEIGHT"));
            }
            tier.check_studio().map_err(CatalogError::Invalid)?;
        }
        Ok(())
    }

    /// Replaces a tier's provider model (deployment parameters override the file).
    pub fn with_provider_model(mut self, tier: Tier, model: &str) -> Self {
        if let Some(spec) = self.tiers.iter_mut().find(|t| t.id == tier) {
            spec.provider_model = model.trim().to_owned();
        }
        self
    }

    /// The spec of a tier; every tier has one (checked at load).
    pub fn tier(&self, tier: Tier) -> Option<&TierSpec> {
        self.tiers.iter().find(|t| t.id == tier)
    }

    /// Checks a request against the catalogue and prices it. Every rejected field is named.
    /// `style` and `quality` default to the tier's first, `count` to 1, `tags` to none.
    pub fn validate(&self, raw: RawGeneration) -> Result<GenerationRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let prompt = match raw.prompt.as_deref().map(Prompt::parse) {
            None => Err(FieldError::new("prompt", "is required")),
            Some(p) => p,
        }
        .map_err(|e| errors.push(e))
        .ok();
        let tier = match raw.model.as_deref() {
            None => Err(FieldError::new("model", "is required")),
            Some(m) => Tier::parse(m, "model"),
        }
        .map_err(|e| errors.push(e))
        .ok();
        let preset = match raw.preset.as_deref() {
            None => Err(FieldError::new("preset", "is required")),
            Some(p) => Preset::parse(p, "preset").and_then(|preset| self.offered(preset)),
        }
        .map_err(|e| errors.push(e))
        .ok();
        let tags = Tags::parse(raw.tags.as_deref().unwrap_or_default())
            .map_err(|e| errors.push(e))
            .ok();

        let spec = tier.and_then(|t| self.tier(t));
        let (style, quality) = match spec {
            Some(spec) => (
                choose(
                    &mut errors,
                    "style",
                    raw.style.as_deref(),
                    &spec.styles.iter().map(|s| s.id).collect::<Vec<_>>(),
                ),
                choose(
                    &mut errors,
                    "quality",
                    raw.quality.as_deref(),
                    &spec.qualities.iter().map(|q| q.id).collect::<Vec<_>>(),
                ),
            ),
            None => (None, None),
        };
        let count = match (raw.count.unwrap_or(1), spec) {
            (n, Some(spec)) if (1..=u64::from(spec.max_images)).contains(&n) => {
                u8::try_from(n).ok()
            }
            (_, Some(spec)) => {
                errors.push(FieldError::new(
                    "count",
                    format!("this model makes 1 to {} images", spec.max_images),
                ));
                None
            }
            (_, None) => None,
        };
        let output = spec.and_then(|spec| self.output(&mut errors, spec, preset, &raw));

        match (prompt, tier, preset, tags, style, quality, count, output) {
            (
                Some(prompt),
                Some(tier),
                Some(preset),
                Some(tags),
                Some(style),
                Some(quality),
                Some(count),
                Some(output),
            ) if errors.is_empty() => Ok(GenerationRequest {
                prompt,
                tier,
                style,
                preset,
                quality,
                count,
                tags,
                output,
            }),
            _ => Err(errors),
        }
    }

    /// The quality of a request as the tier prices it; `None` for a request this catalogue
    /// does not offer (it changed since the request was validated).
    fn quality(&self, request: &GenerationRequest) -> Option<&QualitySpec> {
        self.tier(request.tier)?
            .qualities
            .iter()
            .find(|q| q.id == request.quality)
    }

    /// `preset` if this catalogue offers it (`custom` where a tier takes custom sizes: the tier
    /// is checked with the pixels); otherwise an error naming what it offers.
    fn offered(&self, preset: Preset) -> Result<Preset, FieldError> {
        let custom = self.tiers.iter().any(|t| t.custom_size.is_some());
        if self.preset(preset).is_some() || (preset == Preset::Custom && custom) {
            return Ok(preset);
        }
        let mut names: Vec<&str> = self.presets.iter().map(|p| p.id.as_str()).collect();
        if custom {
            names.push(Preset::Custom.as_str());
        }
        Err(FieldError::new(
            "preset",
            format!("must be one of {}", names.join(", ")),
        ))
    }

    /// The finished image a request asks for of `spec`'s tier: its background and format (the
    /// tier's first by default; for a transparent background, the first format with alpha),
    /// and its pixels (the preset's, or the custom size's within the tier's limits).
    fn output(
        &self,
        errors: &mut Vec<FieldError>,
        spec: &TierSpec,
        preset: Option<Preset>,
        raw: &RawGeneration,
    ) -> Option<ImageSpec> {
        let background = choose(
            errors,
            "background",
            raw.background.map(Background::as_str),
            &spec.backgrounds,
        );
        let format = match (raw.format, background) {
            (Some(format), _) => choose(errors, "format", Some(format.as_str()), &spec.formats),
            (None, Some(Background::Transparent)) => {
                spec.formats.iter().copied().find(|f| f.has_alpha())
            }
            (None, _) => spec.formats.first().copied(),
        };
        if background == Some(Background::Transparent) && format == Some(ImageFormat::Jpeg) {
            for field in ["background", "format"] {
                errors.push(FieldError::new(
                    field,
                    "a transparent background needs format png or webp (jpeg has no alpha)",
                ));
            }
        }
        let (width, height) = self.pixels(errors, spec, preset?, raw)?;
        Some(ImageSpec {
            width,
            height,
            background: background?,
            format: format?,
        })
    }

    /// The exact pixels of a request: a listed preset's, or a custom size within the tier's
    /// limits (each side, and the longer side at most `maxRatio` times the shorter). `width`
    /// and `height` come with `preset: "custom"` and only then.
    fn pixels(
        &self,
        errors: &mut Vec<FieldError>,
        spec: &TierSpec,
        preset: Preset,
        raw: &RawGeneration,
    ) -> Option<(u32, u32)> {
        let given = [("width", raw.width), ("height", raw.height)];
        if preset != Preset::Custom {
            for (field, _) in given.iter().filter(|(_, v)| v.is_some()) {
                errors.push(FieldError::new(*field, "is only given with preset custom"));
            }
            return self.preset(preset).map(|p| (p.width, p.height));
        }
        let Some(limits) = spec.custom_size else {
            errors.push(FieldError::new("preset", "this model takes no custom size"));
            return None;
        };
        let (min, max) = (limits.min, limits.max);
        let [width, height] = given.map(|(field, value)| match value {
            None => {
                errors.push(FieldError::new(field, "is required with preset custom"));
                None
            }
            Some(v) if !(u64::from(min)..=u64::from(max)).contains(&v) => {
                errors.push(FieldError::new(field, format!("is {min} to {max} pixels")));
                None
            }
            Some(v) => u32::try_from(v).ok(),
        });
        let (width, height) = (width?, height?);
        let (long, short) = (width.max(height), width.min(height));
        if u64::from(long) > u64::from(short) * u64::from(limits.max_ratio) {
            for field in ["width", "height"] {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "the longer side is at most {} times the shorter",
                        limits.max_ratio
                    ),
                ));
            }
            return None;
        }
        Some((width, height))
    }

    /// A listed preset's spec (never `custom`).
    pub fn preset(&self, preset: Preset) -> Option<&PresetSpec> {
        self.presets.iter().find(|p| p.id == preset)
    }

    /// Credits per edited image of `tier` at `quality`; `None` where the tier makes no edits
    /// (or not at that quality).
    pub fn edit_unit_price(&self, tier: Tier, quality: Quality) -> Option<Credits> {
        self.tier(tier)?
            .edits
            .as_ref()?
            .credits
            .get(&quality)
            .copied()
    }

    /// Credits per image of a request; `None` for a request this catalogue does not price.
    pub fn unit_price(&self, request: &GenerationRequest) -> Option<Credits> {
        self.quality(request).map(|q| q.credits)
    }

    /// What the provider charges for one image of a request, in millionths of a dollar;
    /// `None` for a request this catalogue does not price.
    pub fn provider_cost_micros(&self, request: &GenerationRequest) -> Option<u64> {
        self.quality(request).map(|q| q.provider_cost_micros)
    }

    /// What the provider is asked for: the tier's model, the prompt with the style's sentence,
    /// the size nearest the preset's aspect, the quality's provider value.
    pub fn provider_request(&self, request: &GenerationRequest) -> Option<ProviderRequest> {
        let spec = self.tier(request.tier)?;
        let style = spec.styles.iter().find(|s| s.id == request.style)?;
        let quality = self.quality(request)?;
        let size = provider_size(spec, request.preset, &request.output)?;
        let prompt = if style.prompt.trim().is_empty() {
            request.prompt.as_str().to_owned()
        } else {
            format!("{}\n\n{}", request.prompt.as_str(), style.prompt.trim())
        };
        Some(ProviderRequest {
            model: spec.provider_model.clone(),
            prompt,
            size,
            quality: quality.provider_quality.clone(),
            count: request.count,
            images_per_request: spec.images_per_request,
            output_format: provider_format(spec, &request.output),
            background: request.output.background,
        })
    }
}

/// One of `offered` by its spelling, or the first when not given; otherwise an error naming
/// the field and what this tier offers.
fn choose<T: Copy + std::fmt::Display + std::str::FromStr + PartialEq>(
    errors: &mut Vec<FieldError>,
    field: &str,
    given: Option<&str>,
    offered: &[T],
) -> Option<T> {
    match given {
        None => offered.first().copied(),
        Some(g) => match g.parse::<T>() {
            Ok(value) if offered.contains(&value) => Some(value),
            _ => {
                let names: Vec<String> = offered.iter().map(ToString::to_string).collect();
                errors.push(FieldError::new(
                    field,
                    format!("this model takes {}", names.join(", ")),
                ));
                None
            }
        },
    }
}

/// What the provider is asked to return: the tier's format, but for a transparent background
/// one that keeps alpha (the request's, which has it, or PNG).
fn provider_format(spec: &TierSpec, output: &ImageSpec) -> ImageFormat {
    match output.background {
        Background::Transparent if output.format.has_alpha() => output.format,
        Background::Transparent => ImageFormat::Png,
        _ => spec.output_format,
    }
}

/// The size the provider is asked for: a listed preset's configured size; for a custom size,
/// the same aspect where the model takes custom sizes, else the configured size nearest in
/// aspect.
fn provider_size(spec: &TierSpec, preset: Preset, output: &ImageSpec) -> Option<String> {
    if preset != Preset::Custom {
        return spec.provider_sizes.get(&preset).cloned();
    }
    let (w, h) = (output.width, output.height);
    if let Some(rule) = spec.provider_custom_size {
        let (w, h) = same_aspect(rule, w, h)?;
        return Some(format!("{w}x{h}"));
    }
    let aspect = |(w, h): (u32, u32)| f64::from(w) / f64::from(h);
    let want = aspect((w, h));
    spec.provider_sizes
        .values()
        .filter_map(|s| parse_size(s).map(|size| (s, size)))
        .min_by(|a, b| {
            let off = |size| (aspect(size) / want).ln().abs();
            off(a.1).total_cmp(&off(b.1))
        })
        .map(|(s, _)| s.clone())
}

/// A size the provider takes with the aspect of `width`x`height`, as near as its multiples
/// allow: the longer side the target's (at least `minLongerSide`, so a small target is made
/// from a larger picture rather than upscaled), rounded up to a multiple, at most `max`; the
/// shorter side in proportion, rounded to the nearest multiple, then widened until the ratio
/// is within `maxRatio`.
pub fn same_aspect(rule: ProviderCustomSize, width: u32, height: u32) -> Option<(u32, u32)> {
    let m = u64::from(rule.multiple);
    let (long, short) = (u64::from(width.max(height)), u64::from(width.min(height)));
    if m == 0 || short == 0 {
        return None;
    }
    let ceiling = u64::from(rule.max) / m * m;
    let mut asked_long = (long.max(u64::from(rule.min_longer_side)).div_ceil(m) * m).min(ceiling);
    let short_for = |asked_long: u64| {
        // The nearest multiple of m to asked_long * short / long, widened to the ratio.
        let mut asked_short = ((2 * asked_long * short + long * m) / (2 * long * m) * m).max(m);
        while asked_short * u64::from(rule.max_ratio) < asked_long {
            asked_short += m;
        }
        asked_short.min(asked_long)
    };
    let mut asked_short = short_for(asked_long);
    while asked_long * asked_short > rule.max_pixels && asked_long > m {
        asked_long -= m;
        asked_short = short_for(asked_long);
    }
    if asked_long == 0 || asked_long * asked_short > rule.max_pixels {
        return None;
    }
    let (long, short) = (
        u32::try_from(asked_long).ok()?,
        u32::try_from(asked_short).ok()?,
    );
    Some(if width >= height {
        (long, short)
    } else {
        (short, long)
    })
}

/// `WIDTHxHEIGHT` as numbers.
pub fn parse_size(size: &str) -> Option<(u32, u32)> {
    let (w, h) = size.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Catalog {
        Catalog::from_json(include_str!("../../../config/models.json")).expect("the shipped file")
    }

    fn raw(model: &str, preset: &str) -> RawGeneration {
        RawGeneration {
            prompt: Some("a lighthouse at dawn".into()),
            model: Some(model.into()),
            preset: Some(preset.into()),
            ..RawGeneration::default()
        }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_shipped_catalogue_prices_tiers_as_the_design_says() {
        let c = shipped();
        let price = |model: &str, quality: &str| {
            let req = c
                .validate(RawGeneration {
                    quality: Some(quality.into()),
                    ..raw(model, "square")
                })
                .expect("valid");
            c.unit_price(&req).map(Credits::get)
        };
        assert_eq!(price("v2", "low"), Some(1));
        assert_eq!(price("v2", "medium"), Some(1));
        assert_eq!(price("v3", "medium"), Some(2));
        assert_eq!(price("v3", "high"), Some(3));
        assert_eq!(c.tier(Tier::V2).map(|t| t.max_images), Some(5));
        assert_eq!(c.tier(Tier::V3).map(|t| t.max_images), Some(1));
    }

    #[test]
    fn every_provider_size_of_the_shipped_catalogue_is_the_one_nearest_in_aspect() {
        // gpt-image-2.x sizes; "nearest" by the log of the aspect ratios.
        let supported = [(1024u32, 1024u32), (1024, 1536), (1536, 1024)];
        let aspect = |(w, h): (u32, u32)| f64::from(w) / f64::from(h);
        let c = shipped();
        for tier in &c.tiers {
            for preset in c.presets.iter().map(|p| p.id) {
                let want = aspect(preset.size().expect("a named preset"));
                let nearest = supported
                    .iter()
                    .copied()
                    .min_by(|a, b| {
                        (aspect(*a) / want)
                            .ln()
                            .abs()
                            .total_cmp(&(aspect(*b) / want).ln().abs())
                    })
                    .expect("sizes");
                let asked = parse_size(&tier.provider_sizes[&preset]);
                assert_eq!(asked, Some(nearest), "{} {preset}", tier.id);
            }
        }
    }

    #[test]
    fn defaults_fill_style_quality_count_and_tags() {
        let req = shipped().validate(raw("v3", "story")).expect("valid");
        assert_eq!(
            (req.style.as_str(), req.quality.as_str(), req.count),
            ("vivid", "medium", 1)
        );
        assert!(req.tags.is_empty());
    }

    #[test]
    fn values_the_tier_does_not_offer_are_named_in_the_errors() {
        let c = shipped();
        let err = c
            .validate(RawGeneration {
                style: Some("vivid".into()),
                quality: Some("high".into()),
                count: Some(6),
                ..raw("v2", "square")
            })
            .expect_err("v2 has no vivid, no high, at most five");
        assert_eq!(fields(err), ["style", "quality", "count"]);
        let err = c
            .validate(RawGeneration {
                count: Some(2),
                ..raw("v3", "square")
            })
            .expect_err("v3 makes one");
        assert_eq!(fields(err), ["count"]);
        let err = c
            .validate(RawGeneration {
                count: Some(0),
                ..raw("v2", "square")
            })
            .expect_err("zero images");
        assert_eq!(fields(err), ["count"]);
    }

    #[test]
    fn missing_and_unknown_values_are_all_reported_at_once() {
        let err = shipped()
            .validate(RawGeneration {
                prompt: Some("   ".into()),
                model: Some("v4".into()),
                preset: Some("banner".into()),
                tags: Some(vec!["two words".into()]),
                ..RawGeneration::default()
            })
            .expect_err("nothing is right");
        assert_eq!(fields(err), ["prompt", "model", "preset", "tags"]);
        let err = shipped()
            .validate(RawGeneration::default())
            .expect_err("empty");
        assert_eq!(fields(err), ["prompt", "model", "preset"]);
    }

    #[test]
    fn the_provider_is_asked_for_the_tier_model_and_the_style_as_words() {
        let c = shipped().with_provider_model(Tier::V3, "gpt-image-9");
        let req = c
            .validate(RawGeneration {
                style: Some("natural".into()),
                quality: Some("high".into()),
                ..raw("v3", "landscape")
            })
            .expect("valid");
        let asked = c.provider_request(&req).expect("priced");
        assert_eq!(asked.model, "gpt-image-9");
        assert_eq!(asked.size, "1536x1024");
        assert_eq!(asked.quality, "high");
        assert!(
            asked
                .prompt
                .starts_with("a lighthouse at dawn\n\nStyle: natural")
        );
        let plain = c.provider_request(&c.validate(raw("v2", "square")).expect("valid"));
        assert_eq!(
            plain.map(|p| p.prompt),
            Some("a lighthouse at dawn".to_owned())
        );
    }

    #[test]
    fn a_catalogue_that_breaks_a_rule_is_refused_at_load() {
        let good: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/models.json")).expect("json");
        let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            edit(&mut v);
            Catalog::from_json(&v.to_string()).is_err()
        };
        assert!(!broken(&|_| {}));
        assert!(broken(&|v| v["presets"][0]["width"] = 5000.into()));
        assert!(broken(&|v| v["presets"][1]["id"] = "square".into()));
        assert!(broken(&|v| v["presets"][1]["id"] = "custom".into()));
        assert!(broken(&|v| v["presets"] = serde_json::json!([])));
        assert!(broken(&|v| {
            v["tiers"][0]["providerSizes"]
                .as_object_mut()
                .map(|s| s.remove("x_post"));
        }));
        assert!(broken(&|v| v["tiers"][1]["id"] = "v2".into()));
        assert!(broken(
            &|v| v["tiers"][0]["qualities"] = serde_json::json!([])
        ));
        assert!(broken(&|v| v["tiers"][0]["maxImages"] = 0.into()));
        assert!(broken(
            &|v| v["tiers"][0]["providerSizes"]["story"] = "big".into()
        ));
        assert!(broken(&|v| v["tiers"][0]["colour"] = "red".into()));
        assert!(broken(&|v| v["tiers"][0]["outputFormat"] = "jpg".into()));
        assert!(broken(
            &|v| v["tiers"][1]["styles"][0]["id"] = "sepia".into()
        ));
        assert!(broken(
            &|v| v["tiers"][0]["qualities"][0]["credits"] = 0.into()
        ));
        assert!(broken(
            &|v| v["tiers"][0]["qualities"][0]["credits"] = 1001.into()
        ));
        // The spend cap needs every image priced: no cost, zero, negative or absurd is refused.
        assert!(broken(&|v| {
            v["tiers"][0]["qualities"][0]
                .as_object_mut()
                .map(|q| q.remove("providerCostUsd"));
        }));
        for cost in [0.0, -0.01, 5000.0] {
            assert!(broken(
                &|v| v["tiers"][1]["qualities"][1]["providerCostUsd"] = cost.into()
            ));
        }
    }

    #[test]
    fn the_shipped_catalogue_defaults_to_the_gpt_image_2_6_family_with_the_new_presets() {
        let c = shipped();
        let model = |t| c.tier(t).map(|s| s.provider_model.as_str());
        assert_eq!(model(Tier::V2), Some("gpt-image-2.6-flare"));
        assert_eq!(model(Tier::V3), Some("gpt-image-2.6-sunburst"));
        let size = |p| c.preset(p).map(|s| (s.width, s.height));
        assert_eq!(size(Preset::XPost), Some((1600, 900)));
        assert_eq!(size(Preset::PinterestPin), Some((1000, 1500)));
        assert_eq!(size(Preset::LinkedinPost), Some((1200, 627)));
        assert_eq!(
            size(Preset::Custom),
            None,
            "custom is offered by customSize"
        );
    }

    fn studio(background: Option<Background>, format: Option<ImageFormat>) -> RawGeneration {
        RawGeneration {
            background,
            format,
            ..raw("v2", "square")
        }
    }

    fn custom(model: &str, width: u64, height: u64) -> RawGeneration {
        RawGeneration {
            width: Some(width),
            height: Some(height),
            ..raw(model, "custom")
        }
    }

    #[test]
    fn background_and_format_default_to_auto_and_jpeg_and_transparent_defaults_to_png() {
        let c = shipped();
        let out = |r| {
            c.validate(r)
                .map(|q| (q.output.background, q.output.format))
        };
        assert_eq!(
            out(studio(None, None)),
            Ok((Background::Auto, ImageFormat::Jpeg))
        );
        assert_eq!(
            out(studio(Some(Background::Transparent), None)),
            Ok((Background::Transparent, ImageFormat::Webp)),
            "the tier's first format with alpha"
        );
        assert_eq!(
            out(studio(Some(Background::Opaque), Some(ImageFormat::Png))),
            Ok((Background::Opaque, ImageFormat::Png))
        );
        assert_eq!(
            out(studio(
                Some(Background::Transparent),
                Some(ImageFormat::Png)
            )),
            Ok((Background::Transparent, ImageFormat::Png))
        );
    }

    #[test]
    fn transparent_with_jpeg_is_refused_naming_both_fields() {
        let err = shipped()
            .validate(studio(
                Some(Background::Transparent),
                Some(ImageFormat::Jpeg),
            ))
            .expect_err("jpeg has no alpha");
        assert_eq!(fields(err), ["background", "format"]);
    }

    #[test]
    fn a_background_or_format_the_tier_does_not_offer_is_refused() {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/models.json")).expect("json");
        v["tiers"][0]["backgrounds"] = serde_json::json!(["auto", "opaque"]);
        v["tiers"][0]["formats"] = serde_json::json!(["jpeg"]);
        let c = Catalog::from_json(&v.to_string()).expect("valid");
        let err = c
            .validate(studio(
                Some(Background::Transparent),
                Some(ImageFormat::Webp),
            ))
            .expect_err("not offered");
        assert_eq!(fields(err), ["background", "format"]);
    }

    #[test]
    fn a_custom_size_gives_exactly_its_pixels_within_the_limits() {
        let c = shipped();
        let size = |w, h| {
            c.validate(custom("v3", w, h))
                .map(|r| (r.output.width, r.output.height))
                .map_err(fields)
        };
        assert_eq!(size(1000, 777), Ok((1000, 777)));
        assert_eq!(size(256, 768), Ok((256, 768)), "exactly 3:1");
        assert_eq!(size(3840, 1280), Ok((3840, 1280)));
        assert_eq!(size(3841, 2000), Err(vec!["width".to_owned()]));
        assert_eq!(size(1000, 255), Err(vec!["height".to_owned()]));
        assert_eq!(
            size(0, 99_999_999_999),
            Err(vec!["width".to_owned(), "height".to_owned()])
        );
        assert_eq!(
            size(256, 769),
            Err(vec!["width".to_owned(), "height".to_owned()]),
            "over 3:1 names both"
        );
        assert_eq!(
            size(3840, 1279),
            Err(vec!["width".to_owned(), "height".to_owned()])
        );
    }

    #[test]
    fn a_custom_size_needs_both_sides_and_a_named_preset_takes_neither() {
        let c = shipped();
        let err = c
            .validate(RawGeneration {
                width: Some(800),
                ..raw("v2", "custom")
            })
            .expect_err("no height");
        assert_eq!(fields(err), ["height"]);
        let err = c
            .validate(RawGeneration {
                width: Some(800),
                height: Some(800),
                ..raw("v2", "square")
            })
            .expect_err("square has its own pixels");
        assert_eq!(fields(err), ["width", "height"]);
        let square = c.validate(raw("v2", "pinterest_pin")).expect("valid");
        assert_eq!((square.output.width, square.output.height), (1000, 1500));
    }

    #[test]
    fn a_tier_without_custom_sizes_refuses_preset_custom() {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/models.json")).expect("json");
        v["tiers"][0]
            .as_object_mut()
            .map(|t| t.remove("customSize"));
        let c = Catalog::from_json(&v.to_string()).expect("valid");
        let err = c.validate(custom("v2", 800, 600)).expect_err("v2 has none");
        assert_eq!(fields(err), ["preset"]);
        assert!(c.validate(custom("v3", 800, 600)).is_ok());
    }

    #[test]
    fn the_provider_is_asked_for_the_custom_aspect_in_multiples_of_16_within_its_limits() {
        let rule = ProviderCustomSize {
            multiple: 16,
            max: 3840,
            max_ratio: 3,
            min_longer_side: 1024,
            max_pixels: 3840 * 2160,
        };
        let cases = [
            ((1000, 777), (1024, 800)),
            ((256, 256), (1024, 1024)),
            ((3840, 1280), (3840, 1280)),
            ((1280, 3840), (1280, 3840)),
            ((1000, 3000), (1008, 3008)),
            ((768, 256), (1024, 352)),
            ((3000, 2999), (2880, 2880)),
            ((3840, 3840), (2880, 2880)),
            ((3840, 2160), (3840, 2160)),
            ((1920, 1080), (1920, 1088)),
        ];
        for ((w, h), asked) in cases {
            let got = same_aspect(rule, w, h).expect("a size");
            assert_eq!(got, asked, "{w}x{h}");
            let (gw, gh) = got;
            assert!(gw % 16 == 0 && gh % 16 == 0 && gw <= 3840 && gh <= 3840);
            assert!(gw.max(gh) <= 3 * gw.min(gh), "{w}x{h}");
            assert!(u64::from(gw) * u64::from(gh) <= 3840 * 2160, "{w}x{h}");
        }
        let c = shipped();
        let asked = c
            .provider_request(&c.validate(custom("v2", 1920, 1080)).expect("valid"))
            .expect("priced");
        assert_eq!(asked.size, "1920x1088");
    }

    #[test]
    fn without_provider_custom_sizes_a_custom_size_asks_for_the_nearest_configured_one() {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/models.json")).expect("json");
        v["tiers"][0]
            .as_object_mut()
            .map(|t| t.remove("providerCustomSize"));
        let c = Catalog::from_json(&v.to_string()).expect("valid");
        let size = |w, h| {
            c.provider_request(&c.validate(custom("v2", w, h)).expect("valid"))
                .map(|p| p.size)
        };
        assert_eq!(size(1920, 1080).as_deref(), Some("1536x1024"));
        assert_eq!(size(900, 2700).as_deref(), Some("1024x1536"));
        assert_eq!(size(1000, 1000).as_deref(), Some("1024x1024"));
    }

    #[test]
    fn the_provider_is_asked_for_the_background_and_a_format_with_alpha_when_transparent() {
        let c = shipped();
        let asked = |b, f| {
            c.provider_request(&c.validate(studio(b, f)).expect("valid"))
                .map(|p| (p.background, p.output_format))
        };
        assert_eq!(
            asked(None, None),
            Some((Background::Auto, ImageFormat::Png)),
            "the tier's format"
        );
        assert_eq!(
            asked(Some(Background::Opaque), Some(ImageFormat::Webp)),
            Some((Background::Opaque, ImageFormat::Png))
        );
        assert_eq!(
            asked(Some(Background::Transparent), Some(ImageFormat::Webp)),
            Some((Background::Transparent, ImageFormat::Webp))
        );
        assert_eq!(
            asked(Some(Background::Transparent), Some(ImageFormat::Png)),
            Some((Background::Transparent, ImageFormat::Png))
        );
    }

    #[test]
    fn a_preset_the_catalogue_does_not_list_is_refused_naming_what_it_offers() {
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/models.json")).expect("json");
        if let Some(presets) = v["presets"].as_array_mut() {
            presets.retain(|p| p["id"] != "x_post");
        }
        let c = Catalog::from_json(&v.to_string()).expect("fewer presets are fine");
        let err = c.validate(raw("v2", "x_post")).expect_err("not offered");
        assert_eq!(err[0].field, "preset");
        assert!(!err[0].message.contains("x_post"), "{}", err[0].message);
        assert!(shipped().validate(raw("v2", "x_post")).is_ok());
    }

    #[test]
    fn edits_are_priced_per_tier_and_quality_from_the_catalogue() {
        let c = shipped();
        let price = |t, q| c.edit_unit_price(t, q).map(Credits::get);
        assert_eq!(price(Tier::V2, Quality::Low), Some(2));
        assert_eq!(price(Tier::V2, Quality::Medium), Some(2));
        assert_eq!(price(Tier::V3, Quality::Medium), Some(3));
        assert_eq!(price(Tier::V3, Quality::High), Some(4));
        assert_eq!(price(Tier::V2, Quality::High), None, "v2 has no high");
        let no_edits = |v: &mut serde_json::Value| {
            v["tiers"][0].as_object_mut().map(|t| t.remove("edits"));
        };
        let mut v: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/models.json")).expect("json");
        no_edits(&mut v);
        let c = Catalog::from_json(&v.to_string()).expect("a tier may make no edits");
        assert_eq!(c.edit_unit_price(Tier::V2, Quality::Low), None);
    }

    #[test]
    fn a_studio_entry_that_breaks_a_rule_is_refused_at_load() {
        let good: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/models.json")).expect("json");
        let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            edit(&mut v);
            Catalog::from_json(&v.to_string()).is_err()
        };
        let t = |v: &mut serde_json::Value, field: &str, value: serde_json::Value| {
            v["tiers"][0][field] = value;
        };
        use serde_json::json;
        assert!(broken(&|v| t(v, "backgrounds", json!([]))));
        assert!(broken(&|v| t(v, "formats", json!([]))));
        assert!(broken(&|v| t(v, "formats", json!(["jpeg", "jpeg"]))));
        assert!(broken(&|v| t(v, "backgrounds", json!(["clear"]))));
        // Transparent needs a format that keeps alpha.
        assert!(broken(&|v| t(v, "formats", json!(["jpeg"]))));
        assert!(!broken(&|v| {
            t(v, "formats", json!(["jpeg"]));
            t(v, "backgrounds", json!(["auto", "opaque"]));
        }));
        assert!(broken(&|v| t(
            v,
            "customSize",
            json!({"min": 512, "max": 256, "maxRatio": 3})
        )));
        assert!(broken(&|v| t(
            v,
            "customSize",
            json!({"min": 256, "max": 4096, "maxRatio": 3})
        )));
        assert!(broken(&|v| t(
            v,
            "customSize",
            json!({"min": 256, "max": 3840, "maxRatio": 0})
        )));
        assert!(broken(&|v| t(
            v,
            "providerCustomSize",
            json!({"multiple": 0, "max": 3840, "maxRatio": 3, "minLongerSide": 1024, "maxPixels": 8294400})
        )));
        assert!(broken(&|v| v["tiers"][0]["edits"]["maxSources"] = 17.into()));
        assert!(broken(&|v| v["tiers"][0]["edits"]["maxSources"] = 0.into()));
        assert!(broken(
            &|v| v["tiers"][0]["edits"]["credits"] = json!({"low": 1})
        ));
        assert!(broken(
            &|v| v["tiers"][0]["edits"]["credits"] = json!({"low": 1, "medium": 1, "high": 1})
        ));
        assert!(broken(
            &|v| v["tiers"][0]["edits"]["credits"] = json!({"low": 0, "medium": 1})
        ));
    }

    #[test]
    fn provider_costs_are_read_in_millionths_of_a_dollar() {
        let catalog = shipped();
        let costs: Vec<u64> = catalog
            .tiers
            .iter()
            .flat_map(|t| t.qualities.iter().map(|q| q.provider_cost_micros))
            .collect();
        assert_eq!(costs, [16_000, 63_000, 63_000, 250_000]);
    }
}
