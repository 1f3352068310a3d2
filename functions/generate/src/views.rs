//! The job object as the API answers it (DESIGN §2).

use std::collections::{BTreeMap, HashSet};

use artforge_domain::{
    Background, Catalog, Image, ImageFiles, ImageFormat, ImageId, Job, JobErrorCode, JobStatus,
    Preset, Quality, Style, Tier,
    edit::SourceRef,
    preview::{MAX_PREVIEWS, preview_key},
};
use artforge_http::{
    ApiError,
    views::{Detail, ImageView, view},
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

/// One quality of a tier and what an image of it costs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QualityView {
    pub id: Quality,
    pub name: String,
    /// Credits per image.
    pub credits: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StyleView {
    pub id: Style,
    pub name: String,
}

/// A model tier as clients show it; the provider's model behind it is not shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierView {
    pub id: Tier,
    pub name: String,
    pub description: String,
    /// The most images one job of this tier makes.
    pub max_images: u8,
    pub qualities: Vec<QualityView>,
    pub styles: Vec<StyleView>,
    /// The backgrounds a request may ask for; the first is the default.
    pub backgrounds: Vec<Background>,
    /// The formats of the sized image and the thumbnail; the first is the default (for a
    /// transparent background, the first that keeps alpha).
    pub formats: Vec<ImageFormat>,
    /// The limits of `preset: "custom"`; absent where the tier takes no custom size.
    pub custom_size: Option<CustomSizeView>,
    /// What an edit takes and costs; absent where the tier makes no edits.
    pub edits: Option<EditsView>,
}

/// The pixels `preset: "custom"` may ask for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomSizeView {
    /// The least pixels of a side.
    pub min: u32,
    /// The most pixels of a side.
    pub max: u32,
    /// The longer side is at most this many times the shorter.
    pub max_ratio: u32,
}

/// What an edit of a tier takes, and its credits per image by quality.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditsView {
    /// The most source images of one edit.
    pub max_sources: u8,
    /// Whether an edit takes a mask for its first source.
    pub mask: bool,
    /// Credits per edited image, by quality id.
    pub credits: BTreeMap<Quality, u64>,
}

/// A size preset as clients show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresetView {
    pub id: Preset,
    pub name: String,
    pub platforms: Vec<String>,
    pub width: u32,
    pub height: u32,
}

/// `GET /models`: what a client needs to build its form, without the provider's side.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CatalogView {
    pub tiers: Vec<TierView>,
    pub presets: Vec<PresetView>,
}

