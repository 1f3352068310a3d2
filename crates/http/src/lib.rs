//! HTTP plumbing every function shares, so each handler only says what it does:
//!
//! - [`problem`]: errors as RFC 9457 problem details with stable codes;
//! - [`json`]: JSON-only request bodies with a size cap, and JSON responses;
//! - [`query`]: query strings whose bad values are a 422, and list pages with sealed cursors;
//! - [`token`]: HS256 session tokens chosen by `kid`; [`cookie`]: the session cookie;
//! - [`auth`]: the extractor that turns a cookie or bearer token into a signed-in user;
//! - [`client`]: the client address (API Gateway's `sourceIp`) and rate-limit answers;
//! - [`cursor`]: opaque, tamper-evident list cursors bound to a user and a list;
//! - [`request_id`]: a request id on every response, log line and problem body;
//! - [`cors`]: configured origins; [`session`]: the session settings every function reads;
//! - [`views`]: the image object, which the gallery and the generation API both answer;
//! - [`openapi`]: what every function's OpenAPI description shares (security, problems).
//!
//! Each function's own request and response shapes live beside its handlers.

pub mod auth;
pub mod client;
pub mod cookie;
pub mod cors;
pub mod cursor;
pub mod json;
mod jwt_crypto;
pub mod openapi;
pub mod problem;
pub mod query;
pub mod request_id;
pub mod session;
pub mod token;
pub mod views;

pub use auth::{Authenticator, SignedIn};
pub use json::Json;
pub use problem::{ApiError, ErrorCode};
pub use query::Query;

/// A function's routes made into a whole service: unknown routes and methods answer problem
/// bodies, and every response (those too) carries a request id. The local server merges
/// several functions' `routes` and finishes them once.
pub fn finish(routes: axum::Router) -> axum::Router {
    routes
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "the route does not take this method",
            )
        })
        .layer(axum::middleware::from_fn(request_id::layer))
}
