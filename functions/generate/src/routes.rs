//! The generation API's handlers: the public catalogue, submitting a job, and the owner's jobs.

use std::collections::{HashMap, HashSet};

use artforge_domain::Catalog;
use artforge_domain::{
    Admission, Image, ImageFiles, ImageId, Images, Job, JobError, JobErrorCode, JobId, JobQueue,
    JobStatus, Jobs, Likes, LimitReached, UserId,
    generation::IdempotencyKey,
    ports::{Idempotency, SubmitError, Submitted},
};
use artforge_http::{
    ApiError, ErrorCode, Json, Query, SignedIn,
    problem::ProblemBody,
    query::{Listing, PageParams},
    requests::generate::GenerationBody,
};
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::{error, info, instrument};

use crate::{
    GenerateState,
    views::{JobView, job_view},
};

const JOBS_LIST: &str = "jobs";

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such job")
}

/// `GET /models`: the catalogue a client builds its form from (public, cacheable).
#[utoipa::path(get, path = "/models", tag = "generate", operation_id = "listModels",
    responses((status = 200, description = "The model tiers with their qualities, styles and prices, and the size presets.", body = Catalog)))]
pub async fn models<S, Q, F>(State(state): State<GenerateState<S, Q, F>>) -> Response {
    let mut response = Json(state.catalog.as_ref()).into_response();
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
        (status = 422, description = "validation_failed: a field is missing or not in the catalogue; content_policy_violation: the prompt is refused; idempotency_key_reused: the key came with another body.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "daily_quota_exceeded: the daily image quota is used up (`Retry-After` = next UTC midnight).", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "generation_paused: the service's daily budget is spent; service_unavailable: try again.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user, job_id))]
pub async fn create<S, Q, F>(
    State(state): State<GenerateState<S, Q, F>>,
    caller: SignedIn,
    headers: HeaderMap,
    Json(body): Json<GenerationBody>,
) -> Result<Response, ApiError>
where
    S: Jobs + Images + Likes,
    Q: JobQueue,
    F: ImageFiles,
{
    let key = idempotency_key(&headers)?;
    let request = state
        .catalog
        .validate(body.into())
        .map_err(ApiError::validation)?;
    let unit_price = state
        .catalog
        .unit_price(&request)
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the catalogue has no price for this"))?;
    let provider_cost = state
        .catalog
        .provider_cost_micros(&request)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Internal,
                "the catalogue has no provider cost for this",
            )
        })?;
    let now = OffsetDateTime::now_utc();
    let admission = Admission {
        spend_micros: provider_cost.saturating_mul(u64::from(request.count)),
        limits: state.limits,
    };
    let job = Job::new(caller.user, request, unit_price, now);
    tracing::Span::current().record("job_id", tracing::field::display(job.id));
    let idempotency = key.map(|key| Idempotency {
        key,
        fingerprint: job.request.fingerprint(),
    });
    let submitted = match state
        .store
        .submit(&job, idempotency.as_ref(), &admission)
        .await
    {
        Ok(s) => s,
        Err(SubmitError::Limit(limit)) => return Err(limit_reached(limit, now)),
        Err(SubmitError::KeyReused) => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request",
            ));
        }
        Err(SubmitError::Store(e)) => return Err(e.into()),
    };
    let (job, balance, replayed) = match submitted {
        Submitted::Created { job, balance } => {
            if let Err(err) = state.queue.enqueue(job.owner, job.id).await {
                // Not queued, so no worker will ever run it: give the credits back now.
                error!(error = %err, "queueing the job failed; failing it with a refund");
                let failure = JobError::new(
                    JobErrorCode::GenerationFailed,
                    "the job could not be queued; your credits were refunded",
                );
                if let Err(e) = state.store.abandon(job.owner, job.id, failure).await {
                    error!(error = %e, "failing the unqueued job failed; the dead-letter sweep cannot see it");
                }
                return Err(ApiError::unavailable(err));
            }
            info!(cost = job.cost().get(), "job accepted");
            (job, balance, false)
        }
        Submitted::Replayed { job, balance } => {
            if job.status == JobStatus::Queued {
                // The first request may have failed to queue it and then to fail it (the store
                // down too): queue it again. A second message is harmless, the worker's claim
                // runs a job once.
                if let Err(err) = state.queue.enqueue(job.owner, job.id).await {
                    error!(error = %err, "queueing a replayed job failed");
                    return Err(ApiError::unavailable(err));
                }
            }
            info!("idempotent replay");
            (job, balance, true)
        }
    };
    let view = view_of(&state, &job).await?;
    let mut response = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            job: view,
            credits: balance.get(),
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/generations/{}", job.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A reached daily limit, answered with when it resets. The quota is the user's own (429); the
/// budget is the service's (503: nothing the user did, and nothing they can do but wait).
fn limit_reached(limit: LimitReached, now: OffsetDateTime) -> ApiError {
    let reset = artforge_domain::limits::next_day_start(now);
    let wait = u64::try_from((reset - now).whole_seconds())
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
    }
    .retry_after(wait)
}

/// The images of finished jobs that still exist, per job, and which of them the owner likes.
async fn images_by_job<S: Images + Likes, Q, F>(
    state: &GenerateState<S, Q, F>,
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
    for image in state.store.images_by_id(owner, &ids).await? {
        by_job.entry(image.job).or_default().push(image);
    }
    let liked = state.store.liked_among(owner, &ids).await?;
    Ok((by_job, liked))
}

async fn view_of<S: Images + Likes, Q, F: ImageFiles>(
    state: &GenerateState<S, Q, F>,
    job: &Job,
) -> Result<JobView, ApiError> {
    let (mut images, liked) = images_by_job(state, job.owner, std::slice::from_ref(job)).await?;
    let own = images.remove(&job.id).unwrap_or_default();
    job_view(&state.files, &state.public_base_url, job, &own, &liked).await
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
pub async fn one<S, Q, F>(
    State(state): State<GenerateState<S, Q, F>>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError>
where
    S: Jobs + Images + Likes,
    F: ImageFiles,
{
    let id: JobId = id.parse().map_err(|_| not_found())?;
    let job = state
        .store
        .job(caller.user, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(view_of(&state, &job).await?))
}

/// `GET /generations`: the caller's jobs, newest first, cursor-paginated.
#[utoipa::path(get, path = "/generations", tag = "generate", operation_id = "listGenerations", security(("bearer" = []), ("cookie" = [])),
    params(PageParams),
    responses((status = 200, description = "The caller's jobs, newest first.", body = Listing<JobView>)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn list<S, Q, F>(
    State(state): State<GenerateState<S, Q, F>>,
    caller: SignedIn,
    Query(params): Query<PageParams>,
) -> Result<Json<Listing<JobView>>, ApiError>
where
    S: Jobs + Images + Likes,
    F: ImageFiles,
{
    let owner = caller.user.to_string();
    let page = params.page(&state.cursors, &owner, JOBS_LIST)?;
    let found = state.store.jobs(caller.user, page).await?;
    let (mut images, liked) = images_by_job(&state, caller.user, &found.items).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for job in &found.items {
        let own = images.remove(&job.id).unwrap_or_default();
        items.push(job_view(&state.files, &state.public_base_url, job, &own, &liked).await?);
    }
    Ok(Json(Listing {
        items,
        next_cursor: found
            .next
            .map(|p| state.cursors.seal(&owner, JOBS_LIST, &p)),
    }))
}
