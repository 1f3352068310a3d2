//! The gallery handlers. Every read and write is scoped by the caller: another user's private
//! image is a 404, and a public one can be read and liked but never changed.

use std::collections::HashSet;

use artforge_domain::{Image, ImageId, Images, Likes, UserId, Variant};
use artforge_http::{
    ApiError, ErrorCode, Json, Query, SignedIn,
    auth::MaybeSignedIn,
    query::{Listing, PageParams},
    views::{Detail, ImageView, view},
};
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use serde::Serialize;
use tracing::instrument;

use crate::{
    App,
    requests::{DownloadParams, FeedParams, ListParams, UpdateBody},
    usecases::{LikeCount, Refusal},
};

const IMAGES_LIST: &str = "images";
const LIKED_LIST: &str = "liked";
const FEED_LIST: &str = "feed";
/// Public lists are sealed for this owner.
const EVERYONE: &str = "*";

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such image")
}

/// A refused image action as the API answers it.
fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotFound => not_found(),
        Refusal::Store(e) => e.into(),
    }
}

/// A path id that is not an image id names no image: 404, like any unknown id.
fn image_id(raw: &str) -> Result<ImageId, ApiError> {
    raw.parse().map_err(|_| not_found())
}

async fn views(
    app: &App,
    viewer: Option<UserId>,
    images: &[Image],
    all_liked: bool,
) -> Result<Vec<ImageView>, ApiError> {
    let store = &app.gallery.store;
    let liked: HashSet<ImageId> = match (viewer, all_liked) {
        (Some(_), true) => images.iter().map(|i| i.id).collect(),
        (Some(user), false) => {
            store
                .liked_among(user, &images.iter().map(|i| i.id).collect::<Vec<_>>())
                .await?
        }
        (None, _) => HashSet::new(),
    };
    let mut out = Vec::with_capacity(images.len());
    for image in images {
        let detail = Detail {
            viewer,
            liked_by_me: liked.contains(&image.id),
            with_original: false,
        };
        out.push(view(&app.gallery.files, &app.public_base_url, image, detail).await?);
    }
    Ok(out)
}

async fn single(
    app: &App,
    viewer: Option<UserId>,
    image: &Image,
) -> Result<Json<ImageView>, ApiError> {
    let liked_by_me = match viewer {
        Some(user) => app
            .gallery
            .store
            .liked_among(user, &[image.id])
            .await?
            .contains(&image.id),
        None => false,
    };
    let detail = Detail {
        viewer,
        liked_by_me,
        with_original: true,
    };
    Ok(Json(
        view(&app.gallery.files, &app.public_base_url, image, detail).await?,
    ))
}

/// `GET /images`: the caller's images (or liked images), newest first, filtered server-side.
#[utoipa::path(get, path = "/images", tag = "gallery", operation_id = "listImages", security(("bearer" = []), ("cookie" = [])),
    params(ListParams),
    responses((status = 200, description = "The caller's images (or the images they like), newest first.", body = Listing<ImageView>,
        links(("GetImage" = (operation_id = "getImage", parameters(("id" = "$response.body#/items/0/id"))))))))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn list(
    State(app): State<App>,
    caller: SignedIn,
    Query(params): Query<ListParams>,
) -> Result<Json<Listing<ImageView>>, ApiError> {
    let (filter, liked) = params.filter()?;
    let owner = caller.user.to_string();
    let list = if liked { LIKED_LIST } else { IMAGES_LIST };
    let paging = PageParams {
        limit: params.limit.clone(),
        cursor: params.cursor.clone(),
    };
    let page = paging.page(&app.cursors, &owner, list)?;
    let found = app
        .gallery
        .history(caller.user, &filter, liked, page)
        .await?;
    Ok(Json(Listing {
        items: views(&app, Some(caller.user), &found.items, liked).await?,
        next_cursor: found.next.map(|p| app.cursors.seal(&owner, list, &p)),
    }))
}

/// `GET /images/{id}`: one own or public image, with the original's URL.
#[utoipa::path(get, path = "/images/{id}", tag = "gallery", operation_id = "getImage", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The image's id.")),
    responses((status = 200, description = "One own or public image, with the original's URL.", body = ImageView,
        links(
            ("LikeImage" = (operation_id = "likeImage", parameters(("id" = "$response.body#/id")))),
            ("UpdateImage" = (operation_id = "updateImage", parameters(("id" = "$response.body#/id")))),
            ("DeleteImage" = (operation_id = "deleteImage", parameters(("id" = "$response.body#/id")))),
        ))))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn one(
    State(app): State<App>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ImageView>, ApiError> {
    let image = app
        .gallery
        .visible(caller.user, image_id(&id)?)
        .await
        .map_err(refused)?;
    single(&app, Some(caller.user), &image).await
}

/// `PATCH /images/{id}`: replace the tags, make the image public or private. Owner only.
#[utoipa::path(patch, path = "/images/{id}", tag = "gallery", operation_id = "updateImage", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The image's id.")),
    request_body = UpdateBody,
    responses((status = 200, description = "The image, changed. Only the owner may change it; another user's image is a 404.", body = ImageView,
        links(("GetPublicImage" = (operation_id = "getPublicImage", parameters(("id" = "$response.body#/id"))))))))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn update(
    State(app): State<App>,
    caller: SignedIn,
    Path(id): Path<String>,
    Json(body): Json<UpdateBody>,
) -> Result<Json<ImageView>, ApiError> {
    let id = image_id(&id)?;
    let (tags, visibility) = body.changes()?;
    let image = app
        .gallery
        .update(caller.user, id, tags.as_ref(), visibility)
        .await
        .map_err(refused)?;
    single(&app, Some(caller.user), &image).await
}

