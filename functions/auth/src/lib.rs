//! The auth function: registration, login and logout, the profile, password changes and the
//! credit ledger of the signed-in user. `main.rs` wires it to Lambda; the local server mounts
//! the same [`router`].

pub mod config;
pub mod password;
mod routes;
mod views;

use std::sync::Arc;

use artforge_domain::{Accounts, Credits, Ledger, LoginThrottle, Sessions, ThrottlePolicy};
use artforge_http::{Authenticator, cookie::SessionCookie, cursor::Cursors, token::TokenKeys};
use axum::{
    Router,
    extract::FromRef,
    routing::{get, post, put},
};

pub use config::Config;
use password::PasswordHasher;

/// What the auth handlers need: the store's ports, and the keys and policies from config.
#[derive(Clone)]
pub struct AuthState<S> {
    pub store: S,
    pub hasher: Arc<PasswordHasher>,
    pub tokens: Arc<TokenKeys>,
    pub cursors: Cursors,
    pub cookie: SessionCookie,
    pub signup_credits: Credits,
    pub throttle: ThrottlePolicy,
    pub authenticator: Authenticator,
}

impl<S: Sessions + Clone + 'static> AuthState<S> {
    pub fn new(config: &Config, store: S) -> Self {
        let tokens = Arc::new(config.session.tokens());
        Self {
            authenticator: config.session.authenticator(tokens.clone(), store.clone()),
            store,
            hasher: Arc::new(PasswordHasher::owasp()),
            tokens,
            cursors: config.session.cursors(),
            cookie: config.session.cookie(),
            signup_credits: config.signup_credits,
            throttle: ThrottlePolicy::default(),
        }
    }
}

impl<S> FromRef<AuthState<S>> for Authenticator {
    fn from_ref(state: &AuthState<S>) -> Self {
        state.authenticator.clone()
    }
}

/// The auth function as a service: its routes, finished (fallbacks, request ids).
pub fn router<S>(state: AuthState<S>) -> Router
where
    S: Accounts + Sessions + LoginThrottle + Ledger + Clone + 'static,
{
    artforge_http::finish(routes(state))
}

/// The auth routes' OpenAPI description; the local server merges every function's into the
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
        routes::credits
    ))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}

/// The auth routes at their API Gateway paths, for merging with other functions' routes.
pub fn routes<S>(state: AuthState<S>) -> Router
where
    S: Accounts + Sessions + LoginThrottle + Ledger + Clone + 'static,
{
    let routes = Router::new()
        .route("/auth/register", post(routes::register::<S>))
        .route("/auth/login", post(routes::login::<S>))
        .route("/auth/logout", post(routes::logout::<S>))
        .route("/me", get(routes::me::<S>).patch(routes::rename::<S>))
        .route("/me/password", put(routes::change_password::<S>))
        .route("/me/credits", get(routes::credits::<S>));
    routes.with_state(state)
}
