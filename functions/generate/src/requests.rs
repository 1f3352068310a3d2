//! What clients send to the generation API: the body of `POST /generations`, as the serde
//! shape `artforge_http`'s `Json` extractor parses (unknown fields refused). The catalogue
//! checks its values.

use artforge_domain::RawGeneration;
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
        }
    }
}