/// `DELETE /images/{id}`: hides the image, removes its three files, then its metadata. A
/// retried delete finishes an interrupted one; an image that is gone is a 404.
#[utoipa::path(delete, path = "/images/{id}", tag = "gallery", operation_id = "deleteImage", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The image's id.")),
    responses((status = 204, description = "Deleted: its files and its metadata.",
        links(("GetDeletedImage" = (operation_id = "getImage", parameters(("id" = "$request.path.id"))))))))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn delete(
    State(app): State<App>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.gallery
        .delete(caller.user, image_id(&id)?)
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LikeView {
    id: String,
    likes: u64,
    liked_by_me: bool,
}

impl From<LikeCount> for LikeView {
    fn from(count: LikeCount) -> Self {
        Self {
            id: count.id.to_string(),
            likes: count.likes,
            liked_by_me: count.liked_by_me,
        }
    }
}

/// `PUT /images/{id}/like`: idempotent.
#[utoipa::path(put, path = "/images/{id}/like", tag = "gallery", operation_id = "likeImage", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The image's id.")),
    responses((status = 200, description = "Liked (idempotent).", body = LikeView,
        links(
            ("UnlikeImage" = (operation_id = "unlikeImage", parameters(("id" = "$response.body#/id")))),
            ("DeleteImage" = (operation_id = "deleteImage", parameters(("id" = "$response.body#/id")))),
        ))))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn like(
    State(app): State<App>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<LikeView>, ApiError> {
    let count = app
        .gallery
        .like(caller.user, image_id(&id)?)
        .await
        .map_err(refused)?;
    Ok(Json(count.into()))
}

/// `DELETE /images/{id}/like`: idempotent.
#[utoipa::path(delete, path = "/images/{id}/like", tag = "gallery", operation_id = "unlikeImage", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The image's id.")),
    responses((status = 200, description = "Not liked (idempotent).", body = LikeView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn unlike(
    State(app): State<App>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<LikeView>, ApiError> {
    let count = app
        .gallery
        .unlike(caller.user, image_id(&id)?)
        .await
        .map_err(refused)?;
    Ok(Json(count.into()))
}

/// `GET /images/{id}/download?variant=`: 302 to a presigned URL answering as an attachment.
#[utoipa::path(get, path = "/images/{id}/download", tag = "gallery", operation_id = "downloadImage", security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The image's id."), DownloadParams),
    responses((status = 302, description = "To a short-lived presigned URL that answers the file as an attachment.",
        headers(("Location" = String, description = "The presigned URL.")))))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn download(
    State(app): State<App>,
    caller: SignedIn,
    Path(id): Path<String>,
    Query(params): Query<DownloadParams>,
) -> Result<Response, ApiError> {
    let variant = Variant::parse(params.variant.as_deref().unwrap_or("preset"), "variant")?;
    let url = app
        .gallery
        .download(caller.user, image_id(&id)?, variant)
        .await
        .map_err(refused)?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagCount {
    tag: String,
    count: u64,
}

/// `GET /tags`: the caller's tags with how many images carry each, most used first.
#[utoipa::path(get, path = "/tags", tag = "gallery", operation_id = "listTags", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The caller's tags, most used first.", body = Listing<TagCount>)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn tags(
    State(app): State<App>,
    caller: SignedIn,
) -> Result<Json<Listing<TagCount>>, ApiError> {
    let counts = app.gallery.store.tag_counts(caller.user).await?;
    Ok(Json(Listing {
        items: counts
            .into_iter()
            .map(|(tag, count)| TagCount {
                tag: tag.as_str().to_owned(),
                count,
            })
            .collect(),
        next_cursor: None,
    }))
}

/// `GET /feed`: everyone's public images, newest first; `q` searches them. No session needed.
#[utoipa::path(get, path = "/feed", tag = "gallery", operation_id = "listFeed", security((), ("bearer" = []), ("cookie" = [])),
    params(FeedParams),
    responses((status = 200, description = "Everyone's public images, newest first; with `q`, those whose prompt and tags match.", body = Listing<ImageView>,
        links(("GetPublicImage" = (operation_id = "getPublicImage", parameters(("id" = "$response.body#/items/0/id"))))))))]
#[instrument(skip_all)]
pub async fn feed(
    State(app): State<App>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Query(params): Query<FeedParams>,
) -> Result<Json<Listing<ImageView>>, ApiError> {
    let search = params.search()?;
    let page = params.paging().page(&app.cursors, EVERYONE, FEED_LIST)?;
    let found = app.gallery.feed(search.as_ref(), page).await?;
    let viewer = caller.map(|c| c.user);
    Ok(Json(Listing {
        items: views(&app, viewer, &found.items, false).await?,
        next_cursor: found
            .next
            .map(|p| app.cursors.seal(EVERYONE, FEED_LIST, &p)),
    }))
}

/// `GET /public/images/{id}`: one public image, for share pages. No session needed.
#[utoipa::path(get, path = "/public/images/{id}", tag = "gallery", operation_id = "getPublicImage", security((), ("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "The image's id.")),
    responses((status = 200, description = "One public image, for share pages.", body = ImageView)))]
#[instrument(skip_all)]
pub async fn public(
    State(app): State<App>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Path(id): Path<String>,
) -> Result<Json<ImageView>, ApiError> {
    let image = app
        .gallery
        .store
        .public_image(image_id(&id)?)
        .await?
        .ok_or_else(not_found)?;
    single(&app, caller.map(|c| c.user), &image).await
}
