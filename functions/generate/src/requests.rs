//! What clients send to the generation API: the body of `POST /generations`, as the serde
//! shape `artforge_http`'s `Json` extractor parses (unknown fields refused). The catalogue
//! checks its values.

use artforge_domain::{Background, ImageFormat, RawGeneration};
use serde::Deserialize;

/// The body of `POST /generations`; missing fields are reported by the catalogue's check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"prompt": "a lighthouse at dawn, fog over the sea", "model": "v2",
    "style": "natural", "preset": "square", "quality": "low", "count": 1, "tags": ["sea"]}))]
pub struct GenerationBody {
    pub prompt: Option<String>,
    pub model: Option<String>,
    pub style: Option<String>,
    pub preset: Option<String>,
    pub quality: Option<String>,
    pub count: Option<u64>,
    pub tags: Option<Vec<String>>,
    /// `auto` (default), `opaque` or `transparent` (needs `png` or `webp`).
    pub background: Option<Background>,
    /// The sized image's and thumbnail's format: `jpeg` (default; `png` or `webp`'s first the
    /// tier offers for a transparent background).
    pub format: Option<ImageFormat>,
    /// With `preset: "custom"` only: the exact width in pixels (the longer side at most 3x the
    /// shorter).
    #[schema(minimum = 256, maximum = 3840)]
    pub width: Option<u64>,
    /// With `preset: "custom"` only: the exact height in pixels.
    #[schema(minimum = 256, maximum = 3840)]
    pub height: Option<u64>,
}

impl From<GenerationBody> for RawGeneration {
    fn from(b: GenerationBody) -> Self {
        Self {
            prompt: b.prompt,
            model: b.model,
            style: b.style,
            preset: b.preset,
            quality: b.quality,
            count: b.count,
            tags: b.tags,
            background: b.background,
            format: b.format,
            width: b.width,
            height: b.height,
        }
    }
}
