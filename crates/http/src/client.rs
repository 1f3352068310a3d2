//! Who is asking, by network address, and the limits on how often: the [`ClientIp`] extractor
//! reads API Gateway's `requestContext.http.sourceIp` (the local server puts the TCP peer
//! there; a client-sent header such as `X-Forwarded-For` is never read), and
//! [`paid_limits`] reads the paid routes' limits from the environment.

use std::convert::Infallible;

use artforge_domain::{
    ClientAddress, PaidLimits, PaidRequests, RateLimit, RateLimits, UserId, Verdict,
};
use artforge_runtime::{ConfigError, Env};
use axum::extract::FromRequestParts;
use http::request::Parts;
use lambda_http::{RequestExt, request::RequestContext};

use crate::{ApiError, ErrorCode};

/// The client address of a request. Without one (never behind API Gateway) the request is
/// counted with every other such request, under [`ClientAddress::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub ClientAddress);

/// The address API Gateway saw the request come from, if the request has one.
pub fn source_ip(parts: &Parts) -> Option<ClientAddress> {
    match parts.extensions.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.as_deref().and_then(ClientAddress::parse)
        }
        _ => None,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(source_ip(parts).unwrap_or_else(|| {
            tracing::warn!("no client address in the request context; counted as unknown");
            ClientAddress::Unknown
        })))
    }
}

/// The answer to a request over a rate limit: 429 `rate_limited`, `Retry-After` in whole
/// seconds (rounded up, at least one).
pub fn rate_limited(retry_after: time::Duration, what: &str) -> ApiError {
    let seconds = u64::try_from(retry_after.whole_seconds()).unwrap_or(0)
        + u64::from(retry_after.subsec_nanoseconds() > 0);
    let seconds = seconds.max(1);
    ApiError::new(
        ErrorCode::RateLimited,
        format!("too many {what}; try again in {seconds} seconds"),
    )
    .retry_after(seconds)
}

/// Admits `user`'s paid request from `from`, or answers 429 `rate_limited`: the one gate of
/// the paid routes that decide nothing before it (generations, uploads, checkouts); an
/// archive is admitted through the same [`PaidRequests`] by its use case (ADR 0152).
pub async fn admit_paid<R: RateLimits>(
    paid: &PaidRequests<R>,
    user: UserId,
    from: ClientAddress,
) -> Result<(), ApiError> {
    match paid
        .admit(user, from, time::OffsetDateTime::now_utc())
        .await?
    {
        Verdict::Allowed => Ok(()),
        Verdict::Refused { retry_after } => Err(rate_limited(retry_after, "paid requests")),
    }
}

