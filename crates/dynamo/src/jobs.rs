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
    Admission, Credits, GenerationRequest, Image, Job, JobError, JobErrorCode, JobId, JobStatus,
    LimitReached, Movement, Page, PageRequest, Preset, Prompt, StoreError, Tags, Tier, UserId,
    credits::CreditCause,
    ports::{Claim, Completion, Idempotency, Jobs, Lease, SubmitError, Submitted},
};
use aws_sdk_dynamodb::{
    operation::{transact_write_items::TransactWriteItemsError, update_item::UpdateItemError},
    types::{
        AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
        Update,
    },
};
use time::OffsetDateTime;
use tracing::{debug, info};
use ulid::Ulid;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::{Cancelled, cancellation_reasons, unavailable},
    images::image_item,
    keys,
    ledger::ApplyError,
    limits,
};

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
    item.insert("style".into(), attrs::s(&r.style));
    item.insert("preset".into(), attrs::s(r.preset.as_str()));
    item.insert("quality".into(), attrs::s(&r.quality));
    item.insert("count".into(), attrs::n(r.count));
    item.insert(
        "tags".into(),
        AttributeValue::L(r.tags.iter().map(|t| attrs::s(t.as_str())).collect()),
    );
    item.insert("unitPrice".into(), attrs::n(job.unit_price.get()));
    item.insert("refunded".into(), attrs::n(job.refunded.get()));
    item.insert("slots".into(), ids_value(&job.slots));
    item.insert("images".into(), ids_value(&job.images));
    item.insert("createdAt".into(), attrs::timestamp(job.created_at));
    item.insert("updatedAt".into(), attrs::timestamp(job.updated_at));
    if let Some(error) = &job.error {
        item.insert("errorCode".into(), attrs::s(error.code.as_str()));
        item.insert("errorMessage".into(), attrs::s(&error.message));
    }
    item
}

fn job_from_item(item: &Item) -> Result<Job, StoreError> {
    let owner = attrs::owner(item).ok_or_else(|| corrupt("owner"))?;
    let id = attrs::sk_id(item, keys::JOB_PREFIX).ok_or_else(|| corrupt("id"))?;
    let tags = attrs::strings(item, "tags");
    let error = match attrs::get_opt_s(item, "errorCode")? {
        None => None,
        Some(code) => Some(JobError {
            code: JobErrorCode::parse(code).ok_or_else(|| corrupt("errorCode"))?,
            message: attrs::get_opt_s(item, "errorMessage")?
                .unwrap_or_default()
                .to_owned(),
        }),
    };
    Ok(Job {
        id,
        owner,
        status: JobStatus::parse(get_s(item, "status")?).ok_or_else(|| corrupt("status"))?,
        request: GenerationRequest {
            prompt: Prompt::parse(get_s(item, "prompt")?).map_err(|_| corrupt("prompt"))?,
            tier: Tier::parse(get_s(item, "tier")?, "tier").map_err(|_| corrupt("tier"))?,
            style: get_s(item, "style")?.to_owned(),
            preset: Preset::parse(get_s(item, "preset")?, "preset")
                .map_err(|_| corrupt("preset"))?,
            quality: get_s(item, "quality")?.to_owned(),
            count: get_n(item, "count")?,
            tags: Tags::parse(&tags).map_err(|_| corrupt("tags"))?,
        },
        unit_price: Credits::new(get_n(item, "unitPrice")?),
        refunded: Credits::new(get_n(item, "refunded")?),
        slots: ids_from(item, "slots")?,
        images: ids_from(item, "images")?,
        error,
        created_at: attrs::get_time(item, "createdAt")?,
        updated_at: attrs::get_time(item, "updatedAt")?,
    })
}

