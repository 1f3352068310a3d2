//! The generate functions. The API ([`router`]) prices a request against the model catalogue,
//! debits it with the job in one transaction and queues it; the worker ([`worker::Worker`])
//! claims the job, calls the image provider, makes the renditions, stores them and finishes
//! the job with any refund in one transaction. `main.rs` and `bin/generate-worker.rs` wire
//! them to Lambda; the local server mounts the same router and feeds the worker from the
//! local queue.

pub mod config;
mod routes;
mod views;
pub mod worker;

use std::sync::Arc;

use artforge_domain::{Catalog, DailyLimits, ImageFiles, Images, JobQueue, Jobs, Likes, Sessions};
use artforge_http::{Authenticator, cursor::Cursors};
use axum::{Router, extract::FromRef, routing::get};

pub use config::{Config, WorkerConfig};

/// What the generation API needs: jobs and credits, the queue, the image files (for the URLs
/// of finished jobs' images), the catalogue, and session settings.
#[derive(Clone)]
pub struct GenerateState<S, Q, F> {
    pub store: S,
    pub queue: Q,
    pub files: F,
    pub catalog: Arc<Catalog>,
    pub cursors: Cursors,
    pub authenticator: Authenticator,
    pub public_base_url: Arc<str>,
    pub limits: DailyLimits,
}

impl<S: Sessions + Clone + 'static, Q, F> GenerateState<S, Q, F> {
    pub fn new(config: &Config, store: S, queue: Q, files: F) -> Self {
        Self {
            authenticator: config
                .session
                .authenticator(Arc::new(config.session.tokens()), store.clone()),
            cursors: config.session.cursors(),
            catalog: config.catalog.clone(),
            public_base_url: config.public_base_url.as_str().into(),
            limits: config.limits,
            store,
            queue,
            files,
        }
    }
}

impl<S, Q, F> FromRef<GenerateState<S, Q, F>> for Authenticator {
    fn from_ref(state: &GenerateState<S, Q, F>) -> Self {
        state.authenticator.clone()
    }
}

/// The generation API as a service: its routes, finished (fallbacks, request ids).
pub fn router<S, Q, F>(state: GenerateState<S, Q, F>) -> Router
where
    S: Jobs + Images + Likes + Sessions + Clone + 'static,
    Q: JobQueue + Clone + 'static,
    F: ImageFiles + Clone + 'static,
{
    artforge_http::finish(routes(state))
}

/// The generation routes' OpenAPI description; the local server merges every function's into
/// the `/openapi.json` it serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(routes::models, routes::create, routes::one, routes::list))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}

/// The generation routes at their API Gateway paths, for merging with other functions' routes.
pub fn routes<S, Q, F>(state: GenerateState<S, Q, F>) -> Router
where
    S: Jobs + Images + Likes + Sessions + Clone + 'static,
    Q: JobQueue + Clone + 'static,
    F: ImageFiles + Clone + 'static,
{
    Router::new()
        .route("/models", get(routes::models::<S, Q, F>))
        .route(
            "/generations",
            get(routes::list::<S, Q, F>).post(routes::create::<S, Q, F>),
        )
        .route("/generations/{id}", get(routes::one::<S, Q, F>))
        .with_state(state)
}
