//! Generation jobs. A job is `USER#<owner> / JOB#<jobId>`; it is written in the same
//! transaction as its debit, and finished in the same transaction as its refund and its
//! images' metadata, so credits, jobs and images always agree.
//!
//! An idempotent submission also writes `USER#<owner> / IDEMPOTENCY#<key>` (the job and a
//! fingerprint of the request, expiring after a day) in that transaction.
//!
//! A worker claims a job with a lease (`leaseToken`, `leaseUntil` in Unix milliseconds): a
//! duplicate delivery meets an unexpired lease and backs off; a delivery after a crashed
//! worker's lease expired takes the job over. Only the lease holder can finish the job.

use std::time::Duration;

use artforge_domain::{
    Admission, Credits, GenerationRequest, Image, Job, JobError, JobId, JobStatus, LedgerOutcome,
    LimitReached, Movement, Page, PageRequest, Prompt, Settlement, StoreError, Tags, UserId,
    credits::CreditCause,
    generation::IdempotencyKey,
    ports::{Claim, Holder, Idempotency, Jobs, Lease, Remembered, SubmitRefusal},
};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, Update,
};
use time::OffsetDateTime;
use tracing::{debug, info};
use ulid::Ulid;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::Conditional,
    image_item::image_item,
    keys,
    ledger::ApplyError,
    limits::{self, Counter},
    stuck::{self, unix_millis},
    transaction::{Refusal, Transaction},
};

/// The items a submission writes besides its debit, in this order: the first refused is the
/// one reported, and a lost race for the idempotency key must read as a replay, not a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Submission {
    Job,
    Idempotency,
    Limit(Counter),
}

/// The items that finish a job: its final state (conditioned on who may finish it), then its
/// images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Job,
    Image,
}

/// How long an idempotency key is remembered.
const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("job item: {what}"))
}

fn ids_value<T: ToString>(ids: &[T]) -> AttributeValue {
    AttributeValue::L(ids.iter().map(|id| attrs::s(id.to_string())).collect())
}

fn ids_from<T: std::str::FromStr>(item: &Item, name: &str) -> Result<Vec<T>, StoreError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| {
                v.as_s()
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| corrupt(name))
            })
            .collect(),
        Some(_) => Err(corrupt(name)),
    }
}

fn job_item(job: &Job) -> Item {
    let r = &job.request;
    let mut item = attrs::key(keys::user(job.owner), keys::job(job.id));
    item.insert("status".into(), attrs::s(job.status.as_str()));
    item.insert("prompt".into(), attrs::s(r.prompt.as_str()));
    item.insert("tier".into(), attrs::s(r.tier.as_str()));
    item.insert("style".into(), attrs::s(r.style.as_str()));
    item.insert("preset".into(), attrs::s(r.preset.as_str()));
    item.insert("quality".into(), attrs::s(r.quality.as_str()));
    item.insert("count".into(), attrs::n(r.count));
    crate::output_item::put_output(&mut item, &r.output);
    item.insert(
        "tags".into(),
        AttributeValue::L(r.tags.iter().map(|t| attrs::s(t.as_str())).collect()),
    );
    item.insert("unitPrice".into(), attrs::n(job.unit_price.get()));
    item.insert("refunded".into(), attrs::n(job.refunded.get()));
    item.insert("freeCost".into(), attrs::n(job.free_cost.get()));
    item.insert("slots".into(), ids_value(&job.slots));
    item.insert("images".into(), ids_value(&job.images));
    item.insert("createdAt".into(), attrs::timestamp(job.created_at));
    item.insert("updatedAt".into(), attrs::timestamp(job.updated_at));
    if let Some(error) = &job.error {
        item.insert("errorCode".into(), attrs::s(error.code.as_str()));
        item.insert("errorMessage".into(), attrs::s(&error.message));
    }
    crate::inputs::write(&job.inputs, &mut item);
    if !job.status.is_final() {
        // Listed for the sweeper until finished (stuck.rs).
        item.extend(stuck::index_entry(job));
    }
    item
}

