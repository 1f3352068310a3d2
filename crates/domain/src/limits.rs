//! Daily limits on generation: how many images one user may ask for in a UTC day, and how much
//! provider spend the whole service may commit to in one. Both are checked in the transaction
//! that debits the job, so they hold under concurrency, and both fail closed: a submission the
//! store cannot count is refused, never waved through.

use time::{Date, OffsetDateTime, Time};

/// The limits a deployment runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLimits {
    /// Images one user may request per UTC day (requested, not delivered: a refunded image
    /// still cost a provider call).
    pub images_per_user: u32,
    /// Estimated provider spend the service commits to per UTC day, in millionths of a dollar.
    pub spend_cap_micros: u64,
}

/// What one submission adds to the day's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The UTC day the counters belong to.
    pub day: Date,
    pub images: u32,
    pub spend_micros: u64,
    pub limits: DailyLimits,
}

impl Admission {
    /// Whether the submission could fit an empty day at all; if not, there is no need to ask
    /// the store.
    pub fn fits_a_fresh_day(&self) -> Result<(), LimitReached> {
        if self.images > self.limits.images_per_user {
            return Err(LimitReached::DailyQuota);
        }
        if self.spend_micros > self.limits.spend_cap_micros {
            return Err(LimitReached::SpendCap);
        }
        Ok(())
    }
}

/// Which daily limit refused a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitReached {
    #[error("the daily image quota is used up")]
    DailyQuota,
    #[error("the service's daily generation budget is used up")]
    SpendCap,
}

/// The start of the next UTC day after `now`: when both counters start again.
pub fn next_day_start(now: OffsetDateTime) -> OffsetDateTime {
    let day = now.to_offset(time::UtcOffset::UTC).date();
    let next = day.next_day().unwrap_or(day);
    next.with_time(Time::MIDNIGHT).assume_utc()
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn admission(images: u32, spend_micros: u64) -> Admission {
        Admission {
            day: date!(2026 - 11 - 24),
            images,
            spend_micros,
            limits: DailyLimits {
                images_per_user: 5,
                spend_cap_micros: 100,
            },
        }
    }

    #[test]
    fn a_submission_larger_than_a_whole_day_is_refused_without_asking_the_store() {
        assert_eq!(admission(5, 100).fits_a_fresh_day(), Ok(()));
        assert_eq!(
            admission(6, 1).fits_a_fresh_day(),
            Err(LimitReached::DailyQuota)
        );
        assert_eq!(
            admission(1, 101).fits_a_fresh_day(),
            Err(LimitReached::SpendCap)
        );
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
