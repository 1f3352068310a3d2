//! The job object as the API answers it (DESIGN §2).

use std::collections::HashSet;

use artforge_domain::{Image, ImageFiles, ImageId, Job};
use artforge_http::{
    ApiError,
    views::{Detail, ImageView, view},
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub prompt: String,
    pub model: &'static str,
    pub style: String,
    pub preset: &'static str,
    pub quality: String,
    pub count: u8,
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorView {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    pub status: &'static str,
    pub request: RequestView,
    pub cost: u64,
    pub refunded: u64,
    /// The finished images (still existing), in the order they were made.
    pub images: Vec<ImageView>,
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
    let time = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    Ok(JobView {
        id: job.id.to_string(),
        status: job.status.as_str(),
        request: RequestView {
            prompt: r.prompt.as_str().to_owned(),
            model: r.tier.as_str(),
            style: r.style.clone(),
            preset: r.preset.as_str(),
            quality: r.quality.clone(),
            count: r.count,
            tags: r.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        },
        cost: job.cost().get(),
        refunded: job.refunded.get(),
        images: views,
        error: job.error.as_ref().map(|e| ErrorView {
            code: e.code.as_str(),
            message: e.message.clone(),
        }),
        created_at: time(job.created_at),
        updated_at: time(job.updated_at),
    })
}
