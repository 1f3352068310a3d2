//! The gallery's one wiring: its configuration, the store, the files and the use cases, built
//! once. The Lambda (`main.rs`), the local server and the tests all build it here.

use std::sync::Arc;

use artforge_aws::SdkConfig;
use artforge_domain::PaidRequests;
use artforge_dynamo::DynamoStore;
use artforge_http::{Authenticator, cursor::Cursors};
use artforge_s3::S3Files;
use axum::{
    Router,
    extract::FromRef,
    routing::{get, post, put},
};

use artforge_sqs::SqsTasks;

use crate::{
    Config, archives::Archiving, routes, share, usecases::Gallery, views as archive_views,
};

/// The gallery: its use cases over DynamoDB and S3, and the settings its handlers use.
#[derive(Clone)]
pub struct App {
    pub(crate) gallery: Arc<Gallery<DynamoStore, S3Files>>,
    pub(crate) archiving: Arc<Archiving<DynamoStore, S3Files, SqsTasks>>,
    /// The paid requests' limits (archives are paid requests).
    pub(crate) paid: Arc<PaidRequests<DynamoStore>>,
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
        let files = config.bucket.files(aws);
        Self {
            archiving: Arc::new(Archiving {
                store: store.clone(),
                files: files.clone(),
                tasks: SqsTasks::new(aws_sdk_sqs::Client::new(aws), config.account_queue_url),
            }),
            authenticator: config
                .session
                .authenticator(Arc::new(config.session.tokens()), store.clone()),
            cursors: config.session.cursors(),
            paid: Arc::new(PaidRequests {
                store: store.clone(),
                limits: config.paid,
            }),
            public_base_url: config.public_base_url.into(),
            gallery: Arc::new(Gallery { store, files }),
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
        let share = self.clone().share_routes();
        artforge_http::finish(self.routes().merge(share))
    }

    /// The share pages (`/i/{id}`, `/i/{id}/image`). Apart from [`App::routes`] because the
    /// web client has a page of its own at `/i/{id}`: the local server mounts these under
    /// `/api` only, as CloudFront reaches them in AWS.
    pub fn share_routes(self) -> Router {
        Router::new()
            .route("/i/{id}", get(share::share_page))
            .route("/i/{id}/image", get(share::share_image))
            .with_state(self)
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
            .route("/images/archive", post(archive_views::request_archive))
            .route("/images/archive/{id}", get(archive_views::archive_status))
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
        routes::public,
        archive_views::request_archive,
        archive_views::archive_status,
        share::share_page,
        share::share_image
    ))]
    struct Doc;
    <Doc as utoipa::OpenApi>::openapi()
}
