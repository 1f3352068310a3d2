//! A request id for every request: API Gateway's when there is one, otherwise a well-formed
//! incoming `x-request-id`, otherwise a new ULID. It is on the response, in the tracing span and
//! in every problem body.

use axum::{extract::Request, middleware::Next, response::Response};
use http::HeaderValue;
use lambda_http::{RequestExt, request::RequestContext};
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if called inside one.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn pick(request: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref()
        && let Some(id) = &ctx.request_id
    {
        return id.clone();
    }
    request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| ulid::Ulid::generate().to_string(), str::to_owned)
}

/// Middleware: `axum::middleware::from_fn(request_id::layer)`.
pub async fn layer(request: Request, next: Next) -> Response {
    let id = pick(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        status = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    let header = HeaderValue::from_str(&id).ok();
    let mut response = REQUEST_ID
        .scope(id, next.run(request).instrument(span.clone()))
        .await;
    span.record("status", response.status().as_u16());
    span.in_scope(|| tracing::info!("answered"));
    if let Some(value) = header {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
