//! The job object as the API answers it (DESIGN §2).

use std::collections::HashSet;

use artforge_domain::{
    Catalog, Image, ImageFiles, ImageId, Job, JobErrorCode, JobStatus, Preset, Quality, Style,
    Tier,
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
}
