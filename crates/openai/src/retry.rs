//! When to try again.
//!
//! The loop itself is `backon`'s (a well-kept crate): it runs the attempt, asks
//! [`crate::classify`]'s verdict whether the failure is worth another one (`when`), and lets
//! [`next_delay`] turn its backoff into the actual wait (`adjust`), which is where
//! `Retry-After` and the job's deadline come in. Two small things are ours because backon has
//! no knob for them: full jitter (backon's own jitter *adds* up to one delay, so the wait never
//! drops below the exponential floor; full jitter draws from zero to it, which spreads a crowd
//! of workers retrying after the same outage best), and giving up early when the wait would
//! end past the deadline (backon's `total_delay` counts only sleeps, not attempts).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// The first backoff ceiling; it doubles per attempt up to [`MAX_BACKOFF`].
pub(crate) const MIN_BACKOFF: Duration = Duration::from_millis(500);
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(16);

/// Exponential backoff ceilings, 0.5 s doubling to 16 s, never exhausted (the deadline ends the
/// retries), each drawn down by full jitter.
pub(crate) fn backoff() -> std::iter::Map<ExponentialBackoff, fn(Duration) -> Duration> {
    ExponentialBuilder::new()
        .with_min_delay(MIN_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_factor(2.0)
        .without_max_times()
        .build()
        .map(full_jitter as fn(Duration) -> Duration)
}

/// "Full jitter": a uniform draw between zero and the ceiling.
pub(crate) fn full_jitter(ceiling: Duration) -> Duration {
    ceiling.mul_f64(fastrand::f64())
}

/// The wait before the next attempt, or `None` to give up now.
///
/// `backoff` is the jittered exponential wait; a `retry_after` from the provider is a floor
/// (waiting less would only earn another 429). When the wait would not end before the job's
/// deadline (`remaining`), waiting is pointless: the job gives up at once with the last error
/// rather than sleeping into a deadline it cannot meet.
pub(crate) fn next_delay(
    backoff: Duration,
    retry_after: Option<Duration>,
    remaining: Duration,
) -> Option<Duration> {
    let delay = retry_after.map_or(backoff, |floor| floor.max(backoff));
    (delay < remaining).then_some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn retry_after_is_a_floor_under_the_backoff() {
        assert_eq!(next_delay(MS(300), Some(S(2)), S(60)), Some(S(2)));
        assert_eq!(next_delay(S(5), Some(S(2)), S(60)), Some(S(5)));
        assert_eq!(next_delay(MS(300), None, S(60)), Some(MS(300)));
    }

    #[test]
    fn a_wait_that_would_end_past_the_deadline_gives_up_at_once() {
        assert_eq!(next_delay(MS(100), Some(S(30)), S(29)), None);
        assert_eq!(next_delay(S(4), None, S(4)), None);
        assert_eq!(next_delay(S(4), None, MS(4001)), Some(S(4)));
        assert_eq!(next_delay(MS(1), None, Duration::ZERO), None);
    }

    #[test]
    fn backoff_ceilings_double_from_half_a_second_to_sixteen_and_jitter_stays_under_them() {
        let ceilings: Vec<Duration> = ExponentialBuilder::new()
            .with_min_delay(MIN_BACKOFF)
            .with_max_delay(MAX_BACKOFF)
            .with_factor(2.0)
            .without_max_times()
            .build()
            .take(8)
            .collect();
        assert_eq!(
            ceilings,
            [MS(500), S(1), S(2), S(4), S(8), S(16), S(16), S(16)]
        );
        let mut drawn = backoff();
        for ceiling in ceilings {
            let wait = drawn.next().expect("never exhausted");
            assert!(wait <= ceiling, "{wait:?} > {ceiling:?}");
        }
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_range() {
        let draws: Vec<Duration> = (0..2000).map(|_| full_jitter(S(10))).collect();
        assert!(draws.iter().all(|d| *d <= S(10)));
        assert!(draws.iter().any(|d| *d < S(1)), "never in the lowest tenth");
        assert!(
            draws.iter().any(|d| *d > S(9)),
            "never in the highest tenth"
        );
    }
}
