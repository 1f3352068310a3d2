//! The HTTP transport under async-openai: plain `reqwest`, one attempt per call, and a failed
//! answer turned into an [`HttpFailure`] that keeps what async-openai's own error would drop.
//!
//! async-openai 0.43 sends every request through a tower stack. Its default stack (also behind
//! `Client::with_http_client`) wraps the transport in `OpenAIRetryLayer`: three retries of 429,
//! 5xx and connect errors, 100 ms doubling or `Retry-After` however long it is, blind to our
//! job's deadline. And its error for a failed answer, `OpenAIError::ApiError`, keeps the status
//! and the JSON error but not the headers, so `Retry-After` is lost (a non-JSON 4xx even loses
//! the status). Installing this service with `Client::with_http_service` (the `middleware`
//! feature) removes that retry layer, so the adapter's own policy is the only one, and hands
//! the whole failure to it as `OpenAIError::Boxed(HttpFailure)`.

use std::{future::Future, pin::Pin, task::Poll, time::Duration};

use async_openai::{
    error::{ApiError, OpenAIError, WrappedError},
    middleware::HttpRequestFactory,
};
use reqwest::{StatusCode, header::HeaderMap};

/// The most of an error body kept as its message when it is not OpenAI's error JSON.
const BODY_EXCERPT_CHARS: usize = 500;

/// A non-2xx answer of the images endpoint, with everything classification needs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the provider answered {status}: {message}")]
pub(crate) struct HttpFailure {
    pub status: StatusCode,
    /// From `retry-after-ms` or `Retry-After` (delay in seconds); an HTTP date is ignored.
    pub retry_after: Option<Duration>,
    /// OpenAI's `{"error": {...}}`, when the body was that.
    pub error: Option<ApiError>,
    /// The error's message, or an excerpt of a body that was not OpenAI's error JSON.
    pub message: String,
}

impl HttpFailure {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let (error, message) = match response.bytes().await {
            Ok(body) => match serde_json::from_slice::<WrappedError>(&body) {
                Ok(wrapped) => (Some(wrapped.error.clone()), wrapped.error.message),
                Err(_) => (
                    None,
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(BODY_EXCERPT_CHARS)
                        .collect(),
                ),
            },
            Err(e) => (None, format!("(the error body could not be read: {e})")),
        };
        Self {
            status,
            retry_after,
            error,
            message,
        }
    }

    /// `code` of OpenAI's error, when there is one.
    pub fn code(&self) -> Option<&str> {
        self.error.as_ref().and_then(|e| e.code.as_deref())
    }

    /// `type` of OpenAI's error, when there is one.
    pub fn kind(&self) -> Option<&str> {
        self.error.as_ref().and_then(|e| e.r#type.as_deref())
    }
}

/// How long the provider asks us to wait: OpenAI's `retry-after-ms` (milliseconds, may be
/// fractional) first, else `Retry-After` as a delay in seconds. A `Retry-After` HTTP date, a
/// negative or unparsable value counts as absent (the backoff decides).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    number("retry-after-ms")
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
        .or_else(|| {
            number(reqwest::header::RETRY_AFTER.as_str())
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
        })
}

/// The tower service async-openai sends its requests through: one attempt, no retry.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
}

impl Transport {
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

type Attempt = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Attempt;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let response = client
                .execute(request)
                .await
                .map_err(OpenAIError::Reqwest)?;
            if response.status().is_success() {
                return Ok(response);
            }
            Err(OpenAIError::Boxed(Box::new(
                HttpFailure::read(response).await,
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, reqwest::header::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_openais_milliseconds_win() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 1.5 ")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[
                ("retry-after", "20"),
                ("retry-after-ms", "250")
            ])),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn a_retry_after_date_or_garbage_counts_as_absent() {
        assert_eq!(retry_after(&headers(&[])), None);
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            None
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-3")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "NaN")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "1e400")])), None);
    }
}
