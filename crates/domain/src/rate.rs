//! Request rates per client address and per user, so no single client can starve another:
//! fixed windows of a counter that only grows (one atomic add per request), refused past the
//! limit until the window closes. [`PaidRequests`] is the pair of limits every paid route
//! (generations, uploads, checkouts, archives) admits its requests through.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
};

use time::{Duration, OffsetDateTime};

use crate::{StoreError, UserId, ports::RateLimits};

/// Where a request came from: API Gateway's `requestContext.http.sourceIp` (the TCP peer, as
/// API Gateway saw it; never a client-sent header). An IPv6 client is counted by its /64, the
/// smallest block one subscriber is usually given, so it cannot rotate addresses inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAddress {
    Ip(IpAddr),
    /// The request carried no address (only outside API Gateway): all such requests share one
    /// count, so they are limited together rather than not at all.
    Unknown,
}

impl ClientAddress {
    /// The address in `text`, or `None` when it is not an IP address.
    pub fn parse(text: &str) -> Option<Self> {
        let ip: IpAddr = text.trim().parse().ok()?;
        Some(Self::from(ip))
    }
}

impl From<IpAddr> for ClientAddress {
    fn from(ip: IpAddr) -> Self {
        Self::Ip(ip.to_canonical())
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Self::Ip(IpAddr::V6(v6)) => {
                let bits = u128::from(*v6) & !((1u128 << 64) - 1);
                write!(f, "{}/64", Ipv6Addr::from(bits))
            }
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// What a rate is counted for: the subject and the kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// Sign-ups from one address.
    SignupsFrom(ClientAddress),
    /// Login attempts from one address, whatever the email.
    LoginsFrom(ClientAddress),
    /// Checks of the current password by one signed-in user (password changes).
    PasswordChecksBy(UserId),
    /// Paid requests (generations, checkouts, uploads, archives) from one address.
    PaidFrom(ClientAddress),
    /// Paid requests of one user.
    PaidBy(UserId),
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignupsFrom(a) => write!(f, "SIGNUPS-FROM#{a}"),
            Self::LoginsFrom(a) => write!(f, "LOGINS-FROM#{a}"),
            Self::PasswordChecksBy(u) => write!(f, "PASSWORD-CHECKS-BY#{u}"),
            Self::PaidFrom(a) => write!(f, "PAID-FROM#{a}"),
            Self::PaidBy(u) => write!(f, "PAID-BY#{u}"),
        }
    }
}

/// At most `limit` requests per `window`; windows are aligned to the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub window: Duration,
}

/// Whether a request may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit: the window closes in `retry_after`.
    Refused {
        retry_after: Duration,
    },
}

impl RateLimit {
    pub const fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            window: Duration::MINUTE,
        }
    }

    pub const fn per_hour(limit: u32) -> Self {
        Self {
            limit,
            window: Duration::HOUR,
        }
    }

    /// The window `now` falls in: its start and its end.
    pub fn window_at(&self, now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        let length = self.window.whole_seconds().max(1);
        let start = now.unix_timestamp().div_euclid(length) * length;
        let start = OffsetDateTime::from_unix_timestamp(start).unwrap_or(now);
        (start, start + Duration::seconds(length))
    }

    /// The verdict on the request that made the window's count `count` (itself included).
    pub fn verdict(&self, count: u64, now: OffsetDateTime) -> Verdict {
        if count <= u64::from(self.limit) {
            Verdict::Allowed
        } else {
            Verdict::Refused {
                retry_after: self.window_at(now).1 - now,
            }
        }
    }

    /// Counts one request for `key` in `store` and judges it. A refused request is counted
    /// too: asking again early does not help, and the count only ever costs one write.
    pub async fn check<R: RateLimits>(
        &self,
        store: &R,
        key: RateKey,
        now: OffsetDateTime,
    ) -> Result<Verdict, StoreError> {
        let (start, end) = self.window_at(now);
        let count = store.count(&key, start, end).await?;
        Ok(self.verdict(count, now))
    }
}

/// The limits of paid routes: per client address and per user, defaults 60 and 30 a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidLimits {
    pub per_address: RateLimit,
    pub per_user: RateLimit,
}

impl Default for PaidLimits {
    fn default() -> Self {
        Self {
            per_address: RateLimit::per_minute(60),
            per_user: RateLimit::per_minute(30),
        }
    }
}

/// Admits the requests of paid routes under [`PaidLimits`].
#[derive(Debug, Clone)]
pub struct PaidRequests<R> {
    pub store: R,
    pub limits: PaidLimits,
}

impl<R: RateLimits> PaidRequests<R> {
    /// Whether `user`'s request from `from` may go on: the user's limit first (a signed-in
    /// client is held to its own), then the address's, which a user alone cannot fill.
    pub async fn admit(
        &self,
        user: UserId,
        from: ClientAddress,
        now: OffsetDateTime,
    ) -> Result<Verdict, StoreError> {
        let by_user = self
            .limits
            .per_user
            .check(&self.store, RateKey::PaidBy(user), now)
            .await?;
        if by_user != Verdict::Allowed {
            return Ok(by_user);
        }
        self.limits
            .per_address
            .check(&self.store, RateKey::PaidFrom(from), now)
            .await
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00:45 UTC);

    #[test]
    fn a_window_is_aligned_and_the_refusal_lasts_until_it_closes() {
        let limit = RateLimit::per_minute(2);
        assert_eq!(
            limit.window_at(NOW),
            (
                datetime!(2026-12-01 12:00 UTC),
                datetime!(2026-12-01 12:01 UTC)
            )
        );
        assert_eq!(limit.verdict(2, NOW), Verdict::Allowed);
        assert_eq!(
            limit.verdict(3, NOW),
            Verdict::Refused {
                retry_after: Duration::seconds(15)
            }
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_slash_64_and_a_mapped_ipv4_as_ipv4() {
        let one = ClientAddress::parse("2001:db8:1:2::1").expect("an address");
        let other = ClientAddress::parse("2001:db8:1:2:ffff::9").expect("an address");
        assert_eq!(one.to_string(), "2001:db8:1:2::/64");
        assert_eq!(one.to_string(), other.to_string());
        assert_eq!(
            ClientAddress::parse("::ffff:203.0.113.7")
                .expect("an address")
                .to_string(),
            "203.0.113.7"
        );
        assert_eq!(ClientAddress::parse("not an address"), None);
    }

    #[test]
    fn the_kinds_of_count_never_share_a_key() {
        let from = ClientAddress::parse("203.0.113.7").expect("an address");
        let keys = [
            RateKey::SignupsFrom(from),
            RateKey::LoginsFrom(from),
            RateKey::PaidFrom(from),
        ]
        .map(|k| k.to_string());
        assert_eq!(
            keys.iter().collect::<std::collections::HashSet<_>>().len(),
            3
        );
    }
}