pub(crate) fn job_from_item(item: &Item) -> Result<Job, StoreError> {
    let owner = attrs::owner(item).ok_or_else(|| corrupt("owner"))?;
    let id = attrs::sk_id(item, keys::JOB_PREFIX).ok_or_else(|| corrupt("id"))?;
    let tags = attrs::strings(item, "tags");
    let error = match attrs::get_opt_s(item, "errorCode")? {
        None => None,
        Some(_) => Some(JobError {
            code: attrs::get_set(item, "errorCode")?,
            message: attrs::get_opt_s(item, "errorMessage")?
                .unwrap_or_default()
                .to_owned(),
        }),
    };
    let unit_price = Credits::new(get_n(item, "unitPrice")?);
    let slots: Vec<_> = ids_from(item, "slots")?;
    let preset = attrs::get_set(item, "preset")?;
    Ok(Job {
        id,
        owner,
        status: attrs::get_set(item, "status")?,
        request: GenerationRequest {
            prompt: Prompt::parse(get_s(item, "prompt")?).map_err(|_| corrupt("prompt"))?,
            tier: attrs::get_set(item, "tier")?,
            style: attrs::get_set(item, "style")?,
            preset,
            quality: attrs::get_set(item, "quality")?,
            count: get_n(item, "count")?,
            tags: Tags::parse(&tags).map_err(|_| corrupt("tags"))?,
            output: crate::output_item::output_of(item, preset)?,
        },
        unit_price,
        cost: Job::cost_of(unit_price, slots.len())?,
        // Absent on jobs written before free credits were told apart: all paid.
        free_cost: Credits::new(attrs::get_opt_n(item, "freeCost")?.unwrap_or(0)),
        refunded: Credits::new(get_n(item, "refunded")?),
        slots,
        images: ids_from(item, "images")?,
        error,
        created_at: attrs::get_time(item, "createdAt")?,
        updated_at: attrs::get_time(item, "updatedAt")?,
        inputs: crate::inputs::read(item)?,
    })
}

/// The update that makes `job`'s stored state its final one: status, images, refund, error.
fn finish_update(table: &str, job: &Job) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    let mut set = vec![
        "#status = :status",
        "images = :images",
        "refunded = :refunded",
        "updatedAt = :now",
    ];
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(attrs::key(keys::user(job.owner), keys::job(job.id))))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", attrs::s(job.status.as_str()))
        .expression_attribute_values(":images", ids_value(&job.images))
        .expression_attribute_values(":refunded", attrs::n(job.refunded.get()))
        .expression_attribute_values(":now", attrs::timestamp(job.updated_at));
    if let Some(error) = &job.error {
        set.push("errorCode = :code");
        set.push("errorMessage = :message");
        update = update
            .expression_attribute_values(":code", attrs::s(error.code.as_str()))
            .expression_attribute_values(":message", attrs::s(&error.message));
    }
    update.update_expression(format!(
        "SET {} REMOVE leaseToken, leaseUntil, gsi1pk, gsi1sk",
        set.join(", ")
    ))
}