impl From<&Catalog> for CatalogView {
    fn from(catalog: &Catalog) -> Self {
        Self {
            tiers: catalog
                .tiers
                .iter()
                .map(|t| TierView {
                    id: t.id,
                    name: t.name.clone(),
                    description: t.description.clone(),
                    max_images: t.max_images,
                    qualities: t
                        .qualities
                        .iter()
                        .map(|q| QualityView {
                            id: q.id,
                            name: q.name.clone(),
                            credits: q.credits.get(),
                        })
                        .collect(),
                    styles: t
                        .styles
                        .iter()
                        .map(|s| StyleView {
                            id: s.id,
                            name: s.name.clone(),
                        })
                        .collect(),
                    backgrounds: t.backgrounds.clone(),
                    formats: t.formats.clone(),
                    custom_size: t.custom_size.map(|c| CustomSizeView {
                        min: c.min,
                        max: c.max,
                        max_ratio: c.max_ratio,
                    }),
                    edits: t.edits.as_ref().map(|e| EditsView {
                        max_sources: e.max_sources,
                        mask: e.mask,
                        credits: e.credits.iter().map(|(q, c)| (*q, c.get())).collect(),
                    }),
                })
                .collect(),
            presets: catalog
                .presets
                .iter()
                .map(|p| PresetView {
                    id: p.id,
                    name: p.name.clone(),
                    platforms: p.platforms.clone(),
                    width: p.width,
                    height: p.height,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub prompt: String,
    pub model: Tier,
    pub style: Style,
    pub preset: Preset,
    pub quality: Quality,
    pub count: u8,
    pub tags: Vec<String>,
    /// The finished image's exact pixels.
    pub width: u32,
    pub height: u32,
    pub background: Background,
    /// The sized image's and thumbnail's format.
    pub format: ImageFormat,
    /// An edit's sources as asked for (empty for a generation); the first is the one edited.
    pub sources: Vec<SourceView>,
    /// Whether the edit has a mask.
    pub mask: bool,
    /// The image remixed, or null.
    pub remix_of: Option<String>,
}

/// A source as it was asked for: `{"image": id}` or `{"upload": id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SourceView {
    Image(String),
    Upload(String),
}

impl From<SourceRef> for SourceView {
    fn from(source: SourceRef) -> Self {
        match source {
            SourceRef::Image(id) => Self::Image(id.to_string()),
            SourceRef::Upload(id) => Self::Upload(id.to_string()),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorView {
    pub code: JobErrorCode,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    pub status: JobStatus,
    pub request: RequestView,
    pub cost: u64,
    pub refunded: u64,
    /// The finished images (still existing), in the order they were made.
    pub images: Vec<ImageView>,
    /// While the job runs: presigned URLs of the partial images streamed so far (small JPEGs,
    /// coarse to fine), for a client to show the picture forming; empty otherwise.
    pub previews: Vec<String>,
    pub error: Option<ErrorView>,
    pub created_at: String,
    pub updated_at: String,
}

/// The view of `job`, with `images` (the job's images that still exist) presigned and `liked`
/// the ones among them the owner likes.
pub async fn job_view<F: ImageFiles>(
    files: &F,
    base: &str,
    job: &Job,
    images: &[Image],
    liked: &HashSet<ImageId>,
) -> Result<JobView, ApiError> {
    let r = &job.request;
    let mut views = Vec::with_capacity(images.len());
    for image in images {
        let detail = Detail {
            viewer: Some(job.owner),
            liked_by_me: liked.contains(&image.id),
            with_original: true,
        };
        views.push(view(files, base, image, detail).await?);
    }
    let mut previews = Vec::new();
    if job.status == JobStatus::Running {
        for n in 0..job.previews.min(MAX_PREVIEWS) {
            let key = preview_key(job.owner, job.id, n);
            previews.push(files.url(&key, None).await?);
        }
    }
    let time = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    Ok(JobView {
        id: job.id.to_string(),
        status: job.status,
        request: RequestView {
            prompt: r.prompt.as_str().to_owned(),
            model: r.tier,
            style: r.style,
            preset: r.preset,
            quality: r.quality,
            count: r.count,
            tags: r.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            width: r.output.width,
            height: r.output.height,
            background: r.output.background,
            format: r.output.format,
            sources: job
                .inputs
                .edit
                .iter()
                .flat_map(|e| e.refs.iter().copied().map(SourceView::from))
                .collect(),
            mask: job.inputs.edit.as_ref().is_some_and(|e| e.mask.is_some()),
            remix_of: job.inputs.remix_of.map(|id| id.to_string()),
        },
        cost: job.cost.get(),
        refunded: job.refunded.get(),
        images: views,
        previews,
        error: job.error.as_ref().map(|e| ErrorView {
            code: e.code,
            message: e.message.clone(),
        }),
        created_at: time(job.created_at),
        updated_at: time(job.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use artforge_domain::{
        Credits, JobError, JobErrorCode, Quality, Style, Tags, UserId,
        generation::{GenerationRequest, Prompt},
    };
    use artforge_fakes::{MemoryFiles, contract::image};

    use super::*;

    #[tokio::test]
    async fn a_job_view_shows_the_error_code_the_refund_and_only_its_existing_images() {
        let owner = UserId::new();
        let request = GenerationRequest {
            prompt: Prompt::parse("a lighthouse").expect("a prompt"),
            tier: Tier::V2,
            style: Style::Natural,
            preset: Preset::Story,
            quality: Quality::Low,
            count: 2,
            tags: Tags::default(),
            output: artforge_domain::ImageSpec::of_preset(Preset::Story).expect("named"),
        };
        let mut job = Job::new(
            owner,
            request,
            Credits::new(1),
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .expect("priced");
        let kept = Image {
            id: job.slots[0],
            job: job.id,
            ..image(owner, Preset::Story, &[])
        };
        job.status = JobStatus::Succeeded;
        job.images = job.slots.clone();
        job.refunded = Credits::new(1);
        job.error = Some(JobError::new(
            JobErrorCode::GenerationFailed,
            "one image failed",
        ));
        let liked = HashSet::from([kept.id]);
        let view = job_view(
            &MemoryFiles::new(),
            "https://a.example",
            &job,
            &[kept],
            &liked,
        )
        .await
        .expect("a view");
        let json = serde_json::to_value(&view).expect("serialises");
        assert_eq!(json["status"], "succeeded");
        assert_eq!(
            (json["cost"].as_u64(), json["refunded"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(json["error"]["code"], "generation_failed");
        assert_eq!(json["request"]["style"], "natural");
        assert_eq!(
            json["images"].as_array().map(Vec::len),
            Some(1),
            "a deleted image is gone"
        );
        assert_eq!(json["images"][0]["likedByMe"], true);
        assert!(
            json["images"][0]["urls"]["original"].is_string(),
            "a job's images carry originals"
        );
    }

    #[tokio::test]
    async fn a_running_job_shows_its_previews_and_a_finished_one_none() {
        let owner = UserId::new();
        let request = GenerationRequest {
            prompt: Prompt::parse("a forming nebula").expect("a prompt"),
            tier: Tier::V3,
            style: Style::Vivid,
            preset: Preset::Square,
            quality: Quality::High,
            count: 1,
            tags: Tags::default(),
            output: artforge_domain::ImageSpec::of_preset(Preset::Square).expect("a named preset"),
        };
        let mut job = Job::new(
            owner,
            request,
            Credits::new(3),
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .expect("priced");
        job.status = JobStatus::Running;
        job.previews = 2;
        let files = MemoryFiles::new();
        let base = "https://a.example";
        let none = HashSet::new();
        let running = job_view(&files, base, &job, &[], &none)
            .await
            .expect("a view");
        let json = serde_json::to_value(&running).expect("serialises");
        assert_eq!(
            json["previews"],
            serde_json::json!([
                format!("memory://previews/{owner}/{}/0", job.id),
                format!("memory://previews/{owner}/{}/1", job.id)
            ])
        );
        job.status = JobStatus::Succeeded;
        let done = job_view(&files, base, &job, &[], &none)
            .await
            .expect("a view");
        assert!(done.previews.is_empty());
    }

    fn shipped() -> Catalog {
        Catalog::from_json(crate::config::SHIPPED_CATALOG).expect("the shipped catalogue")
    }

    #[test]
    fn the_public_catalogue_shows_prices_but_not_the_provider_side() {
        let json = serde_json::to_string(&CatalogView::from(&shipped())).expect("serialises");
        for hidden in [
            "gpt-image",
            "providerCost",
            "providerSizes",
            "imagesPerRequest",
            "prompt",
        ] {
            assert!(!json.contains(hidden), "{hidden} in {json}");
        }
        assert!(json.contains("\"maxImages\":5"), "{json}");
        assert!(json.contains("\"id\":\"vivid\""), "{json}");
        assert!(json.contains("\"credits\":3"), "{json}");
    }

    #[test]
    fn every_tier_shows_backgrounds_formats_custom_size_limits_and_edits() {
        let json = serde_json::to_value(CatalogView::from(&shipped())).expect("serialises");
        for tier in json["tiers"].as_array().expect("tiers") {
            assert_eq!(
                tier["backgrounds"],
                serde_json::json!(["auto", "opaque", "transparent"])
            );
            assert_eq!(tier["formats"], serde_json::json!(["jpeg", "webp", "png"]));
            assert_eq!(
                tier["customSize"],
                serde_json::json!({"min": 256, "max": 3840, "maxRatio": 3})
            );
            assert_eq!(tier["edits"]["maxSources"], 16);
            assert_eq!(tier["edits"]["mask"], true);
        }
        assert_eq!(
            json["tiers"][1]["edits"]["credits"],
            serde_json::json!({"medium": 3, "high": 4})
        );
        let presets: Vec<&str> = json["presets"]
            .as_array()
            .expect("presets")
            .iter()
            .filter_map(|p| p["id"].as_str())
            .collect();
        assert_eq!(
            presets,
            [
                "square",
                "portrait",
                "story",
                "landscape",
                "x_post",
                "pinterest_pin",
                "linkedin_post"
            ]
        );
    }
}