fn put(table: &str, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .map(|p| TransactWriteItem::builder().put(p).build())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The update that makes a job final; conditioned by the caller.
fn finish_update(
    table: &str,
    job: &Job,
    status: JobStatus,
    images: &[Image],
    refunded: Credits,
    error: Option<&JobError>,
    now: OffsetDateTime,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
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
        .expression_attribute_values(":status", attrs::s(status.as_str()))
        .expression_attribute_values(
            ":images",
            ids_value(&images.iter().map(|i| i.id).collect::<Vec<_>>()),
        )
        .expression_attribute_values(":refunded", attrs::n(refunded.get()))
        .expression_attribute_values(":now", attrs::timestamp(now));
    if let Some(error) = error {
        set.push("errorCode = :code");
        set.push("errorMessage = :message");
        update = update
            .expression_attribute_values(":code", attrs::s(error.code.as_str()))
            .expression_attribute_values(":message", attrs::s(&error.message));
    }
    update.update_expression(format!(
        "SET {} REMOVE leaseToken, leaseUntil",
        set.join(", ")
    ))
}

/// A time as whole Unix milliseconds (a lease's precision).
fn unix_millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

impl DynamoStore {
    async fn balance(&self, user: UserId) -> Result<Credits, StoreError> {
        let profile = self
            .item(keys::user(user), keys::PROFILE.to_owned())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Credits::new(get_n(&profile, "credits")?))
    }

    /// The job an idempotency key already stands for, if it is remembered.
    async fn replay(
        &self,
        owner: UserId,
        idempotency: &Idempotency,
        now: OffsetDateTime,
    ) -> Result<Option<Submitted>, SubmitError> {
        let Some(record) = self
            .item(
                keys::user(owner),
                keys::idempotency(idempotency.key.as_str()),
            )
            .await?
        else {
            return Ok(None);
        };
        if get_n::<i64>(&record, "expiresAt")? <= now.unix_timestamp() {
            return Ok(None);
        }
        if get_s(&record, "fingerprint")? != idempotency.fingerprint {
            return Err(SubmitError::KeyReused);
        }
        let id: JobId = get_s(&record, "jobId")?
            .parse()
            .map_err(|_| corrupt("idempotency record"))?;
        let job = self
            .job(owner, id)
            .await?
            .ok_or_else(|| corrupt("idempotency record names a missing job"))?;
        let balance = self.balance(owner).await?;
        Ok(Some(Submitted::Replayed { job, balance }))
    }

    async fn job_by_key(&self, owner: UserId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.item(keys::user(owner), keys::job(id))
            .await?
            .map(|item| job_from_item(&item))
            .transpose()
    }

    /// Writes `items` with a credit movement for `cause`, or alone when nothing moves. The
    /// first item's condition failing means the job is not this caller's to finish.
    async fn finish_with(
        &self,
        job: &Job,
        refund: Credits,
        items: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        if refund > Credits::ZERO {
            let outcome = self
                .apply_with(
                    job.owner,
                    &CreditCause::JobRefund(job.id),
                    Movement::Grant(refund),
                    |_| items.clone(),
                )
                .await;
            return match outcome {
                Ok(artforge_domain::LedgerOutcome::Applied { .. }) => Ok(true),
                // The refund guard exists, so the job was finished with it already.
                Ok(artforge_domain::LedgerOutcome::AlreadyApplied { .. }) => Ok(false),
                Err(ApplyError::ExtraRejected(0)) => Ok(false),
                Err(e) => Err(e.into()),
            };
        }
        let result = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c))
                    if cancellation_reasons(c.cancellation_reasons()).first()
                        == Some(&Cancelled::ConditionFailed) =>
                {
                    Ok(false)
                }
                _ => Err(unavailable(err)),
            },
        }
    }
}

