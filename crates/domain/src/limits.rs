//! Daily limits on generation: how many images one user may ask for in a UTC day, and how much
//! provider spend the service may commit to in one, in two budgets: what purchased credits pay
//! for, and what free (signup) credits pay for, so that free use can never pause paying users.
//! All are checked in the transaction that debits the job, so they hold under concurrency, and
//! all fail closed: a submission the store cannot count is refused, never waved through.

use time::{Date, OffsetDateTime, Time, UtcOffset};

use crate::Job;

/// The limits a deployment runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLimits {
    /// Images one user may request per UTC day (requested, not delivered: a refunded image
    /// still cost a provider call).
    pub images_per_user: u32,
    /// Estimated provider spend the service commits to per UTC day for jobs paid with
    /// purchased credits, in millionths of a dollar.
    pub spend_cap_micros: u64,
    /// The same for jobs paid with free credits: a budget of its own.
    pub free_spend_cap_micros: u64,
}

/// A job's submission against the day's limits: its images and day come from the job, its
/// estimated provider spend from the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub spend_micros: u64,
    pub limits: DailyLimits,
}

impl Admission {
    /// Whether `job` could fit an empty day at all; if not, there is no need to ask the store.
    /// (Which budget it spends from is known only when it is debited.)
    pub fn fits_a_fresh_day(&self, job: &Job) -> Result<(), LimitReached> {
        if u32::from(job.request.count) > self.limits.images_per_user {
            return Err(LimitReached::DailyQuota);
        }
        Ok(())
    }

    /// The estimated spend split between the two budgets, for a job of `cost` credits of which
    /// `free_used` were free: the free budget's share (rounded up) and the purchased one's.
    pub fn split(&self, cost: crate::Credits, free_used: crate::Credits) -> (u64, u64) {
        let cost = u128::from(cost.get().max(1));
        let free = u128::from(free_used.get()).min(cost);
        let spend = u128::from(self.spend_micros);
        let free_spend = u64::try_from((spend * free).div_ceil(cost)).unwrap_or(self.spend_micros);
        (
            free_spend,
            self.spend_micros - free_spend.min(self.spend_micros),
        )
    }
}

/// A dollar amount written as a decimal (`"12.5"`, `"0.016"`) in whole millionths of a dollar,
/// exactly: digits, at most six decimals, at most `max_dollars`; nothing negative or exponent.
pub fn usd_micros(text: &str, max_dollars: u64) -> Option<u64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || fraction.len() > 6 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: u64 = whole.parse().ok().filter(|w| *w <= max_dollars)?;
    let fraction: u64 = format!("{fraction:0<6}").parse().ok()?;
    Some(whole * 1_000_000 + fraction)
}

/// The UTC day whose counters a moment counts against.
pub fn utc_day(at: OffsetDateTime) -> Date {
    at.to_offset(UtcOffset::UTC).date()
}

/// Which daily limit refused a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitReached {
    #[error("the daily image quota is used up")]
    DailyQuota,
    #[error("the service's daily generation budget is used up")]
    SpendCap,
    #[error("the daily budget of free generation is used up")]
    FreeBudget,
}

/// The start of the next UTC day after `now`: when both counters start again.
pub fn next_day_start(now: OffsetDateTime) -> OffsetDateTime {
    let day = utc_day(now);
    let next = day.next_day().unwrap_or(day);
    next.with_time(Time::MIDNIGHT).assume_utc()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn job(count: u8) -> Job {
        let request = crate::Catalog::from_json(include_str!("../../../config/models.json"))
            .expect("catalogue")
            .validate(crate::RawGeneration {
                prompt: Some("p".into()),
                model: Some("v2".into()),
                preset: Some("square".into()),
                count: Some(count.into()),
                ..Default::default()
            })
            .expect("valid");
        Job::new(
            crate::UserId::new(),
            request,
            crate::Credits::new(1),
            datetime!(2026-11-24 12:00 UTC),
        )
        .expect("priced")
    }

    fn admission(spend_micros: u64) -> Admission {
        Admission {
            spend_micros,
            limits: DailyLimits {
                images_per_user: 4,
                spend_cap_micros: 100,
                free_spend_cap_micros: 50,
            },
        }
    }

    #[test]
    fn a_submission_larger_than_a_whole_day_is_refused_without_asking_the_store() {
        assert_eq!(admission(100).fits_a_fresh_day(&job(4)), Ok(()));
        assert_eq!(
            admission(1).fits_a_fresh_day(&job(5)),
            Err(LimitReached::DailyQuota)
        );
    }

    #[test]
    fn spend_is_split_between_the_budgets_by_the_free_credits_that_paid() {
        use crate::Credits;
        let a = admission(100);
        assert_eq!(a.split(Credits::new(3), Credits::ZERO), (0, 100));
        assert_eq!(a.split(Credits::new(3), Credits::new(3)), (100, 0));
        assert_eq!(
            a.split(Credits::new(3), Credits::new(1)),
            (34, 66),
            "rounded up"
        );
        assert_eq!(a.split(Credits::new(3), Credits::new(9)), (100, 0));
        assert_eq!(a.split(Credits::ZERO, Credits::ZERO), (0, 100));
    }

    #[test]
    fn dollar_amounts_are_read_exactly_and_nonsense_is_refused() {
        for (text, micros) in [("100", 100_000_000), ("12.5", 12_500_000), ("0.000001", 1)] {
            assert_eq!(usd_micros(text, 1_000_000), Some(micros), "{text}");
        }
        for bad in ["", "-1", "1e3", "abc", "1.0000001", ".5", "2000000", "1.-5"] {
            assert_eq!(usd_micros(bad, 1_000_000), None, "{bad}");
        }
        assert_eq!(usd_micros("1001", 1000), None);
    }

    #[test]
    fn the_counters_restart_at_the_next_utc_midnight() {
        assert_eq!(
            next_day_start(datetime!(2026-11-24 23:59:59 UTC)),
            datetime!(2026-11-25 00:00 UTC)
        );
        assert_eq!(
            next_day_start(datetime!(2026-11-24 00:30 +02:00)),
            datetime!(2026-11-24 00:00 UTC)
        );
    }
}
