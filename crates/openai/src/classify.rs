//! Which failures are worth another attempt (DESIGN §3): 429 `rate_limit_exceeded`, 408, 5xx,
//! transport failures and timeouts are; `insufficient_quota`, content policy and every other 4xx
//! are final.

use std::time::Duration;

use artforge_domain::ProviderError;
use async_openai::error::OpenAIError;
use reqwest::StatusCode;

use crate::transport::HttpFailure;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One attempt's failure, sorted.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Another attempt may succeed; the provider may have said when.
    Transient {
        source: BoxError,
        retry_after: Option<Duration>,
    },
    /// What the job gets; no attempt will do better.
    Final(ProviderError),
}

impl Failure {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            Self::Final(_) => None,
        }
    }

    /// The job's error once no further attempt is made: a transient failure still standing
    /// is `Unavailable`, with the failure as its source.
    pub fn into_provider_error(self) -> ProviderError {
        match self {
            Self::Transient { source, .. } => ProviderError::Unavailable(source),
            Self::Final(error) => error,
        }
    }
}

/// Sorts what async-openai answered.
pub(crate) fn classify(error: OpenAIError) -> Failure {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
            Ok(failure) => classify_http(*failure),
            // Only our transport is installed, and it boxes nothing else.
            Err(other) => Failure::Final(ProviderError::Unavailable(other)),
        },
        // Not produced through our transport; sorted the same way should that change.
        OpenAIError::ApiError(answer) => classify_http(HttpFailure {
            status: answer.status_code,
            retry_after: None,
            message: answer.api_error.message.clone(),
            error: Some(answer.api_error),
        }),
        // A request that cannot even be built (a bad base URL) will not build next time.
        OpenAIError::Reqwest(e) if e.is_builder() => Failure::Final(ProviderError::Unavailable(
            Box::new(OpenAIError::Reqwest(e)),
        )),
        // Connect, TLS, reset, timeout (the per-attempt one) or a body cut short.
        OpenAIError::Reqwest(e) => Failure::Transient {
            source: Box::new(OpenAIError::Reqwest(e)),
            retry_after: None,
        },
        OpenAIError::JSONDeserialize(e, _) => Failure::Final(ProviderError::BadAnswer(format!(
            "the answer is not the images API's JSON: {e}"
        ))),
        // Arguments refused before sending, and the file and stream errors of other APIs.
        other => Failure::Final(ProviderError::Unavailable(Box::new(other))),
    }
}

/// Sorts a non-2xx answer.
pub(crate) fn classify_http(failure: HttpFailure) -> Failure {
    let status = failure.status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        // OpenAI sends `insufficient_quota` as both `type` and `code`; either is enough.
        if failure.code() == Some("insufficient_quota")
            || failure.kind() == Some("insufficient_quota")
        {
            return Failure::Final(ProviderError::QuotaExceeded(failure.message));
        }
        return transient(failure);
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return transient(failure);
    }
    if status.is_client_error() && is_content_policy(&failure) {
        return Failure::Final(ProviderError::ContentPolicy(failure.message));
    }
    // OpenAI answers a shut-down (or unknown) model with 404 `model_not_found`.
    if status == StatusCode::GONE
        || (status == StatusCode::NOT_FOUND && failure.code() == Some("model_not_found"))
    {
        return Failure::Final(ProviderError::ModelRetired(failure.message));
    }
    Failure::Final(ProviderError::Rejected {
        status: status.as_u16(),
        message: failure.message,
    })
}

/// The shapes of a refusal by the safety system: `content_policy_violation` (the DALL·E
/// models), `moderation_blocked` (the GPT image models), or an `image_generation_user_error`
/// that says why in words.
fn is_content_policy(failure: &HttpFailure) -> bool {
    if matches!(
        failure.code(),
        Some("content_policy_violation" | "moderation_blocked")
    ) {
        return true;
    }
    let message = failure.message.to_lowercase();
    failure.kind() == Some("image_generation_user_error")
        && (message.contains("safety") || message.contains("policy"))
}

