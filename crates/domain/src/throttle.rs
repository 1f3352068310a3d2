//! Failed-login back-off per (email, client address): the first few failures are free, then
//! each further one doubles the wait before the next attempt, up to a cap. Guesses from one
//! address never hold back the owner at another.
//!
//! Every attempt is counted before its password is checked (one atomic add: the attempt's
//! number), as a failure until a success clears the count; so concurrent attempts each get
//! their own number, and past the free ones only the attempt whose turn it is goes on.

use time::{Duration, OffsetDateTime};

/// What counting an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted: the attempt's number since the last success (1 for the first), and the number
    /// of the attempt whose turn it is, once attempts are held.
    Counted { number: u32, turn: Option<u32> },
    /// Not counted: attempts are held until `until`.
    Held { until: OffsetDateTime },
}

/// What the back-off makes of a counted attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// Whether the attempt may check its password.
    pub admitted: bool,
    /// If it fails, how long the next attempt waits (zero while failures are free).
    pub wait: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures before any wait.
    pub free_failures: u32,
    /// The wait after the first failure past the free ones; each further failure doubles it.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// The count is forgotten this long after the last counted attempt.
    pub forget_after: Duration,
}

impl Default for Backoff {
    /// Five free failures, then 30 s, 1 min, 2 min, ... up to 15 min; forgotten after a day.
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_wait: Duration::seconds(30),
            max_wait: Duration::minutes(15),
            forget_after: Duration::days(1),
        }
    }
}

impl Backoff {
    /// How long the attempt after `failures` failures waits.
    pub fn wait_after(&self, failures: u32) -> Duration {
        let Some(past) = failures.checked_sub(self.free_failures) else {
            return Duration::ZERO;
        };
        let doubled = 2_i32
            .checked_pow(past.min(30))
            .and_then(|factor| self.first_wait.checked_mul(factor));
        doubled.map_or(self.max_wait, |w| w.min(self.max_wait))
    }

    /// Whether attempt `number` goes on, and the wait it sets should it fail: the free ones
    /// go on, and past them only the one whose `turn` it is (a concurrent attempt that came
    /// in the same opening is refused, and counted).
    pub fn judge(&self, number: u32, turn: Option<u32>) -> Judgement {
        Judgement {
            admitted: number <= self.free_failures || turn == Some(number),
            wait: self.wait_after(number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_wait_doubles_up_to_its_cap() {
        let backoff = Backoff::default();
        let waits: Vec<i64> = (4..=12)
            .map(|n| backoff.wait_after(n).whole_seconds())
            .collect();
        assert_eq!(waits, [0, 30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(backoff.wait_after(u32::MAX), Duration::minutes(15));
    }

    #[test]
    fn past_the_free_attempts_only_the_one_whose_turn_it_is_goes_on() {
        let backoff = Backoff::default();
        assert!(backoff.judge(5, None).admitted);
        assert!(!backoff.judge(6, None).admitted, "no turn given yet");
        assert!(backoff.judge(6, Some(6)).admitted);
        assert!(
            !backoff.judge(7, Some(6)).admitted,
            "came in the same opening"
        );
    }
}
