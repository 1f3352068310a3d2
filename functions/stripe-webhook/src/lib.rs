//! The billing function: credit packs, purchase history and the Stripe webhook that grants
//! and claws back credits through the ledger. `main.rs` wires it to Lambda; the local server
//! mounts the same [`routes`].

pub mod config;
mod events;
mod routes;
pub mod signature;

use std::sync::Arc;

use artforge_domain::{Packs, Purchases, Sessions};
use artforge_http::{Authenticator, cursor::Cursors};
use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};

pub use config::Config;
use signature::WebhookSecrets;

#[derive(Clone)]
pub struct BillingState<S> {
    pub store: S,
    pub packs: Arc<Packs>,
    pub secrets: Arc<WebhookSecrets>,
    pub cursors: Cursors,
    pub authenticator: Authenticator,
}

impl<S: Sessions + Clone + 'static> BillingState<S> {
    pub fn new(config: Config, store: S) -> Self {
        Self {
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

impl<S> FromRef<BillingState<S>> for Authenticator {
    fn from_ref(state: &BillingState<S>) -> Self {
        state.authenticator.clone()
    }
}

/// The billing function as a service: its routes, finished (fallbacks, request ids).
pub fn router<S>(state: BillingState<S>) -> Router
where
    S: Purchases + Sessions + Clone + 'static,
{
    artforge_http::finish(routes(state))
}

/// The billing routes at their API Gateway paths, for merging with other functions' routes.
pub fn routes<S>(state: BillingState<S>) -> Router
where
    S: Purchases + Sessions + Clone + 'static,
{
    Router::new()
        .route("/billing/packs", get(routes::packs::<S>))
        .route("/billing/purchases", get(routes::purchases::<S>))
        .route("/billing/webhook", post(routes::webhook::<S>))
        .with_state(state)
}