fn transient(failure: HttpFailure) -> Failure {
    Failure::Transient {
        retry_after: failure.retry_after,
        source: Box::new(failure),
    }
}

#[cfg(test)]
mod tests {
    use async_openai::error::ApiError;

    use super::*;

    fn answer(status: u16, kind: Option<&str>, code: Option<&str>, message: &str) -> Failure {
        classify_http(HttpFailure {
            status: StatusCode::from_u16(status).expect("a status"),
            retry_after: Some(Duration::from_secs(3)),
            error: Some(ApiError {
                message: message.into(),
                r#type: kind.map(Into::into),
                code: code.map(Into::into),
                ..ApiError::default()
            }),
            message: message.into(),
        })
    }

    #[test]
    fn a_rate_limit_is_transient_and_keeps_its_retry_after() {
        let failure = answer(
            429,
            Some("requests"),
            Some("rate_limit_exceeded"),
            "slow down",
        );
        assert!(failure.is_transient());
        assert_eq!(failure.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn an_exhausted_quota_is_final_whether_said_in_type_or_code() {
        for (kind, code) in [
            (Some("insufficient_quota"), Some("insufficient_quota")),
            (Some("invalid_request_error"), Some("insufficient_quota")),
            (Some("insufficient_quota"), None),
        ] {
            assert!(matches!(
                answer(429, kind, code, "no money").into_provider_error(),
                ProviderError::QuotaExceeded(m) if m == "no money"
            ));
        }
    }

    #[test]
    fn server_errors_and_request_timeouts_are_transient() {
        for status in [500, 502, 503, 504, 408] {
            assert!(
                answer(status, None, None, "oops").is_transient(),
                "{status}"
            );
        }
    }

    #[test]
    fn content_policy_refusals_are_recognised_in_their_three_shapes() {
        for failure in [
            answer(
                400,
                Some("invalid_request_error"),
                Some("content_policy_violation"),
                "no",
            ),
            answer(
                400,
                Some("image_generation_user_error"),
                Some("moderation_blocked"),
                "no",
            ),
            answer(
                400,
                Some("image_generation_user_error"),
                None,
                "Your request was rejected by the safety system.",
            ),
        ] {
            assert!(matches!(
                failure.into_provider_error(),
                ProviderError::ContentPolicy(_)
            ));
        }
    }

    #[test]
    fn other_client_errors_are_rejections_with_their_status() {
        let failure = answer(
            400,
            Some("image_generation_user_error"),
            None,
            "Invalid size: must be a multiple of 16.",
        );
        assert!(matches!(
            failure.into_provider_error(),
            ProviderError::Rejected { status: 400, message } if message.contains("multiple of 16")
        ));
        assert!(matches!(
            answer(
                401,
                Some("invalid_request_error"),
                Some("invalid_api_key"),
                "bad key"
            )
            .into_provider_error(),
            ProviderError::Rejected { status: 401, .. }
        ));
    }

    #[test]
    fn a_model_the_provider_no_longer_has_is_retired_not_a_rejection() {
        let gone = answer(
            404,
            Some("invalid_request_error"),
            Some("model_not_found"),
            "The model `gpt-image-2.5-flare` has been shut down.",
        );
        assert!(matches!(
            gone.into_provider_error(),
            ProviderError::ModelRetired(message) if message.contains("shut down")
        ));
        assert!(matches!(
            answer(404, None, None, "no such route").into_provider_error(),
            ProviderError::Rejected { status: 404, .. }
        ));
    }

    #[test]
    fn a_transient_failure_left_standing_is_unavailable_with_its_cause() {
        let error = answer(503, None, None, "overloaded").into_provider_error();
        let ProviderError::Unavailable(source) = error else {
            panic!("expected Unavailable, got {error:?}");
        };
        assert!(source.to_string().contains("503"), "{source}");
    }
}
