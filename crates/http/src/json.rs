//! JSON bodies. Requests must say `Content-Type: application/json` (415 otherwise), stay under
//! [`MAX_BODY_BYTES`] (413) and parse (400 `invalid_json`) into the target type, whose missing,
//! mistyped or unknown fields are a 422 naming the field.

use artforge_domain::FieldError;
use axum::{
    extract::{FromRequest, Request},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::{Serialize, de::DeserializeOwned};

use crate::{ApiError, ErrorCode};

/// The largest request body any route takes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body or response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads the whole body, at most [`MAX_BODY_BYTES`].
pub async fn read_body(request: Request) -> Result<Bytes, ApiError> {
    read_body_up_to(request, MAX_BODY_BYTES).await
}

/// Reads the whole body, at most `max` bytes (for bodies that are not a client's JSON, such
/// as Stripe's events).
pub async fn read_body_up_to(request: Request, max: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body must be at most {max} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    match Limited::new(request.into_body(), max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(err) => Err(
            ApiError::new(ErrorCode::InvalidJson, "the body could not be read")
                .caused_by(BodyError(err.to_string())),
        ),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("reading the request body failed: {0}")]
struct BodyError(String);

/// Parses `bytes` as `T`, telling syntax errors (400) from shape errors (422 with the field).
/// Every body the API takes is a JSON object: serde would also fill a struct from an array of
/// its fields in order (`[null, null]`), which no client means, so that is a 422 too.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    let value = match value {
        // Trailing data after the value is broken JSON too.
        Ok(v) => {
            deserializer
                .end()
                .map_err(|_| ApiError::new(ErrorCode::InvalidJson, "the body is not valid JSON"))?;
            return match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => Ok(v),
                _ => Err(FieldError::new("body", "must be a JSON object").into()),
            };
        }
        Err(err) => Err::<T, _>(err),
    };
    value.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                // Messages read "missing field `x` at line 1 column 2"; keep the part before
                // the position, and name the field from the message when the path is the root.
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                let field = if path == "." {
                    message
                        .split('`')
                        .nth(1)
                        .filter(|_| {
                            message.starts_with("missing field")
                                || message.starts_with("unknown field")
                        })
                        .unwrap_or("body")
                        .to_owned()
                } else {
                    path
                };
                ApiError::validation(vec![FieldError::new(field, message)])
            }
            _ => ApiError::new(ErrorCode::InvalidJson, "the body is not valid JSON"),
        }
    })
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = read_body(request).await?;
        parse(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response(),
            Err(err) => ApiError::internal(err).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    fn code_and_field(body: &str) -> (ErrorCode, Option<String>) {
        match parse::<Login>(body.as_bytes()) {
            Ok(_) => panic!("{body} parsed"),
            Err(err) => (err.code(), err.fields().first().map(|f| f.field.clone())),
        }
    }

    #[test]
    fn broken_json_is_invalid_json() {
        assert_eq!(code_and_field("{\"email\":").0, ErrorCode::InvalidJson);
        assert_eq!(code_and_field("").0, ErrorCode::InvalidJson);
        assert_eq!(
            code_and_field(r#"{"email":"a","password":"b"} {}"#).0,
            ErrorCode::InvalidJson
        );
    }

    #[test]
    fn missing_mistyped_and_unknown_fields_are_named() {
        assert_eq!(
            code_and_field(r#"{"email":"a@b.co"}"#),
            (ErrorCode::ValidationFailed, Some("password".into()))
        );
        assert_eq!(
            code_and_field(r#"{"email":"a@b.co","password":12345678}"#),
            (ErrorCode::ValidationFailed, Some("password".into()))
        );
        assert_eq!(
            code_and_field(r#"{"email":"a@b.co","password":"x","admin":true}"#),
            (ErrorCode::ValidationFailed, Some("admin".into()))
        );
        assert_eq!(code_and_field("[1,2]").0, ErrorCode::ValidationFailed);
    }

    /// Found by schemathesis: `PATCH /images/{id}` with `[null, null]` answered 200, serde
    /// having read the array as the struct's fields in order.
    #[test]
    fn an_array_of_the_fields_is_not_an_object() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Update {
            tags: Option<Vec<String>>,
            visibility: Option<String>,
        }
        for body in ["[null, null]", " [null]", "[]"] {
            let err = parse::<Update>(body.as_bytes()).expect_err(body);
            assert_eq!(err.code(), ErrorCode::ValidationFailed, "{body}");
            assert_eq!(err.fields()[0].field, "body", "{body}");
        }
        assert_eq!(
            code_and_field(r#"["a@b.co", "password1"]"#),
            (ErrorCode::ValidationFailed, Some("body".into()))
        );
        assert!(parse::<Update>(b" {\"tags\": null}").is_ok());
    }

    #[test]
    fn only_application_json_counts_as_json() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&headers));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&headers));
    }
}
