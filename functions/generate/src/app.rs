//! The generation API's one wiring: its configuration, the clients it needs and its use cases,
//! built once. The Lambda (`main.rs`), the local server and the tests all build it here.

use std::sync::Arc;

use artforge_aws::SdkConfig;
use artforge_domain::{Catalog, PaidRequests};
use artforge_dynamo::DynamoStore;
use artforge_http::{Authenticator, cursor::Cursors};
use artforge_s3::S3Files;
use artforge_sqs::SqsQueue;
use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};

use crate::{
    Config, routes,
    usecases::{submit::Generations, uploads::Uploads},
};

/// The generation API: its use cases over DynamoDB and SQS, and what its handlers read.
#[derive(Clone)]
pub struct Api {
    pub(crate) generations: Arc<Generations<DynamoStore, SqsQueue, S3Files>>,
    pub(crate) uploads: Arc<Uploads<S3Files>>,
    pub(crate) paid: Arc<PaidRequests<DynamoStore>>,
    pub(crate) store: DynamoStore,
    pub(crate) files: S3Files,
    pub(crate) cursors: Cursors,
    pub(crate) authenticator: Authenticator,
    pub(crate) public_base_url: Arc<str>,
}

impl FromRef<Api> for Authenticator {
    fn from_ref(app: &Api) -> Self {
        app.authenticator.clone()
    }
}

impl Api {
    /// The API over `aws`, as `config` says.
    pub fn build(config: Config, aws: &SdkConfig) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name);
        let queue = SqsQueue::new(aws_sdk_sqs::Client::new(aws), config.queue_url);
        let files = config.bucket.files(aws);
        Self {
            authenticator: config
                .session
                .authenticator(Arc::new(config.session.tokens()), store.clone()),
            cursors: config.session.cursors(),
            files: files.clone(),
            uploads: Arc::new(Uploads {
                files: files.clone(),
            }),
            public_base_url: config.public_base_url.into(),
            paid: Arc::new(PaidRequests {
                store: store.clone(),
                limits: config.paid,
            }),
            generations: Arc::new(Generations {
                jobs: store.clone(),
                queue,
                files,
                catalog: config.catalog,
                limits: config.limits,
            }),
            store,
        }
    }

    /// The API as Lambda runs it: configuration and AWS from the process environment, secrets
    /// read from Secrets Manager where it names them (`artforge_secrets`).
    pub async fn from_env() -> Result<Self, crate::Error> {
        let (env, aws) = artforge_secrets::process_env().await?;
        let config = Config::from_env(&env)?;
        Ok(Self::build(config, &aws))
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.generations.catalog
    }

    /// The API as a service: its routes, finished (fallbacks, request ids).
    pub fn router(self) -> Router {
        artforge_http::finish(self.routes())
    }

    /// The routes at their API Gateway paths, for merging with other functions' routes.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/models", get(routes::models))
            .route("/generations", get(routes::list).post(routes::create))
            .route("/generations/{id}", get(routes::one))
            .route("/uploads", post(routes::upload))
            .with_state(self)
    }
}

/// The routes' OpenAPI description; the local server merges every function's into the
/// `/openapi.json` it serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        routes::models,
        routes::create,
        routes::one,
        routes::list,
        routes::upload
    ))]
    struct Doc;
    <Doc as utoipa::OpenApi>::openapi()
}
