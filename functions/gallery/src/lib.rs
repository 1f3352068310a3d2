//! The gallery function: a user's image history with filters, one image, tags and visibility,
//! likes, downloads, the public feed and share pages, and delete. `main.rs` wires it to Lambda;
//! the local server mounts the same [`router`].

pub mod config;
mod routes;

use std::sync::Arc;

use artforge_domain::{ImageFiles, Images, Likes, Sessions};
use artforge_http::{Authenticator, cursor::Cursors};
use axum::{
    Router,
    extract::FromRef,
    routing::{get, put},
};

pub use config::Config;

/// What the gallery handlers need: the metadata store, the files, and settings.
#[derive(Clone)]
pub struct GalleryState<S, F> {
    pub store: S,
    pub files: F,
    pub cursors: Cursors,
    pub authenticator: Authenticator,
    pub public_base_url: Arc<str>,
}

impl<S: Sessions + Clone + 'static, F> GalleryState<S, F> {
    pub fn new(config: &Config, store: S, files: F) -> Self {
        Self {
            authenticator: config
                .session
                .authenticator(Arc::new(config.session.tokens()), store.clone()),
            cursors: config.session.cursors(),
            public_base_url: config.public_base_url.as_str().into(),
            store,
            files,
        }
    }
}

impl<S, F> FromRef<GalleryState<S, F>> for Authenticator {
    fn from_ref(state: &GalleryState<S, F>) -> Self {
        state.authenticator.clone()
    }
}

/// The gallery function as a service: its routes, finished (fallbacks, request ids).
pub fn router<S, F>(state: GalleryState<S, F>) -> Router
where
    S: Images + Likes + Sessions + Clone + 'static,
    F: ImageFiles + Clone + 'static,
{
    artforge_http::finish(routes(state))
}

/// The gallery routes' OpenAPI description; the local server merges every function's into the
/// `/openapi.json` it serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        routes::list,
        routes::one,
        routes::update,
        routes::delete,
        routes::like,
        routes::unlike,
        routes::download,
        routes::tags,
        routes::feed,
        routes::public
    ))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}

/// The gallery routes at their API Gateway paths, for merging with other functions' routes.
pub fn routes<S, F>(state: GalleryState<S, F>) -> Router
where
    S: Images + Likes + Sessions + Clone + 'static,
    F: ImageFiles + Clone + 'static,
{
    let routes = Router::new()
        .route("/images", get(routes::list::<S, F>))
        .route(
            "/images/{id}",
            get(routes::one::<S, F>)
                .patch(routes::update::<S, F>)
                .delete(routes::delete::<S, F>),
        )
        .route(
            "/images/{id}/like",
            put(routes::like::<S, F>).delete(routes::unlike::<S, F>),
        )
        .route("/images/{id}/download", get(routes::download::<S, F>))
        .route("/tags", get(routes::tags::<S, F>))
        .route("/feed", get(routes::feed::<S, F>))
        .route("/public/images/{id}", get(routes::public::<S, F>));
    routes.with_state(state)
}
