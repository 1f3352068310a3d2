//! CORS for the configured origins only, with credentials (the session cookie).
//!
//! In AWS the HTTP API answers CORS from the template's `CorsAllowedOrigins`; the local server
//! applies this layer with `CORS_ALLOWED_ORIGINS`, so browsers see the same rules.

use http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub fn layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static(crate::request_id::HEADER),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static(crate::request_id::HEADER),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// `CORS_ALLOWED_ORIGINS`: comma-separated origins.
pub fn origins_from(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}
