//! The daily counters behind [`artforge_domain::DailyLimits`]: each is an item whose number only
//! grows, bumped inside the submitting transaction on condition that the bump stays within the
//! limit, so concurrent submissions can never overshoot it together.

use artforge_domain::{Admission, Job, StoreError, limits::utc_day};
use aws_sdk_dynamodb::types::Update;
use time::{Duration, Time};

use crate::{DynamoStore, attrs, keys, transaction::Transaction};

/// The two daily counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// The user's images of the day.
    Quota,
    /// The service's provider spend of the day.
    Spend,
}

/// Counters outlive their day by this much (for reading back what a day used), then TTL
/// sweeps them.
const KEEP: Duration = Duration::days(7);

/// The two counter bumps of `job`'s submission, on the UTC day it was made: the user's images,
/// then the service's spend.
pub(crate) fn counter_items(
    store: &DynamoStore,
    job: &Job,
    admission: &Admission,
) -> Result<Transaction<Counter>, StoreError> {
    let day = utc_day(job.created_at);
    let expires = day.with_time(Time::MIDNIGHT).assume_utc() + KEEP;
    let mut tx = Transaction::new();
    tx.update(
        Counter::Quota,
        bump(
            store,
            attrs::key(keys::user(job.owner), keys::daily_quota(day)),
            "images",
            u64::from(job.request.count),
            u64::from(admission.limits.images_per_user),
            expires.unix_timestamp(),
        ),
    )?;
    tx.update(
        Counter::Spend,
        bump(
            store,
            attrs::key(keys::SPEND.to_owned(), keys::spend_day(day)),
            "micros",
            admission.spend_micros,
            admission.limits.spend_cap_micros,
            expires.unix_timestamp(),
        ),
    )?;
    Ok(tx)
}

/// Adds `add` to the number `counter` of the item at `key`, if the sum stays at most `limit`.
fn bump(
    store: &DynamoStore,
    key: attrs::Item,
    counter: &str,
    add: u64,
    limit: u64,
    expires_at: i64,
) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
    // The caller checked add <= limit, so the room is never negative.
    let room = limit.saturating_sub(add);
    Update::builder()
        .table_name(store.table())
        .set_key(Some(key))
        .update_expression("SET #c = if_not_exists(#c, :zero) + :add, expiresAt = :exp")
        .condition_expression("attribute_not_exists(#c) OR #c <= :room")
        .expression_attribute_names("#c", counter)
        .expression_attribute_values(":zero", attrs::n(0))
        .expression_attribute_values(":add", attrs::n(add))
        .expression_attribute_values(":room", attrs::n(room))
        .expression_attribute_values(":exp", attrs::n(expires_at))
        .build()
}
