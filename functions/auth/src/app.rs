//! The auth function's one wiring: its configuration, the store and the use cases, built once.
//! The Lambda (`main.rs`), the local server and the tests all build it here.

use std::sync::Arc;

use artforge_aws::SdkConfig;
use artforge_dynamo::DynamoStore;
use artforge_http::{Authenticator, cookie::SessionCookie, cursor::Cursors, token::TokenKeys};
use axum::{
    Router,
    extract::FromRef,
    routing::{get, post, put},
};

use artforge_erasure::Eraser;
use artforge_s3::S3Files;
use artforge_sqs::SqsTasks;

use crate::{Config, leaving::Leaving, password::PasswordHasher, routes, usecases::Identity};

/// The auth function: its use cases over DynamoDB, and the session settings its handlers use.
#[derive(Clone)]
pub struct Auth {
    pub(crate) identity: Arc<Identity<DynamoStore>>,
    pub(crate) leaving: Arc<Leaving<DynamoStore, S3Files, SqsTasks>>,
    pub(crate) files: S3Files,
    pub(crate) public_base_url: Arc<str>,
    pub(crate) tokens: Arc<TokenKeys>,
    pub(crate) cursors: Cursors,
    pub(crate) cookie: SessionCookie,
    pub(crate) authenticator: Authenticator,
}

impl FromRef<Auth> for Authenticator {
    fn from_ref(app: &Auth) -> Self {
        app.authenticator.clone()
    }
}

impl Auth {
    /// The function over `aws`, as `config` says.
    pub fn build(config: Config, aws: &SdkConfig) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name);
        let tokens = Arc::new(config.session.tokens());
        let files = config.bucket.files(aws);
        let identity = Arc::new(Identity {
            store: store.clone(),
            hasher: Arc::new(PasswordHasher::owasp()),
            signup_credits: config.signup_credits,
            limits: config.limits,
        });
        Self {
            authenticator: config.session.authenticator(tokens.clone(), store.clone()),
            tokens,
            cursors: config.session.cursors(),
            cookie: config.session.cookie(),
            leaving: Arc::new(Leaving {
                identity: identity.clone(),
                eraser: Eraser {
                    store,
                    files: files.clone(),
                },
                tasks: SqsTasks::new(aws_sdk_sqs::Client::new(aws), config.account_queue_url),
            }),
            identity,
            files,
            public_base_url: config.public_base_url.into(),
        }
    }

    /// The function as Lambda runs it: configuration and AWS from the process environment, secrets
    /// read from Secrets Manager where it names them (`artforge_secrets`).
    pub async fn from_env() -> Result<Self, crate::Error> {
        let (env, aws) = artforge_secrets::process_env().await?;
        let config = Config::from_env(&env)?;
        Ok(Self::build(config, &aws))
    }

    /// The function as a service: its routes, finished (fallbacks, request ids).
    pub fn router(self) -> Router {
        artforge_http::finish(self.routes())
    }

    /// The routes at their API Gateway paths, for merging with other functions' routes.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/auth/register", post(routes::register))
            .route("/auth/login", post(routes::login))
            .route("/auth/logout", post(routes::logout))
            .route(
                "/me",
                get(routes::me)
                    .patch(routes::rename)
                    .delete(routes::delete_account),
            )
            .route("/me/export", get(routes::export))
            .route("/me/password", put(routes::change_password))
            .route("/me/credits", get(routes::credits))
            .with_state(self)
    }
}

/// The routes' OpenAPI description; the local server merges every function's into the
/// `/openapi.json` it serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        routes::register,
        routes::login,
        routes::logout,
        routes::me,
        routes::rename,
        routes::change_password,
        routes::credits,
        routes::delete_account,
        routes::export
    ))]
    struct Doc;
    <Doc as utoipa::OpenApi>::openapi()
}
