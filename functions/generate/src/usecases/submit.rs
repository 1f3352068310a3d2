//! Submitting a generation (DESIGN §3, step 1): check and price the request against the
//! catalogue, debit it with the job in one atomic step within the day's limits, queue it.
//!
//! An `Idempotency-Key` makes a retry safe: the same key with the same request answers the
//! first job and charges nothing (and queues it again if it is still queued: the first request
//! may have failed to queue it and to refund it); with another request it is refused. A job
//! that cannot be queued is failed with a full refund at once.

use std::sync::Arc;

use artforge_domain::{
    Admission, Catalog, Credits, DailyLimits, FieldError, FileReads, GenerationRequest,
    Idempotency, IdempotencyKey, Images, InsufficientCredits, Job, JobQueue, JobStatus, Jobs,
    Ledger, LimitReached, ModelNotices, QueueError, RawGeneration, Remembered, StoreError,
    SubmitRefusal, UserId,
    edit::{InputRefs, MAX_SOURCES},
    limits::next_day_start,
};
use time::OffsetDateTime;
use tracing::{error, info};

use super::{
    fail::{GiveUp, give_up},
    inputs::{self, InputRefusal},
};

/// A submission that stands: the job (queued, or as far as it got when replayed), the balance
/// after it, and whether it was a replay of an earlier request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub job: Job,
    pub balance: Credits,
    pub replayed: bool,
}