/// `PAID_REQUESTS_PER_ADDRESS_PER_MINUTE` (default 60) and `PAID_REQUESTS_PER_USER_PER_MINUTE`
/// (default 30): the limits of every paid route (DESIGN §9).
pub fn paid_limits(env: &Env) -> Result<PaidLimits, ConfigError> {
    let defaults = PaidLimits::default();
    Ok(PaidLimits {
        per_address: RateLimit::per_minute(env.parsed_or(
            "PAID_REQUESTS_PER_ADDRESS_PER_MINUTE",
            defaults.per_address.limit,
        )?),
        per_user: RateLimit::per_minute(
            env.parsed_or("PAID_REQUESTS_PER_USER_PER_MINUTE", defaults.per_user.limit)?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;

    use super::*;

    fn parts(source_ip: Option<&str>, forwarded: &str) -> Parts {
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = source_ip.map(str::to_owned);
        let request = http::Request::builder()
            .header("x-forwarded-for", forwarded)
            .body(())
            .expect("a request")
            .with_request_context(RequestContext::ApiGatewayV2(context));
        request.into_parts().0
    }

    #[tokio::test]
    async fn the_address_is_api_gateways_source_ip_never_a_forwarded_header() {
        let mut with = parts(Some("203.0.113.5"), "198.51.100.1");
        let ClientIp(address) = ClientIp::from_request_parts(&mut with, &())
            .await
            .expect("infallible");
        assert_eq!(ClientAddress::parse("203.0.113.5"), Some(address));
        let mut without = parts(None, "198.51.100.1");
        let ClientIp(address) = ClientIp::from_request_parts(&mut without, &())
            .await
            .expect("infallible");
        assert_eq!(address, ClientAddress::Unknown);
    }

    fn paid(per_address: u32, per_user: u32) -> PaidRequests<artforge_fakes::MemoryStore> {
        PaidRequests {
            store: artforge_fakes::MemoryStore::new(),
            limits: PaidLimits {
                per_address: RateLimit::per_minute(per_address),
                per_user: RateLimit::per_minute(per_user),
            },
        }
    }

    const NOW: time::OffsetDateTime = time::macros::datetime!(2026-12-01 12:00:20 UTC);

    #[tokio::test]
    async fn a_user_past_its_paid_limit_is_refused_until_the_minute_is_over_and_others_are_not() {
        let paid = paid(60, 3);
        let (ada, grace) = (UserId::new(), UserId::new());
        let home = ClientAddress::parse("203.0.113.1").expect("an address");
        let office = ClientAddress::parse("198.51.100.1").expect("an address");
        for from in [home, office, home] {
            assert_eq!(
                paid.admit(ada, from, NOW).await.expect("counted"),
                Verdict::Allowed
            );
        }
        assert_eq!(
            paid.admit(ada, office, NOW).await.expect("counted"),
            Verdict::Refused {
                retry_after: time::Duration::seconds(40)
            },
            "the user's limit holds from any address"
        );
        assert_eq!(
            paid.admit(grace, home, NOW).await.expect("counted"),
            Verdict::Allowed,
            "another user at the same address"
        );
        assert_eq!(
            paid.admit(ada, home, NOW + time::Duration::seconds(40))
                .await
                .expect("counted"),
            Verdict::Allowed,
            "the next minute"
        );
    }

    #[tokio::test]
    async fn one_address_past_its_paid_limit_is_refused_whichever_user_asks() {
        let paid = paid(2, 30);
        let from = ClientAddress::parse("203.0.113.1").expect("an address");
        for _ in 0..2 {
            assert_eq!(
                paid.admit(UserId::new(), from, NOW).await.expect("counted"),
                Verdict::Allowed
            );
        }
        assert!(matches!(
            paid.admit(UserId::new(), from, NOW).await.expect("counted"),
            Verdict::Refused { .. }
        ));
        let elsewhere = ClientAddress::parse("2001:db8::1").expect("an address");
        assert_eq!(
            paid.admit(UserId::new(), elsewhere, NOW)
                .await
                .expect("counted"),
            Verdict::Allowed
        );
    }

    #[tokio::test]
    async fn a_refused_paid_request_answers_429_rate_limited_with_retry_after() {
        let paid = paid(60, 0);
        let refused = admit_paid(&paid, UserId::new(), ClientAddress::Unknown)
            .await
            .expect_err("a limit of 0 refuses");
        assert_eq!(refused.code(), ErrorCode::RateLimited);
        let answer = axum::response::IntoResponse::into_response(refused);
        assert_eq!(answer.status(), http::StatusCode::TOO_MANY_REQUESTS);
        assert!(answer.headers().contains_key(http::header::RETRY_AFTER));
    }

    #[test]
    fn a_refusal_waits_at_least_a_second_rounded_up() {
        for (wait, seconds) in [
            (time::Duration::milliseconds(200), "1"),
            (time::Duration::milliseconds(14_100), "15"),
            (time::Duration::seconds(15), "15"),
        ] {
            let answer = axum::response::IntoResponse::into_response(rate_limited(wait, "things"));
            assert_eq!(answer.status(), http::StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(answer.headers()[http::header::RETRY_AFTER], seconds);
        }
    }
}
