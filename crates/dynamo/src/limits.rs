//! The daily counters behind [`artforge_domain::DailyLimits`]: each is an item whose number only
//! grows, bumped inside the submitting transaction on condition that the bump stays within the
//! limit, so concurrent submissions can never overshoot it together.

use artforge_domain::{Admission, Credits, Job, StoreError, limits::utc_day};
use aws_sdk_dynamodb::types::Update;
use time::{Duration, Time};

use crate::{DynamoStore, attrs, keys, transaction::Transaction};

/// The daily counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// The user's images of the day.
    Quota,
    /// The service's provider spend of the day on jobs purchased credits paid for.
    Spend,
    /// The same on jobs free credits paid for.
    Free,
}

/// Counters outlive their day by this much (for reading back what a day used), then TTL
/// sweeps them.
const KEEP: Duration = Duration::days(7);

/// The counter bumps of `job`'s submission on the UTC day it was made: the user's images, then
/// the service's spend, split between the purchased and the free budget by the `free_used`
/// credits that paid for it. A budget the job spends nothing of is not touched.
pub(crate) fn counter_items(
    store: &DynamoStore,
    job: &Job,
    admission: &Admission,
    free_used: Credits,
) -> Result<Transaction<Counter>, StoreError> {
    let day = utc_day(job.created_at);
    let expires = (day.with_time(Time::MIDNIGHT).assume_utc() + KEEP).unix_timestamp();
    let (free_spend, paid_spend) = admission.split(job.cost, free_used);
    let mut tx = Transaction::new();
    tx.update(
        Counter::Quota,
        bump(
            store,
            attrs::key(keys::user(job.owner), keys::daily_quota(day)),
            "images",
            u64::from(job.request.count),
            u64::from(admission.limits.images_per_user),
            expires,
        ),
    )?;
    let budgets = [
        (
            Counter::Spend,
            keys::spend_day(day),
            paid_spend,
            admission.limits.spend_cap_micros,
        ),
        (
            Counter::Free,
            keys::free_spend_day(day),
            free_spend,
            admission.limits.free_spend_cap_micros,
        ),
    ];
    for (counter, sk, add, limit) in budgets {
        if add > 0 {
            tx.update(
                counter,
                bump(
                    store,
                    attrs::key(keys::SPEND.to_owned(), sk),
                    "micros",
                    add,
                    limit,
                    expires,
                ),
            )?;
        }
    }
    Ok(tx)
}

/// Adds `add` to the number `counter` of the item at `key`, if the sum stays at most `limit`
/// (an absent counter counts as zero; an `add` over the limit alone is always refused).
fn bump(
    store: &DynamoStore,
    key: attrs::Item,
    counter: &str,
    add: u64,
    limit: u64,
    expires_at: i64,
) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
    let room = i128::from(limit) - i128::from(add);
    let condition = if room >= 0 {
        "attribute_not_exists(#c) OR #c <= :room"
    } else {
        // No count is below a negative room, and an absent counter compares as false.
        "#c <= :room"
    };
    Update::builder()
        .table_name(store.table())
        .set_key(Some(key))
        .update_expression("SET #c = if_not_exists(#c, :zero) + :add, expiresAt = :exp")
        .condition_expression(condition)
        .expression_attribute_names("#c", counter)
        .expression_attribute_values(":zero", attrs::n(0))
        .expression_attribute_values(":add", attrs::n(add))
        .expression_attribute_values(":room", attrs::n(room))
        .expression_attribute_values(":exp", attrs::n(expires_at))
        .build()
}
