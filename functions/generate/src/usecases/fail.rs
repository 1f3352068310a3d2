//! Failing a job that will never finish: its credits come back in full, once, whoever held it.

use artforge_domain::{
    Holder, Job, JobError, JobErrorCode, JobId, JobStatus, Jobs, StoreError, UserId,
};
use time::OffsetDateTime;

/// Why a job is given up on, in the words its owner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// Queueing it failed after it was debited: no worker will ever see it.
    NotQueued,
    /// The queue gave up on it after its retries (a dead letter).
    DeadLetter,
    /// No worker took it, even after the sweeper sent it to the queue again.
    NeverStarted,
    /// Its worker stopped before finishing it and no other took it over.
    Abandoned,
}

impl GiveUp {
    fn error(self) -> JobError {
        match self {
            Self::NotQueued => JobError::new(
                JobErrorCode::GenerationFailed,
                "the job could not be queued; your credits were refunded",
            ),
            Self::DeadLetter | Self::Abandoned => JobError::new(
                JobErrorCode::GenerationFailed,
                "the job could not be finished; your credits were refunded",
            ),
            Self::NeverStarted => JobError::new(
                JobErrorCode::GenerationFailed,
                "the job could not be started; your credits were refunded",
            ),
        }
    }
}

/// `job` failed with `error` and a full refund.
pub fn failed(job: Job, error: JobError, now: OffsetDateTime) -> Job {
    Job {
        status: JobStatus::Failed,
        images: Vec::new(),
        refunded: job.cost,
        error: Some(error),
        previews: 0,
        updated_at: now,
        ..job
    }
}

/// Fails the job unless it is final already. The failed job when this call failed it; `None`
/// when there was nothing to do (no such job, or it finished, by now or by anyone).
pub async fn give_up<J: Jobs>(
    jobs: &J,
    owner: UserId,
    id: JobId,
    why: GiveUp,
    now: OffsetDateTime,
) -> Result<Option<Job>, StoreError> {
    let Some(job) = jobs.job(owner, id).await? else {
        return Ok(None);
    };
    if job.status.is_final() {
        return Ok(None);
    }
    fail_held(jobs, job, why, Holder::Anyone, now).await
}

/// Fails `job` as read, while `holder` may finish it. The failed job when this call failed it;
/// `None` when it was no longer `holder`'s to finish.
pub async fn fail_held<J: Jobs>(
    jobs: &J,
    job: Job,
    why: GiveUp,
    holder: Holder<'_>,
    now: OffsetDateTime,
) -> Result<Option<Job>, StoreError> {
    let job = failed(job, why.error(), now);
    if !jobs.finish(&job, holder, &[]).await? {
        return Ok(None);
    }
    artforge_metrics::job_finished(false, job.refunded.get());
    Ok(Some(job))
}