/// Why a submission was refused. Nothing is charged by a refused submission.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the request is invalid")]
    Invalid(Vec<FieldError>),
    /// A source or the remixed image is not one the caller may use (404, naming the field).
    #[error("{0}: no such image")]
    NotFound(String),
    /// An upload cannot be used (422 `upload_invalid`).
    #[error("{0}")]
    UploadInvalid(FieldError),
    /// The mask is not the first source's size (422 `mask_mismatch`).
    #[error("{0}")]
    MaskMismatch(FieldError),
    #[error(transparent)]
    Insufficient(InsufficientCredits),
    /// The key came with another request before.
    #[error("the idempotency key was used for another request")]
    KeyReused,
    /// A daily limit has no room; it resets after `retry_after`.
    #[error("{limit}")]
    Limit {
        limit: LimitReached,
        retry_after: time::Duration,
    },
    /// The job could not be queued; it was refunded (or a retry with the key queues it).
    #[error("the job could not be queued")]
    NotQueued(#[source] QueueError),
    /// The catalogue cannot price what it validated (a configuration error).
    #[error("the catalogue has no price for this request")]
    Unpriced,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InputRefusal> for Refusal {
    fn from(refusal: InputRefusal) -> Self {
        match refusal {
            InputRefusal::NotFound(field) => Self::NotFound(field),
            InputRefusal::UploadInvalid(e) => Self::UploadInvalid(e),
            InputRefusal::MaskMismatch(e) => Self::MaskMismatch(e),
            InputRefusal::Store(e) => Self::Store(e),
        }
    }
}

/// The generation use cases of the API: the catalogue and limits it prices and admits by,
/// over the jobs (with their credits, and the images a job may use), the queue, and the files
/// an edit's sources are (checked before anything is charged).
#[derive(Debug, Clone)]
pub struct Generations<J, Q, F> {
    pub jobs: J,
    pub queue: Q,
    pub files: F,
    pub catalog: Arc<Catalog>,
    pub limits: DailyLimits,
}

impl<J: Jobs + Ledger + Images + ModelNotices, Q: JobQueue, F: FileReads> Generations<J, Q, F> {
    /// Checks `raw` against the catalogue, with its sources, mask and remix parsed and counted
    /// against the tier's edits: every bad field named at once.
    fn check(&self, mut raw: RawGeneration) -> Result<(GenerationRequest, InputRefs), Refusal> {
        let raw_inputs = std::mem::take(&mut raw.inputs);
        let request = self.catalog.validate(raw);
        let edits = request
            .as_ref()
            .ok()
            .and_then(|r| self.catalog.tier(r.tier))
            .and_then(|t| t.edits.clone());
        let max_sources = edits
            .as_ref()
            .map_or(MAX_SOURCES, |e| usize::from(e.max_sources));
        let refs = InputRefs::parse(raw_inputs, max_sources);
        match (request, refs) {
            (Ok(request), Ok(refs)) => {
                let mut errors = Vec::new();
                match &edits {
                    None if refs.is_edit() => {
                        errors.push(FieldError::new("sources", "this model makes no edits"))
                    }
                    Some(e) if refs.mask.is_some() && !e.mask => {
                        errors.push(FieldError::new("mask", "this model takes no mask"));
                    }
                    _ => {}
                }
                if errors.is_empty() {
                    Ok((request, refs))
                } else {
                    Err(Refusal::Invalid(errors))
                }
            }
            (request, refs) => {
                let mut errors = request.err().unwrap_or_default();
                errors.extend(refs.err().unwrap_or_default());
                Err(Refusal::Invalid(errors))
            }
        }
    }

    /// Submits `raw` for `owner` at `now`.
    pub async fn submit(
        &self,
        owner: UserId,
        raw: RawGeneration,
        key: Option<IdempotencyKey>,
        now: OffsetDateTime,
    ) -> Result<Submission, Refusal> {
        let (request, refs) = self.check(raw)?;
        let inputs = inputs::resolve(&self.jobs, &self.files, owner, &refs, now).await?;
        // An edit is priced by the tier's edits, per quality; anything else by the quality.
        let unit_price = if inputs.edit.is_some() {
            self.catalog.edit_unit_price(request.tier, request.quality)
        } else {
            self.catalog.unit_price(&request)
        }
        .ok_or(Refusal::Unpriced)?;
        let spend_micros = self
            .catalog
            .provider_cost_micros(&request)
            .and_then(|cost| cost.checked_mul(u64::from(request.count)))
            .ok_or(Refusal::Unpriced)?;
        let mut job = Job::new(owner, request, unit_price, now).map_err(StoreError::from)?;
        job.inputs = inputs;
        let idempotency = key.map(|key| Idempotency {
            key,
            fingerprint: fingerprint(&job),
        });
        if let Some(idem) = &idempotency
            && let Some(first) = self.jobs.remembered(owner, &idem.key, now).await?
        {
            return self.replay(owner, idem, first).await;
        }
        if let Some(spec) = self.catalog.tier(job.request.tier)
            && let Some(refusal) =
                super::models::retired(&self.jobs, spec.id, &spec.provider_model, now).await
        {
            return Err(Refusal::Invalid(vec![refusal]));
        }
        let admission = Admission {
            spend_micros,
            limits: self.limits,
        };
        admission
            .fits_a_fresh_day(&job)
            .map_err(|limit| limited(limit, now))?;
        match self
            .jobs
            .submit(&job, idempotency.as_ref(), &admission, now)
            .await
        {
            Ok(balance) => {
                artforge_metrics::job_submitted(job.cost.get());
                self.enqueue(job, balance, now).await
            }
            // Another request with the same key got there first: answer as a replay of it.
            Err(SubmitRefusal::KeyTaken) => {
                let idem = idempotency.as_ref().ok_or_else(|| {
                    StoreError::Corrupt("a key was refused that was never sent".into())
                })?;
                let first = self
                    .jobs
                    .remembered(owner, &idem.key, now)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("the idempotency record vanished".into()))?;
                self.replay(owner, idem, first).await
            }
            // A concurrent request with the same key may have spent the balance this one saw:
            // then it is a replay of that request, not a shortage.
            Err(SubmitRefusal::Insufficient(short)) => match &idempotency {
                Some(idem) => match self.jobs.remembered(owner, &idem.key, now).await? {
                    Some(first) => self.replay(owner, idem, first).await,
                    None => Err(Refusal::Insufficient(short)),
                },
                None => Err(Refusal::Insufficient(short)),
            },
            Err(SubmitRefusal::Limit(limit)) => Err(limited(limit, now)),
            Err(SubmitRefusal::Store(e)) => Err(e.into()),
        }
    }

    /// Queues a debited job; when that fails, no worker will ever run it, so it is refunded now.
    async fn enqueue(
        &self,
        job: Job,
        balance: Credits,
        now: OffsetDateTime,
    ) -> Result<Submission, Refusal> {
        if let Err(err) = self.queue.enqueue(job.owner, job.id).await {
            error!(error = %err, "queueing the job failed; failing it with a refund");
            if let Err(e) = give_up(&self.jobs, job.owner, job.id, GiveUp::NotQueued, now).await {
                // A retry with the same key finds it queued and queues it again.
                error!(error = %e, "failing the unqueued job failed too");
            }
            return Err(Refusal::NotQueued(err));
        }
        info!(cost = job.cost.get(), "job accepted");
        Ok(Submission {
            job,
            balance,
            replayed: false,
        })
    }

    /// The job a key already stands for, if the request is the same.
    async fn replay(
        &self,
        owner: UserId,
        idempotency: &Idempotency,
        first: Remembered,
    ) -> Result<Submission, Refusal> {
        if first.fingerprint != idempotency.fingerprint {
            return Err(Refusal::KeyReused);
        }
        let job = self.jobs.job(owner, first.job).await?.ok_or_else(|| {
            StoreError::Corrupt("an idempotency record names a missing job".into())
        })?;
        let balance = self.jobs.balance(owner).await?;
        if job.status == JobStatus::Queued {
            // The first request may have failed to queue it and then to fail it: queue it
            // again. A second message is harmless: the worker's claim runs a job once.
            self.queue
                .enqueue(owner, job.id)
                .await
                .map_err(Refusal::NotQueued)?;
        }
        info!("idempotent replay");
        Ok(Submission {
            job,
            balance,
            replayed: true,
        })
    }
}

/// What a job asks for, to tell a replay from a reused key: the request, and its inputs when
/// it has any (so a plain request's fingerprint is what it always was).
fn fingerprint(job: &Job) -> String {
    let request = job.request.fingerprint();
    if job.inputs == artforge_domain::edit::JobInputs::default() {
        request
    } else {
        format!("{request}\u{1f}{}", job.inputs.fingerprint())
    }
}

/// A reached limit, with when it resets: the next UTC midnight.
fn limited(limit: LimitReached, now: OffsetDateTime) -> Refusal {
    Refusal::Limit {
        limit,
        retry_after: next_day_start(now) - now,
    }
}
