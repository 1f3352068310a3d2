//! The gallery's one wiring: its configuration, the store, the files and the use cases, built
//! once. The Lambda (`main.rs`), the local server and the tests all build it here.

use std::sync::Arc;

use artforge_aws::SdkConfig;
use artforge_dynamo::DynamoStore;
use artforge_http::{Authenticator, cursor::Cursors};
use artforge_s3::S3Files;
use axum::{
    Router,
    extract::FromRef,
    routing::{get, put},
};

use crate::{Config, routes, usecases::Gallery};

/// The gallery: its use cases over DynamoDB and S3, and the settings its handlers use.
#[derive(Clone)]
pub struct App {
    pub(crate) gallery: Arc<Gallery<DynamoStore, S3Files>>,
    pub(crate) cursors: Cursors,
    pub(crate) authenticator: Authenticator,
    pub(crate) public_base_url: Arc<str>,
}

impl FromRef<App> for Authenticator {
    fn from_ref(app: &App) -> Self {
        app.authenticator.clone()
    }
}

impl App {
    /// The gallery over `aws`, as `config` says.
    pub fn build(config: Config, aws: &SdkConfig) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name);
        Self {
            authenticator: config
                .session
                .authenticator(Arc::new(config.session.tokens()), store.clone()),
            cursors: config.session.cursors(),
            public_base_url: config.public_base_url.into(),
            gallery: Arc::new(Gallery {
                store,
                files: config.bucket.files(aws),
            }),
        }
    }

    /// The gallery as Lambda runs it: configuration and AWS from the process environment, secrets
    /// read from Secrets Manager where it names them (`artforge_secrets`).
    pub async fn from_env() -> Result<Self, crate::Error> {
        let (env, aws) = artforge_secrets::process_env().await?;
        let config = Config::from_env(&env)?;
        Ok(Self::build(config, &aws))
    }

    /// The gallery as a service: its routes, finished (fallbacks, request ids).
    pub fn router(self) -> Router {
        artforge_http::finish(self.routes())
    }

    /// The routes at their API Gateway paths, for merging with other functions' routes.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/images", get(routes::list))
            .route(
                "/images/{id}",
                get(routes::one)
                    .patch(routes::update)
                    .delete(routes::delete),
            )
            .route(
                "/images/{id}/like",
                put(routes::like).delete(routes::unlike),
            )
            .route("/images/{id}/download", get(routes::download))
            .route("/tags", get(routes::tags))
            .route("/feed", get(routes::feed))
            .route("/public/images/{id}", get(routes::public))
            .with_state(self)
    }
}

/// The routes' OpenAPI description; the local server merges every function's into the
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
    struct Doc;
    <Doc as utoipa::OpenApi>::openapi()
}
