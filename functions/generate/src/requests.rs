//! What clients send to the generation API: the body of `POST /generations`, as the serde
//! shape `artforge_http`'s `Json` extractor parses (unknown fields refused). The catalogue
//! checks its values.

use artforge_domain::{
    Background, ImageFormat, RawGeneration,
    edit::{RawInputs, RawSource},
};
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
    /// Makes the job an edit of these images (1 to the tier's `edits.maxSources`, at most 16):
    /// the first is the one edited, the others are references.
    pub sources: Option<Vec<SourceBody>>,
    /// A PNG upload of the first source's pixel size; its transparent pixels mark where to
    /// edit.
    pub mask: Option<SourceBody>,
    /// The id of an own or public image this one remixes (shown as its lineage).
    pub remix_of: Option<String>,
}

/// An edit's source: an own or public image, or an own upload (`POST /uploads`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum SourceBody {
    /// An image's id.
    Image(String),
    /// An upload's id.
    Upload(String),
}

impl From<SourceBody> for RawSource {
    fn from(body: SourceBody) -> Self {
        match body {
            SourceBody::Image(id) => Self::Image(id),
            SourceBody::Upload(id) => Self::Upload(id),
        }
    }
}

/// The body of `POST /uploads`: the type and exact length of the file to send.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"contentType": "image/png", "size": 482113}))]
pub struct UploadBody {
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub content_type: Option<String>,
    /// The file's exact length in bytes, 1 to 20 MiB.
    pub size: Option<u64>,
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
            inputs: RawInputs {
                sources: b
                    .sources
                    .map(|list| list.into_iter().map(RawSource::from).collect()),
                mask: b.mask.map(RawSource::from),
                remix_of: b.remix_of,
            },
        }
    }
}
