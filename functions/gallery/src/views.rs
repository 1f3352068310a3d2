//! The archive routes: `POST /images/archive` asks for a ZIP of own images, `GET
//! /images/archive/{id}` says where it is and, once ready, gives a presigned URL.

use artforge_domain::{Archive, ArchiveId, ImageId, Variant};
use artforge_http::{
    ApiError, ErrorCode, Json, SignedIn,
    client::{ClientIp, rate_limited},
    problem::ProblemBody,
};
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tracing::instrument;

use crate::{
    App,
    archives::{MAX_IMAGES, Refusal},
};

/// `POST /images/archive`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ids": ["01JF3V9Q6M8B2C4D5E6F7G8H9J"], "variant": "preset"}))]
pub struct ArchiveBody {
    /// 1 to 100 ids of own images.
    pub ids: Vec<String>,
    /// `preset` (default), `original` or `thumbnail`.
    pub variant: Option<String>,
}

/// An archive: `{id, status, url?, count, bytes?, createdAt}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveView {
    pub id: String,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    /// A presigned GET of the ZIP, once ready (it expires in minutes; ask again for a new one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub created_at: String,
}

impl ArchiveView {
    fn new(archive: &Archive, url: Option<String>) -> Self {
        Self {
            id: archive.id.to_string(),
            status: archive.status.as_str().to_owned(),
            url,
            count: archive.images.len(),
            bytes: archive.bytes,
            created_at: archive.created_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::TooLarge(n) => ApiError::new(
            ErrorCode::ArchiveTooLarge,
            format!("an archive holds at most {MAX_IMAGES} images; {n} were asked for"),
        ),
        Refusal::Empty => ApiError::validation(vec![artforge_domain::FieldError::new(
            "ids",
            "name at least one image",
        )]),
        Refusal::NotFound => ApiError::new(ErrorCode::NotFound, "no such image"),
        Refusal::RateLimited { retry_after } => rate_limited(retry_after, "paid requests"),
        Refusal::Store(e) => e.into(),
        e @ Refusal::Queue(_) => ApiError::internal(e),
    }
}

#[utoipa::path(post, path = "/images/archive", tag = "gallery", operation_id = "requestArchive", security(("bearer" = []), ("cookie" = [])),
    request_body = ArchiveBody,
    responses(
        (status = 202, description = "The ZIP is being built; poll its status.", body = ArchiveView,
            links(("GetArchive" = (operation_id = "getArchive", parameters(("id" = "$response.body#/id")))))),
        (status = 404, description = "not_found: an id is not one of the caller's images (the whole request fails).", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "archive_too_large: more than 100 ids (checked before any look-up); validation_failed: no id, or an unknown variant.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited: too many paid requests from this user or client address this minute (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn request_archive(
    State(app): State<App>,
    caller: SignedIn,
    ClientIp(from): ClientIp,
    Json(body): Json<ArchiveBody>,
) -> Result<Response, ApiError> {
    if body.ids.len() > MAX_IMAGES {
        return Err(refused(Refusal::TooLarge(body.ids.len())));
    }
    let variant = Variant::parse(body.variant.as_deref().unwrap_or("preset"), "variant")?;
    let ids = body
        .ids
        .iter()
        .map(|raw| raw.parse::<ImageId>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| refused(Refusal::NotFound))?;
    let archive = app
        .archiving
        .request(
            &app.paid,
            caller.user,
            from,
            &ids,
            variant,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(refused)?;
    let location = format!("/images/archive/{}", archive.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(ArchiveView::new(&archive, None)),
    )
        .into_response())
}

#[utoipa::path(get, path = "/images/archive/{id}", tag = "gallery", operation_id = "getArchive", security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The archive's id.")),
    responses(
        (status = 200, description = "The archive; `url` once it is ready.", body = ArchiveView),
        (status = 404, description = "not_found: no such archive of the caller's (or it expired, a day after it was asked for).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn archive_status(
    State(app): State<App>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: ArchiveId = id
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, "no such archive"))?;
    let (archive, url) = app
        .archiving
        .status(caller.user, id)
        .await
        .map_err(|e| match e {
            Refusal::NotFound => ApiError::new(ErrorCode::NotFound, "no such archive"),
            other => refused(other),
        })?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(ArchiveView::new(&archive, url)),
    )
        .into_response())
}
