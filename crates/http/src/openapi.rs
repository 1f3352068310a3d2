//! What every function's OpenAPI description shares: the session's security schemes and the
//! problem answers each kind of operation can give, added by one pass over the document so no
//! handler repeats them (and none forgets them).
//!
//! Each function describes its own routes with `#[utoipa::path]` beside the handlers; the local
//! server merges them into the one document it serves at `/openapi.json`. Nothing here runs in
//! a Lambda: the descriptions are only built when asked for.

use utoipa::openapi::{
    ContentBuilder, HttpMethod, OpenApi, PathItem, RefOr, ResponseBuilder,
    path::{Operation, ParameterIn},
    security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::{ErrorCode, problem::PROBLEM_JSON};

/// The security scheme of a bearer session token.
pub const BEARER: &str = "bearer";
/// The security scheme of the session cookie (the browser's way; same token).
pub const COOKIE: &str = "cookie";

/// Adds the session's two security schemes and, to every operation, the problem answers its
/// shape implies (see [`implied_problems`]). Call once on the merged document.
pub fn finish(doc: &mut OpenApi, cookie_name: &str) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("The session token from register or login."))
                .build(),
        ),
    );
    components.add_security_scheme(
        COOKIE,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie_name,
            "The session cookie register and login set (HttpOnly).",
        ))),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        for (_, operation) in operations(item) {
            for code in implied_problems(path, operation) {
                add_problem(operation, code);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(HttpMethod, &mut Operation)> {
    [
        (HttpMethod::Get, item.get.as_mut()),
        (HttpMethod::Put, item.put.as_mut()),
        (HttpMethod::Post, item.post.as_mut()),
        (HttpMethod::Delete, item.delete.as_mut()),
        (HttpMethod::Patch, item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
    .collect()
}

/// The problems an operation can answer whatever it does: any operation may fail on our side
/// or find the store unavailable; a body can be malformed, too large, of the wrong type or
/// invalid; query parameters can be invalid and cursors foreign; a path id can name nothing;
/// a required session can be missing or expired.
pub fn implied_problems(path: &str, operation: &Operation) -> Vec<ErrorCode> {
    let mut codes = vec![ErrorCode::Internal, ErrorCode::ServiceUnavailable];
    if operation.request_body.is_some() {
        codes.extend([
            ErrorCode::InvalidJson,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::ValidationFailed,
        ]);
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    if parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query))
    {
        codes.push(ErrorCode::ValidationFailed);
    }
    if parameters.iter().any(|p| p.name == "cursor") {
        codes.push(ErrorCode::InvalidCursor);
    }
    if path.contains('{') {
        codes.push(ErrorCode::NotFound);
    }
    let signed_in_only = operation
        .security
        .as_deref()
        .is_some_and(|s| !s.is_empty() && !s.iter().any(is_anonymous));
    if signed_in_only {
        codes.push(ErrorCode::Unauthorized);
    }
    codes
}

fn is_anonymous(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    requirement == &utoipa::openapi::security::SecurityRequirement::default()
}

/// Documents `code`'s status as a problem answer, unless the operation already says what that
/// status means.
fn add_problem(operation: &mut Operation, code: ErrorCode) {
    let status = code.status().as_u16().to_string();
    if operation.responses.responses.contains_key(&status) {
        return;
    }
    operation
        .responses
        .responses
        .insert(status, RefOr::T(problem_response(&[code])));
}

/// A problem+json answer whose `code` is one of `codes`.
pub fn problem_response(codes: &[ErrorCode]) -> utoipa::openapi::Response {
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    ResponseBuilder::new()
        .description(format!("A problem: {}", names.join(", ")))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .build()
}