impl Jobs for DynamoStore {
    async fn submit(
        &self,
        job: &Job,
        idempotency: Option<&Idempotency>,
        admission: &Admission,
    ) -> Result<Submitted, SubmitError> {
        let now = OffsetDateTime::now_utc();
        if let Some(idem) = idempotency
            && let Some(found) = self.replay(job.owner, idem, now).await?
        {
            return Ok(found);
        }
        admission.fits_a_fresh_day(job)?;
        // Extra items in this order: the first failed condition is the one reported, and a
        // lost race for the idempotency key must read as a replay, not as a limit.
        let mut items = vec![put(
            self.table(),
            job_item(job),
            "attribute_not_exists(pk)",
        )?];
        let idempotency_index = idempotency.map(|_| items.len());
        if let Some(idem) = idempotency {
            let mut record =
                attrs::key(keys::user(job.owner), keys::idempotency(idem.key.as_str()));
            record.insert("jobId".into(), attrs::s(job.id.to_string()));
            record.insert("fingerprint".into(), attrs::s(&idem.fingerprint));
            record.insert(
                "expiresAt".into(),
                attrs::n((now + IDEMPOTENCY_TTL).unix_timestamp()),
            );
            // An expired record that DynamoDB's TTL has not swept yet is free to reuse.
            let put = Put::builder()
                .table_name(self.table())
                .set_item(Some(record))
                .condition_expression("attribute_not_exists(pk) OR expiresAt <= :now")
                .expression_attribute_values(":now", attrs::n(now.unix_timestamp()))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let quota_index = items.len();
        items.extend(limits::counter_items(self, job, admission)?);
        let outcome = self
            .apply_with(
                job.owner,
                &CreditCause::JobDebit(job.id),
                Movement::Debit(job.cost()),
                |_| items.clone(),
            )
            .await;
        match outcome {
            Ok(outcome) => {
                info!(user = %job.owner, job = %job.id, cost = job.cost().get(), "job submitted");
                Ok(Submitted::Created {
                    job: job.clone(),
                    balance: outcome.balance(),
                })
            }
            // Another request with the same key got there first: answer as a replay of it.
            Err(ApplyError::ExtraRejected(i)) if Some(i) == idempotency_index => {
                match idempotency {
                    Some(idem) => self
                        .replay(job.owner, idem, now)
                        .await?
                        .ok_or_else(|| corrupt("idempotency record vanished").into()),
                    None => Err(corrupt("unexpected idempotency condition").into()),
                }
            }
            Err(ApplyError::ExtraRejected(i)) if i == quota_index => {
                Err(LimitReached::DailyQuota.into())
            }
            Err(ApplyError::ExtraRejected(i)) if i == quota_index + 1 => {
                Err(LimitReached::SpendCap.into())
            }
            // A concurrent request with the same key may have spent the balance this one saw:
            // then it is a replay of that request, not a shortage.
            Err(ApplyError::Store(StoreError::InsufficientCredits(short))) => match idempotency {
                Some(idem) => match self.replay(job.owner, idem, now).await? {
                    Some(replayed) => Ok(replayed),
                    None => Err(StoreError::InsufficientCredits(short).into()),
                },
                None => Err(StoreError::InsufficientCredits(short).into()),
            },
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    async fn job(&self, owner: UserId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.job_by_key(owner, id).await
    }

    async fn jobs(&self, owner: UserId, page: PageRequest) -> Result<Page<Job>, StoreError> {
        let (items, next) = self.newest_first(owner, keys::JOB_PREFIX, page).await?;
        let items = items
            .into_iter()
            .map(|item| job_from_item(&item))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    async fn claim(&self, owner: UserId, id: JobId, lease: Duration) -> Result<Claim, StoreError> {
        let now = OffsetDateTime::now_utc();
        let until = now + lease;
        let token = Ulid::generate().to_string();
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(keys::user(owner), keys::job(id))))
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
            .await;
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
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(match refused.item() {
                        None => Claim::Missing,
                        Some(item) => {
                            let job = job_from_item(item)?;
                            if job.status.is_final() {
                                Claim::Finished(job)
                            } else {
                                Claim::Busy
                            }
                        }
                    })
                }
                _ => Err(unavailable(err)),
            },
        }
    }

    async fn complete(
        &self,
        job: &Job,
        lease: &Lease,
        images: &[Image],
        error: Option<JobError>,
    ) -> Result<Completion, StoreError> {
        let now = OffsetDateTime::now_utc();
        let refund = job.refund_for(images.len());
        let (status, error) = if images.is_empty() {
            let error = error.unwrap_or_else(|| {
                JobError::new(
                    JobErrorCode::GenerationFailed,
                    "no image could be made; your credits were refunded",
                )
            });
            (JobStatus::Failed, Some(error))
        } else {
            (JobStatus::Succeeded, None)
        };
        let update = finish_update(
            self.table(),
            job,
            status,
            images,
            refund,
            error.as_ref(),
            now,
        )
        .condition_expression("#status = :running AND leaseToken = :token")
        .expression_attribute_values(":running", attrs::s(JobStatus::Running.as_str()))
        .expression_attribute_values(":token", attrs::s(&lease.token))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        for image in images {
            // Plain puts: a job's images are written only here, once the job is this worker's.
            items.push(
                Put::builder()
                    .table_name(self.table())
                    .set_item(Some(image_item(image)))
                    .build()
                    .map(|p| TransactWriteItem::builder().put(p).build())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        if !self.finish_with(job, refund, items).await? {
            info!(user = %job.owner, job = %job.id, "job was no longer ours to finish");
            return Ok(Completion::NotYours);
        }
        info!(user = %job.owner, job = %job.id, %status, images = images.len(), refunded = refund.get(), "job finished");
        Ok(Completion::Finished {
            job: Box::new(Job {
                status,
                images: images.iter().map(|i| i.id).collect(),
                refunded: refund,
                error,
                updated_at: now,
                ..job.clone()
            }),
            refunded: refund,
        })
    }

    async fn abandon(
        &self,
        owner: UserId,
        id: JobId,
        error: JobError,
    ) -> Result<Completion, StoreError> {
        let Some(job) = self.job_by_key(owner, id).await? else {
            return Ok(Completion::NotYours);
        };
        if job.status.is_final() {
            return Ok(Completion::NotYours);
        }
        let now = OffsetDateTime::now_utc();
        let refund = job.refund_for(0);
        let update = finish_update(
            self.table(),
            &job,
            JobStatus::Failed,
            &[],
            refund,
            Some(&error),
            now,
        )
        .condition_expression("#status IN (:queued, :running)")
        .expression_attribute_values(":queued", attrs::s(JobStatus::Queued.as_str()))
        .expression_attribute_values(":running", attrs::s(JobStatus::Running.as_str()))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let items = vec![TransactWriteItem::builder().update(update).build()];
        if !self.finish_with(&job, refund, items).await? {
            return Ok(Completion::NotYours);
        }
        info!(user = %owner, job = %id, code = error.code.as_str(), refunded = refund.get(), "job abandoned");
        Ok(Completion::Finished {
            job: Box::new(Job {
                status: JobStatus::Failed,
                images: Vec::new(),
                refunded: refund,
                error: Some(error),
                updated_at: now,
                ..job
            }),
            refunded: refund,
        })
    }
}
