//! The generation API's handlers: the public catalogue, submitting a job, and the owner's jobs.

use std::collections::{HashMap, HashSet};

use artforge_domain::{
    Image, ImageId, Images, Job, JobId, JobStatus, Jobs, Likes, LimitReached, UserId,
    edit::UploadMethod, generation::IdempotencyKey,
};
use artforge_http::{
    ApiError, ErrorCode, Json, Query, SignedIn,
    client::{ClientIp, admit_paid},
    problem::ProblemBody,
    query::{Listing, PageParams},
};
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::instrument;

use crate::{
    Api,
    requests::{GenerationBody, UploadBody},
    usecases::{submit::Refusal, uploads::UploadRefusal},
    views::{CatalogView, JobView, job_view},
};

const JOBS_LIST: &str = "jobs";

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such job")
}

/// `GET /models`: the catalogue a client builds its form from (public, cacheable).
#[utoipa::path(get, path = "/models", tag = "generate", operation_id = "listModels",
    responses((status = 200, description = "The model tiers with their qualities, styles and prices, and the size presets.", body = CatalogView)))]
pub async fn models(State(app): State<Api>) -> Response {
    let mut response = Json(CatalogView::from(app.catalog())).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    job: JobView,
    credits: u64,
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = raw.to_str().map_err(|_| {
        artforge_domain::FieldError::new("Idempotency-Key", "is 1 to 128 visible ASCII characters")
    })?;
    Ok(Some(IdempotencyKey::parse(text)?))
}

/// `POST /generations`: check and price the request, debit it with the job in one
/// transaction, queue the job, answer 202 with the job and the balance. A repeated
/// `Idempotency-Key` answers the first job and charges nothing.
#[utoipa::path(post, path = "/generations", tag = "generate", operation_id = "createGeneration", security(("bearer" = []), ("cookie" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,128}$", description = "Makes a retry safe: the same key and body answer the first job and charge nothing (1 to 128 visible ASCII characters).")),
    request_body = GenerationBody,
    responses(
        (status = 202, description = "Accepted and charged: the job (queued) and the balance left. `Location` names the job.", body = Accepted,
            headers(("Location" = String, description = "The job's path.")),
            links(("GetGeneration" = (operation_id = "getGeneration", parameters(("id" = "$response.body#/job/id")))))),
        (status = 402, description = "insufficient_credits: the balance does not cover the job.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "not_found: a source or the remixed image is not the caller's and not public (the detail names the field).", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: a field is missing or not in the catalogue; content_policy_violation: the prompt is refused; idempotency_key_reused: the key came with another body; upload_invalid: an upload is missing, expired, over 20 MiB, not an image of its declared type or over 4096 px a side; mask_mismatch: the mask is not the first source's pixel size. Each names the field.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "daily_quota_exceeded: the daily image quota is used up (`Retry-After` = next UTC midnight); rate_limited: too many paid requests from this user or client address this minute (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "generation_paused: the service's daily budget is spent; service_unavailable: try again.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user, job_id))]
pub async fn create(
    State(app): State<Api>,
    caller: SignedIn,
    ClientIp(from): ClientIp,
    headers: HeaderMap,
    Json(body): Json<GenerationBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    admit_paid(&app.paid, caller.user, from).await?;
    let submission = app
        .generations
        .submit(caller.user, body.into(), key, OffsetDateTime::now_utc())
        .await
        .map_err(refused)?;
    let job = &submission.job;
    tracing::Span::current().record("job_id", tracing::field::display(job.id));
    let view = view_of(&app, job).await?;
    let mut response = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            job: view,
            credits: submission.balance.get(),
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/generations/{}", job.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if submission.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A refused submission as the API answers it. The daily quota is the user's own (429); the
/// budget is the service's (503: nothing the user did, and nothing they can do but wait).
fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Invalid(errors) => ApiError::validation(errors),
        Refusal::NotFound(field) => ApiError::new(
            ErrorCode::NotFound,
            format!("{field}: no such image (it is not yours, not public, or gone)"),
        ),
        Refusal::UploadInvalid(e) => ApiError::about_fields(ErrorCode::UploadInvalid, vec![e]),
        Refusal::MaskMismatch(e) => ApiError::about_fields(ErrorCode::MaskMismatch, vec![e]),
        Refusal::Insufficient(short) => artforge_domain::StoreError::from(short).into(),
        Refusal::KeyReused => ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request",
        ),
        Refusal::Limit { limit, retry_after } => {
            let wait = u64::try_from(retry_after.whole_seconds())
                .unwrap_or(0)
                .max(1);
            match limit {
                LimitReached::DailyQuota => ApiError::new(
                    ErrorCode::DailyQuotaExceeded,
                    "you have asked for as many images as a day allows; the quota resets at midnight UTC",
                ),
                LimitReached::SpendCap => ApiError::new(
                    ErrorCode::GenerationPaused,
                    "image generation is paused for today; it resumes at midnight UTC",
                ),
                LimitReached::FreeBudget => ApiError::new(
                    ErrorCode::GenerationPaused,
                    "today's budget for generating with free credits is spent; it resumes at \
                     midnight UTC, and purchased credits work now",
                ),
            }
            .retry_after(wait)
        }
        Refusal::NotQueued(e) => ApiError::unavailable(e),
        e @ Refusal::Unpriced => ApiError::internal(e),
        Refusal::Store(e) => e.into(),
    }
}

