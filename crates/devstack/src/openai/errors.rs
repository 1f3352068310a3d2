//! OpenAI's answer shapes: its error `{"error": {message, type, param, code}}`, and any JSON
//! body with its content type.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// OpenAI's error answer.
pub(super) fn error(
    status: StatusCode,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
    message: &str,
) -> Response {
    json_answer(
        status,
        &json!({"error": {"message": message, "type": kind, "param": param, "code": code}}),
    )
}

pub(super) fn invalid(param: Option<&str>, code: Option<&str>, message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        param,
        code,
        message,
    )
}

pub(super) fn json_answer(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
