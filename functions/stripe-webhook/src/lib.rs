//! The billing function: credit packs, purchase history and the Stripe webhook that grants
//! and claws back credits through the ledger. `main.rs` wires it to Lambda; the local server
//! mounts the same [`routes`].

pub mod checkout;
pub mod config;
mod events;
mod routes;
pub use artforge_stripe_signature as signature;

use std::sync::Arc;

use artforge_domain::{Accounts, Packs, Payments, Purchases, Sessions};
use artforge_http::{Authenticator, cursor::Cursors};
use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};

pub use config::Config;
use signature::WebhookSecrets;

#[derive(Clone)]
pub struct BillingState<S, P> {
    pub store: S,
    pub payments: P,
    pub packs: Arc<Packs>,
    pub secrets: Arc<WebhookSecrets>,
    pub cursors: Cursors,
    pub authenticator: Authenticator,
}

impl<S: Sessions + Clone + 'static, P> BillingState<S, P> {
    pub fn new(config: Config, store: S, payments: P) -> Self {
        Self {
            payments,
            authenticator: config
                .session
                .authenticator(Arc::new(config.session.tokens()), store.clone()),
            cursors: config.session.cursors(),
            packs: Arc::new(config.packs),
            secrets: Arc::new(config.webhook_secrets),
            store,
        }
    }
}

impl<S, P> FromRef<BillingState<S, P>> for Authenticator {
    fn from_ref(state: &BillingState<S, P>) -> Self {
        state.authenticator.clone()
    }
}

/// The billing function as a service: its routes, finished (fallbacks, request ids).
pub fn router<S, P>(state: BillingState<S, P>) -> Router
where
    S: Accounts + Purchases + Sessions + Clone + 'static,
    P: Payments + Clone + 'static,
{
    artforge_http::finish(routes(state))
}

/// The billing routes' OpenAPI description; the local server merges every function's into the
/// `/openapi.json` it serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(routes::packs, routes::purchases, routes::checkout, routes::webhook))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}

/// The billing routes at their API Gateway paths, for merging with other functions' routes.
pub fn routes<S, P>(state: BillingState<S, P>) -> Router
where
    S: Accounts + Purchases + Sessions + Clone + 'static,
    P: Payments + Clone + 'static,
{
    Router::new()
        .route("/billing/packs", get(routes::packs::<S, P>))
        .route("/billing/checkout", post(routes::checkout::<S, P>))
        .route("/billing/purchases", get(routes::purchases::<S, P>))
        .route("/billing/webhook", post(routes::webhook::<S, P>))
        .with_state(state)
}