impl Jobs for DynamoStore {
    async fn submit(
        &self,
        job: &Job,
        idempotency: Option<&Idempotency>,
        admission: &Admission,
        now: OffsetDateTime,
    ) -> Result<Credits, SubmitRefusal> {
        let idempotency_record = idempotency.map(|idem| {
            let mut record =
                attrs::key(keys::user(job.owner), keys::idempotency(idem.key.as_str()));
            record.insert("jobId".into(), attrs::s(job.id.to_string()));
            record.insert("fingerprint".into(), attrs::s(&idem.fingerprint));
            record.insert(
                "expiresAt".into(),
                attrs::n((now + IDEMPOTENCY_TTL).unix_timestamp()),
            );
            record
        });
        // The job records how much of its cost free credits paid, and the spend goes to the
        // budget of the credits that paid: both known only from the settled debit.
        let items = |settled: &Settlement| {
            let mut tx = Transaction::new();
            let job = Job {
                free_cost: settled.free_used,
                ..job.clone()
            };
            tx.put(
                Submission::Job,
                self.table(),
                job_item(&job),
                Some("attribute_not_exists(pk)"),
            )?;
            if let Some(record) = &idempotency_record {
                // An expired record that DynamoDB's TTL has not swept yet is free to reuse.
                tx.put_built(
                    Submission::Idempotency,
                    Put::builder()
                        .table_name(self.table())
                        .set_item(Some(record.clone()))
                        .condition_expression("attribute_not_exists(pk) OR expiresAt <= :now")
                        .expression_attribute_values(":now", attrs::n(now.unix_timestamp()))
                        .build(),
                )?;
            }
            tx.extend(
                limits::counter_items(self, &job, admission, settled.free_used)?,
                Submission::Limit,
            );
            Ok(tx)
        };
        let debit = CreditCause::JobDebit(job.id);
        match self
            .apply_with(job.owner, &debit, Movement::Debit(job.cost), items)
            .await
        {
            Ok(outcome) => {
                info!(user = %job.owner, job = %job.id, cost = job.cost.get(), "job submitted");
                Ok(outcome.balance())
            }
            Err(ApplyError::Refused(Submission::Idempotency)) => Err(SubmitRefusal::KeyTaken),
            Err(ApplyError::Refused(Submission::Limit(Counter::Quota))) => {
                Err(LimitReached::DailyQuota.into())
            }
            Err(ApplyError::Refused(Submission::Limit(Counter::Spend))) => {
                Err(LimitReached::SpendCap.into())
            }
            Err(ApplyError::Refused(Submission::Limit(Counter::Free))) => {
                Err(LimitReached::FreeBudget.into())
            }
            Err(ApplyError::Refused(Submission::Job)) => {
                Err(StoreError::Corrupt("a new job's id is taken".into()).into())
            }
            Err(ApplyError::Store(StoreError::InsufficientCredits(short))) => Err(short.into()),
            Err(ApplyError::Store(e)) => Err(e.into()),
        }
    }

    async fn remembered(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> Result<Option<Remembered>, StoreError> {
        let Some(record) = self
            .item(keys::user(owner), keys::idempotency(key.as_str()))
            .await?
        else {
            return Ok(None);
        };
        if get_n::<i64>(&record, "expiresAt")? <= now.unix_timestamp() {
            return Ok(None);
        }
        Ok(Some(Remembered {
            job: get_s(&record, "jobId")?
                .parse()
                .map_err(|_| corrupt("idempotency record"))?,
            fingerprint: get_s(&record, "fingerprint")?.to_owned(),
        }))
    }

    async fn job(&self, owner: UserId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.item(keys::user(owner), keys::job(id))
            .await?
            .map(|item| job_from_item(&item))
            .transpose()
    }

    async fn jobs(&self, owner: UserId, page: PageRequest) -> Result<Page<Job>, StoreError> {
        let (items, next) = self.newest_first(owner, keys::JOB_PREFIX, page).await?;
        let items = items
            .into_iter()
            .map(|item| job_from_item(&item))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    async fn claim(
        &self,
        owner: UserId,
        id: JobId,
        lease: Duration,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let until = now + lease;
        let token = Ulid::generate().to_string();
        let result = self
            .update_at(attrs::key(keys::user(owner), keys::job(id)))
            .update_expression(
                "SET #status = :running, leaseToken = :token, leaseUntil = :until, \
                 updatedAt = :now, attempts = if_not_exists(attempts, :zero) + :one",
            )
            .condition_expression(
                "attribute_exists(pk) AND (#status = :queued OR \
                 (#status = :running AND leaseUntil <= :epoch))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", attrs::s(JobStatus::Running.as_str()))
            .expression_attribute_values(":queued", attrs::s(JobStatus::Queued.as_str()))
            .expression_attribute_values(":token", attrs::s(&token))
            // Milliseconds: whole seconds made a lease last up to a second longer than asked.
            .expression_attribute_values(":until", attrs::n(unix_millis(until)))
            .expression_attribute_values(":epoch", attrs::n(unix_millis(now)))
            .expression_attribute_values(":now", attrs::timestamp(now))
            .expression_attribute_values(":zero", attrs::n(0))
            .expression_attribute_values(":one", attrs::n(1))
            .return_values(ReturnValue::AllNew)
            // A refused claim answers the job as it is: no second read to tell why.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .refused()?;
        match result {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| corrupt("claim returned nothing"))?;
                debug!(%owner, job = %id, attempt = get_n::<u32>(&item, "attempts").unwrap_or(0), "job claimed");
                Ok(Claim::Claimed(
                    job_from_item(&item)?,
                    Lease { token, until },
                ))
            }
            Err(item) => Ok(Claim::Refused(
                item.as_ref().map(job_from_item).transpose()?,
            )),
        }
    }

