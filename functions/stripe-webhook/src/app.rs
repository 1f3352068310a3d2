//! The billing function's one wiring: its configuration, the store, the Stripe client and the
//! use cases, built once. The Lambda (`main.rs`), the local server and the tests all build it
//! here.

use std::sync::Arc;

use artforge_aws::SdkConfig;
use artforge_domain::PaidRequests;
use artforge_dynamo::DynamoStore;
use artforge_http::{Authenticator, cursor::Cursors};
use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};

use crate::{
    Config, checkout::StripeCheckout, routes, signature::WebhookSecrets, usecases::Billing,
};

/// The billing function: its use cases over DynamoDB and Stripe, and what its handlers check.
#[derive(Clone)]
pub struct App {
    pub(crate) billing: Arc<Billing<DynamoStore, StripeCheckout>>,
    pub(crate) paid: Arc<PaidRequests<DynamoStore>>,
    pub(crate) secrets: Arc<WebhookSecrets>,
    pub(crate) cursors: Cursors,
    pub(crate) authenticator: Authenticator,
}

impl FromRef<App> for Authenticator {
    fn from_ref(app: &App) -> Self {
        app.authenticator.clone()
    }
}

impl App {
    /// The function over `aws`, as `config` says.
    pub fn build(config: Config, aws: &SdkConfig) -> Result<Self, crate::Error> {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name);
        Ok(Self {
            authenticator: config
                .session
                .authenticator(Arc::new(config.session.tokens()), store.clone()),
            cursors: config.session.cursors(),
            secrets: Arc::new(config.webhook_secrets),
            paid: Arc::new(PaidRequests {
                store: store.clone(),
                limits: config.paid,
            }),
            billing: Arc::new(Billing {
                store,
                payments: config.stripe.checkout()?,
                packs: Arc::new(config.packs),
                livemode: config.stripe.livemode(),
            }),
        })
    }

    /// The function as Lambda runs it: configuration and AWS from the process environment, secrets
    /// read from Secrets Manager where it names them (`artforge_secrets`).
    pub async fn from_env() -> Result<Self, crate::Error> {
        let (env, aws) = artforge_secrets::process_env().await?;
        let config = Config::from_env(&env)?;
        Self::build(config, &aws)
    }

    /// The function as a service: its routes, finished (fallbacks, request ids).
    pub fn router(self) -> Router {
        artforge_http::finish(self.routes())
    }

    /// The routes at their API Gateway paths, for merging with other functions' routes.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/billing/packs", get(routes::packs))
            .route("/billing/checkout", post(routes::checkout))
            .route("/billing/purchases", get(routes::purchases))
            .route("/billing/purchases/{session_id}", get(routes::purchase))
            .route("/billing/webhook", post(routes::webhook))
            .with_state(self)
    }
}

/// The routes' OpenAPI description; the local server merges every function's into the
/// `/openapi.json` it serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        routes::packs,
        routes::purchases,
        routes::purchase,
        routes::checkout,
        routes::webhook
    ))]
    struct Doc;
    <Doc as utoipa::OpenApi>::openapi()
}
