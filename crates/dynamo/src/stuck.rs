//! The sweeper's view of the jobs: unfinished jobs are found through a sparse entry in `gsi1`,
//! never by scanning the table (docs/decisions/0070).
//!
//! A job is written with `gsi1pk = JOBS#UNFINISHED` and `gsi1sk = <createdAt in Unix
//! milliseconds, 15 digits>#<jobId>`, and finishing it removes both attributes, so the index
//! holds exactly the jobs that are queued or running, oldest first. A job sent to the queue
//! again by the sweeper carries `resentAt`.

use artforge_domain::{
    Job, JobId, JobStatus, StoreError, UserId,
    ports::{StuckJobs, Unfinished},
};
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use tracing::info;

use crate::{
    DynamoStore,
    attrs::{self, Item},
    error::{Conditional, unavailable},
    jobs::job_from_item,
    keys, schema,
};

/// The partition of `gsi1` that holds every unfinished job.
pub const UNFINISHED: &str = "JOBS#UNFINISHED";

/// A time as whole Unix milliseconds (a lease's precision).
pub(crate) fn unix_millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

fn from_millis(millis: i128) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(millis.checked_mul(1_000_000)?).ok()
}

/// Where an unfinished job sorts in the index: by submission time, then id. Fixed width, so
/// the strings sort as the times do.
fn position(created_at: OffsetDateTime, id: Option<JobId>) -> String {
    let millis = unix_millis(created_at).max(0);
    match id {
        Some(id) => format!("{millis:015}#{id}"),
        None => format!("{millis:015}#"),
    }
}

/// The index attributes a new (unfinished) job is written with.
pub(crate) fn index_entry(job: &Job) -> [(String, AttributeValue); 2] {
    [
        ("gsi1pk".into(), attrs::s(UNFINISHED)),
        (
            "gsi1sk".into(),
            attrs::s(position(job.created_at, Some(job.id))),
        ),
    ]
}

fn unfinished_from(item: &Item) -> Result<Unfinished, StoreError> {
    let lease_until = match item.get("leaseUntil") {
        None => None,
        Some(_) => Some(
            from_millis(attrs::get_n(item, "leaseUntil")?)
                .ok_or_else(|| StoreError::Corrupt("job item: leaseUntil".into()))?,
        ),
    };
    let resent_at = match item.get("resentAt") {
        None => None,
        Some(_) => Some(attrs::get_time(item, "resentAt")?),
    };
    Ok(Unfinished {
        job: job_from_item(item)?,
        lease_until,
        resent_at,
    })
}

impl StuckJobs for DynamoStore {
    async fn unfinished(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Unfinished>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        while found.len() < limit {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(schema::GSI1)
                .key_condition_expression("gsi1pk = :unfinished AND gsi1sk < :before")
                .expression_attribute_values(":unfinished", attrs::s(UNFINISHED))
                .expression_attribute_values(":before", attrs::s(position(before, None)))
                .limit(i32::try_from(limit - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                found.push(unfinished_from(&item)?);
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        // The index is eventually consistent: a job finished a moment ago may still be listed.
        found.retain(|u| !u.job.status.is_final());
        Ok(found)
    }

    async fn mark_resent(
        &self,
        owner: UserId,
        id: JobId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let written = self
            .update_at(attrs::key(keys::user(owner), keys::job(id)))
            .update_expression("SET resentAt = :now")
            .condition_expression("#status = :queued AND attribute_not_exists(resentAt)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", attrs::s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":now", attrs::timestamp(now))
            .send()
            .await
            .refused()?
            .is_ok();
        if written {
            info!(user = %owner, job = %id, "job marked as sent again");
        }
        Ok(written)
    }
}
