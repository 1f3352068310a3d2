//! RFC 9457 problem details. Every error an API answers is an [`ApiError`]: a stable
//! [`ErrorCode`] (which fixes the status), a human detail, and for validation the fields.
//! A 5xx logs its cause chain and answers only an opaque detail.

use std::error::Error as StdError;

use artforge_domain::FieldError;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Stable, snake_case error codes (DESIGN §7). A code never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    ValidationFailed,
    InvalidCursor,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unauthorized,
    TokenExpired,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    EmailTaken,
    InvalidCredentials,
    TooManyAttempts,
    InsufficientCredits,
    IdempotencyKeyReused,
    RateLimited,
    ContentPolicyViolation,
    ProviderUnavailable,
    GenerationFailed,
    InvalidSignature,
    ServiceUnavailable,
    /// The user's daily image quota is used up (429, `Retry-After` = the next UTC midnight).
    DailyQuotaExceeded,
    /// The service's daily generation budget is used up (503, `Retry-After` likewise).
    GenerationPaused,
    /// An upload cannot be used: missing, expired, too large, not an image of its type, too
    /// many pixels (422, naming the field).
    UploadInvalid,
    /// An edit's mask is not the first source's pixel size (422, naming the field).
    MaskMismatch,
    /// More than 100 images asked for in one archive (422).
    ArchiveTooLarge,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidJson | Self::InvalidCursor | Self::InvalidSignature => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized | Self::TokenExpired | Self::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            Self::InsufficientCredits => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict | Self::EmailTaken => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ValidationFailed
            | Self::IdempotencyKeyReused
            | Self::ContentPolicyViolation
            | Self::UploadInvalid
            | Self::MaskMismatch
            | Self::ArchiveTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyAttempts | Self::RateLimited | Self::DailyQuotaExceeded => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::GenerationFailed | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ProviderUnavailable => StatusCode::BAD_GATEWAY,
            Self::ServiceUnavailable | Self::GenerationPaused => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::ValidationFailed => "validation_failed",
            Self::InvalidCursor => "invalid_cursor",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthorized => "unauthorized",
            Self::TokenExpired => "token_expired",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::EmailTaken => "email_taken",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TooManyAttempts => "too_many_attempts",
            Self::InsufficientCredits => "insufficient_credits",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::RateLimited => "rate_limited",
            Self::ContentPolicyViolation => "content_policy_violation",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::GenerationFailed => "generation_failed",
            Self::InvalidSignature => "invalid_signature",
            Self::ServiceUnavailable => "service_unavailable",
            Self::DailyQuotaExceeded => "daily_quota_exceeded",
            Self::GenerationPaused => "generation_paused",
            Self::UploadInvalid => "upload_invalid",
            Self::MaskMismatch => "mask_mismatch",
            Self::ArchiveTooLarge => "archive_too_large",
            Self::Internal => "internal",
        }
    }

    fn title(self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }
}

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    cause: Option<Box<dyn StdError + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            cause: None,
        }
    }

    /// A 422 naming the rejected fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationFailed, detail)
        }
    }

    /// A 422 of another code than `validation_failed` that names the fields it is about
    /// (`upload_invalid`, `mask_mismatch`).
    pub fn about_fields(code: ErrorCode, errors: Vec<FieldError>) -> Self {
        Self {
            code,
            ..Self::validation(errors)
        }
    }

    /// An unexpected failure: logged with its cause chain, answered as an opaque 500.
    pub fn internal(cause: impl StdError + Send + Sync + 'static) -> Self {
        Self::new(ErrorCode::Internal, "something went wrong on our side").caused_by(cause)
    }

    /// A dependency is briefly unavailable: logged, answered as a 503 to retry.
    pub fn unavailable(cause: impl StdError + Send + Sync + 'static) -> Self {
        Self::new(
            ErrorCode::ServiceUnavailable,
            "the service is briefly unavailable; try again",
        )
        .caused_by(cause)
        .retry_after(1)
    }

    pub fn caused_by(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn fields(&self) -> &[FieldError] {
        &self.errors
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        Self::validation(vec![err])
    }
}

/// The body of every error answer (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Problem)]
pub struct ProblemBody<'a> {
    /// `https://artforge.dev/problems/<code with dashes>`.
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

/// An error and its sources, joined with `: `, for logs and configuration errors.
pub fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let cause = self
            .cause
            .as_deref()
            .map(|c| chain(c as &(dyn StdError + 'static)));
        if status.is_server_error() {
            tracing::error!(
                code = self.code.as_str(),
                cause = cause.as_deref().unwrap_or("-"),
                "request failed"
            );
        } else {
            tracing::info!(code = self.code.as_str(), detail = %self.detail, "request rejected");
            if matches!(
                self.code,
                ErrorCode::RateLimited
                    | ErrorCode::TooManyAttempts
                    | ErrorCode::DailyQuotaExceeded
                    | ErrorCode::GenerationPaused
            ) {
                artforge_metrics::refused(self.code.as_str());
            }
        }
        let body = ProblemBody {
            kind: format!(
                "https://artforge.dev/problems/{}",
                self.code.as_str().replace('_', "-")
            ),
            title: self.code.title(),
            status: status.as_u16(),
            detail: &self.detail,
            code: self.code,
            request_id: request_id::current(),
            errors: &self.errors,
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The one mapping of store failures to HTTP, shared by every function.
impl From<artforge_domain::StoreError> for ApiError {
    fn from(err: artforge_domain::StoreError) -> Self {
        use artforge_domain::StoreError as E;
        match err {
            E::EmailTaken => Self::new(
                ErrorCode::EmailTaken,
                "an account with this email already exists",
            ),
            E::InsufficientCredits(e) => Self::new(
                ErrorCode::InsufficientCredits,
                format!(
                    "this needs {} credits and the balance is {}",
                    e.needed, e.balance
                ),
            ),
            E::NotFound => Self::new(ErrorCode::NotFound, "not found"),
            E::BadPosition => Self::new(
                ErrorCode::InvalidCursor,
                "the cursor is not valid for this list",
            ),
            e @ (E::Contention | E::Unavailable(_)) => Self::unavailable(e),
            e @ (E::Corrupt(_) | E::Overflow(_) | E::SignupCreditsUsed) => Self::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn a_problem_carries_type_title_status_detail_and_code() {
        let response =
            ApiError::new(ErrorCode::EmailTaken, "that email is registered").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let json = body(response).await;
        assert_eq!(json["code"], "email_taken");
        assert_eq!(json["status"], 409);
        assert_eq!(json["title"], "Conflict");
        assert_eq!(json["detail"], "that email is registered");
        assert!(
            json["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/email-taken"))
        );
    }

    #[tokio::test]
    async fn an_internal_error_never_shows_its_cause() {
        let cause =
            std::io::Error::other("table artforge-prod: AccessDenied for arn:aws:iam::1234");
        let json = body(ApiError::internal(cause).into_response()).await;
        let text = json.to_string();
        assert_eq!(json["code"], "internal");
        assert!(
            !text.contains("AccessDenied") && !text.contains("arn:"),
            "{text}"
        );
    }

    #[test]
    fn every_code_is_written_as_its_serialised_name() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::TooManyAttempts,
            ErrorCode::ServiceUnavailable,
        ] {
            assert_eq!(serde_json::to_value(code).ok(), Some(code.as_str().into()));
        }
    }
}