    async fn finish(
        &self,
        job: &Job,
        holder: Holder<'_>,
        images: &[Image],
    ) -> Result<bool, StoreError> {
        let update = match holder {
            Holder::Lease(lease) => finish_update(self.table(), job)
                .condition_expression("#status = :running AND leaseToken = :token")
                .expression_attribute_values(":running", attrs::s(JobStatus::Running.as_str()))
                .expression_attribute_values(":token", attrs::s(&lease.token)),
            Holder::Anyone => finish_update(self.table(), job)
                .condition_expression("#status IN (:queued, :running)")
                .expression_attribute_values(":queued", attrs::s(JobStatus::Queued.as_str()))
                .expression_attribute_values(":running", attrs::s(JobStatus::Running.as_str())),
            Holder::Unclaimed => finish_update(self.table(), job)
                .condition_expression("#status = :queued")
                .expression_attribute_values(":queued", attrs::s(JobStatus::Queued.as_str())),
            Holder::Lapsed(at) => finish_update(self.table(), job)
                .condition_expression("#status = :running AND leaseUntil <= :lapsed")
                .expression_attribute_values(":running", attrs::s(JobStatus::Running.as_str()))
                .expression_attribute_values(":lapsed", attrs::n(unix_millis(at))),
        };
        let mut tx = Transaction::new();
        tx.update(Finish::Job, update.build())?;
        for image in images {
            // Plain puts: a job's images are written only here, once the job is the caller's.
            tx.put(Finish::Image, self.table(), image_item(image), None)?;
        }
        let finished = if job.refunded > Credits::ZERO {
            let refund = CreditCause::JobRefund(job.id);
            match self
                .move_with(job.owner, &refund, job.refund(job.refunded), tx)
                .await
            {
                Ok(LedgerOutcome::Applied { .. }) => true,
                // The refund guard exists, so the job was finished with it already.
                Ok(LedgerOutcome::AlreadyApplied { .. }) => false,
                Err(ApplyError::Refused(Finish::Job)) => false,
                Err(e) => return Err(e.into_store()),
            }
        } else {
            match tx.commit(self.client()).await {
                Ok(()) => true,
                Err(refusal) if refusal.refused(&Finish::Job) => false,
                Err(Refusal::Conditions(_) | Refusal::Conflict) => {
                    return Err(StoreError::Contention);
                }
                Err(Refusal::Store(e)) => return Err(e),
            }
        };
        if finished {
            info!(user = %job.owner, job = %job.id, status = %job.status, images = images.len(), refunded = job.refunded.get(), "job finished");
        } else {
            info!(user = %job.owner, job = %job.id, "job was no longer the caller's to finish");
        }
        Ok(finished)
    }
}
