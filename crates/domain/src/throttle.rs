//! Failed-login throttling: after `max_failures` failed logins for one email within `window`,
//! further attempts are refused until the window closes.

use time::{Duration, OffsetDateTime};

/// The failures counted for one email since `started`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    pub failures: u32,
    pub started: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    /// Five failures per fifteen minutes: the sixth attempt is refused.
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::minutes(15),
        }
    }
}

impl ThrottlePolicy {
    /// How long the caller must wait before trying again, or `None` when it may try now.
    pub fn retry_after(
        &self,
        window: Option<FailureWindow>,
        now: OffsetDateTime,
    ) -> Option<Duration> {
        let window_state = window?;
        let closes = window_state.started + self.window;
        (window_state.failures >= self.max_failures && closes > now).then(|| closes - now)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn window(failures: u32, minutes_ago: i64) -> Option<FailureWindow> {
        Some(FailureWindow {
            failures,
            started: NOW - Duration::minutes(minutes_ago),
        })
    }

    #[test]
    fn five_failures_still_allow_a_sixth_check_only_to_be_refused() {
        let policy = ThrottlePolicy::default();
        assert_eq!(policy.retry_after(window(4, 1), NOW), None);
        assert_eq!(
            policy.retry_after(window(5, 1), NOW),
            Some(Duration::minutes(14))
        );
    }

    #[test]
    fn the_refusal_ends_when_the_window_closes() {
        let policy = ThrottlePolicy::default();
        assert_eq!(policy.retry_after(window(9, 15), NOW), None);
        assert_eq!(policy.retry_after(None, NOW), None);
    }
}