/// The images of finished jobs that still exist, per job, and which of them the owner likes.
async fn images_by_job(
    app: &Api,
    owner: UserId,
    jobs: &[Job],
) -> Result<(HashMap<JobId, Vec<Image>>, HashSet<ImageId>), ApiError> {
    let ids: Vec<ImageId> = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Succeeded)
        .flat_map(|j| j.images.iter().copied())
        .collect();
    if ids.is_empty() {
        return Ok((HashMap::new(), HashSet::new()));
    }
    let mut by_job: HashMap<JobId, Vec<Image>> = HashMap::new();
    for image in app.store.images_by_id(owner, &ids).await? {
        by_job.entry(image.job).or_default().push(image);
    }
    let liked = app.store.liked_among(owner, &ids).await?;
    Ok((by_job, liked))
}

async fn view_of(app: &Api, job: &Job) -> Result<JobView, ApiError> {
    let (mut images, liked) = images_by_job(app, job.owner, std::slice::from_ref(job)).await?;
    let own = images.remove(&job.id).unwrap_or_default();
    job_view(&app.files, &app.public_base_url, job, &own, &liked).await
}

/// `GET /generations/{id}`: one of the caller's jobs, with its images when done.
#[utoipa::path(get, path = "/generations/{id}", tag = "generate", operation_id = "getGeneration", security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The job's id.")),
    responses((status = 200, description = "The job, with its images when done.", body = JobView,
        links(
            ("GetImage" = (operation_id = "getImage", parameters(("id" = "$response.body#/images/0/id")))),
            ("LikeImage" = (operation_id = "likeImage", parameters(("id" = "$response.body#/images/0/id")))),
            ("UpdateImage" = (operation_id = "updateImage", parameters(("id" = "$response.body#/images/0/id")))),
            ("DownloadImage" = (operation_id = "downloadImage", parameters(("id" = "$response.body#/images/0/id")))),
            ("DeleteImage" = (operation_id = "deleteImage", parameters(("id" = "$response.body#/images/0/id")))),
        ))))]
#[instrument(skip_all, fields(user_id = %caller.user, job_id = %id))]
pub async fn one(
    State(app): State<Api>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id: JobId = id.parse().map_err(|_| not_found())?;
    let job = app
        .store
        .job(caller.user, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(view_of(&app, &job).await?))
}

/// `GET /generations`: the caller's jobs, newest first, cursor-paginated.
#[utoipa::path(get, path = "/generations", tag = "generate", operation_id = "listGenerations", security(("bearer" = []), ("cookie" = [])),
    params(PageParams),
    responses((status = 200, description = "The caller's jobs, newest first.", body = Listing<JobView>)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn list(
    State(app): State<Api>,
    caller: SignedIn,
    Query(params): Query<PageParams>,
) -> Result<Json<Listing<JobView>>, ApiError> {
    let owner = caller.user.to_string();
    let page = params.page(&app.cursors, &owner, JOBS_LIST)?;
    let found = app.store.jobs(caller.user, page).await?;
    let (mut images, liked) = images_by_job(&app, caller.user, &found.items).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for job in &found.items {
        let own = images.remove(&job.id).unwrap_or_default();
        items.push(job_view(&app.files, &app.public_base_url, job, &own, &liked).await?);
    }
    Ok(Json(Listing {
        items,
        next_cursor: found.next.map(|p| app.cursors.seal(&owner, JOBS_LIST, &p)),
    }))
}

/// How to send an upload: `PUT` the file's bytes to `url` with exactly `headers`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadView {
    /// The upload's id, for `sources` and `mask` (`{"upload": id}`).
    id: String,
    /// A presigned S3 URL.
    url: String,
    /// `PUT`.
    method: &'static str,
    /// Headers to send as given: the declared type and length are signed.
    headers: std::collections::BTreeMap<String, String>,
    /// When the URL stops working (10 minutes).
    expires_at: String,
}

/// `POST /uploads`: a presigned S3 upload of one file of the declared type and exact length,
/// to use as a source or mask of an edit within a day.
#[utoipa::path(post, path = "/uploads", tag = "generate", operation_id = "createUpload", security(("bearer" = []), ("cookie" = [])),
    request_body = UploadBody,
    responses(
        (status = 201, description = "Send the file: `PUT` its bytes to `url` with `headers` within 10 minutes; then use `{\"upload\": id}` in `sources` or `mask`.", body = UploadView),
        (status = 422, description = "validation_failed: `contentType` is not image/png, image/jpeg or image/webp, or `size` is not 1 byte to 20 MiB.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited: too many paid requests from this user or client address this minute (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user, upload_id))]
pub async fn upload(
    State(app): State<Api>,
    caller: SignedIn,
    ClientIp(from): ClientIp,
    Json(body): Json<UploadBody>,
) -> Result<Response, ApiError> {
    admit_paid(&app.paid, caller.user, from).await?;
    let upload = app
        .uploads
        .issue(caller.user, body.content_type.as_deref(), body.size)
        .await
        .map_err(|refusal| match refusal {
            UploadRefusal::Invalid(errors) => ApiError::validation(errors),
            UploadRefusal::Store(e) => e.into(),
        })?;
    tracing::Span::current().record("upload_id", tracing::field::display(upload.id));
    let presigned = upload.presigned;
    let view = UploadView {
        id: upload.id.to_string(),
        url: presigned.url,
        method: match presigned.method {
            UploadMethod::Put => "PUT",
        },
        headers: presigned.headers.into_iter().collect(),
        expires_at: presigned
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}
