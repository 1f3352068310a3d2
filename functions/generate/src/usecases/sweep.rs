//! Sweeping stuck jobs (DESIGN §6): a job that was debited but that no worker will finish is
//! failed and refunded, exactly once, even while a worker finishes it at the same moment.
//!
//! Run on a schedule. Each sweep lists the jobs that are not finished and were submitted more
//! than [`SweepPolicy::after`] ago (from the store's index of unfinished jobs), and for each:
//!
//! - **queued**, never sent again: the API or its queue lost it (its debit committed, the
//!   message never arrived, or it was dropped). It is marked as sent again (a conditional
//!   write: once per job, only while queued) and sent to the queue again; if sending fails, it
//!   is failed and refunded now.
//! - **queued**, sent again at least `after` ago: no worker took it even then; it is failed
//!   and refunded, only while still queued ([`Holder::Unclaimed`]).
//! - **running** under a lease that ended at least `after` ago: its worker is gone and no
//!   delivery took it over; it is failed and refunded, only while still under that lapsed
//!   lease ([`Holder::Lapsed`]), and its slots' files are removed.
//!
//! Every write is conditioned on the state the sweeper saw, and the refund has its once-only
//! cause, so a worker that claims or finishes the job meanwhile wins or loses cleanly: either
//! the worker's result stands, or the sweeper's failure and its one refund.

use artforge_domain::{
    Holder, ImageFiles, ImageFormat, JobQueue, JobStatus, Jobs, StoreError, StuckJobs, Unfinished,
    preview::preview_keys,
};
use time::OffsetDateTime;
use tracing::{error, info, warn};

use super::{
    fail::{GiveUp, fail_held},
    run::slot_keys,
};

/// When a job counts as stuck, and how many one sweep looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPolicy {
    /// How long a job may wait in the queue (and again after it was sent again), or stay
    /// running past its lease, before the sweeper acts.
    pub after: time::Duration,
    /// The most jobs one sweep looks at; the rest wait for the next.
    pub batch: usize,
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self {
            after: time::Duration::minutes(10),
            batch: 500,
        }
    }
}

/// What the sweeper did to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Swept {
    /// A queued job was sent to the queue again.
    Resent,
    /// A queued job no worker took, even when sent again, was failed and refunded.
    NeverStarted,
    /// A running job whose worker is gone was failed and refunded.
    Abandoned,
}

impl Swept {
    /// The kind, as metrics and logs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resent => "resent",
            Self::NeverStarted => "never_started",
            Self::Abandoned => "abandoned",
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Unfinished jobs older than the policy's `after`.
    pub looked_at: usize,
    pub resent: usize,
    pub never_started: usize,
    pub abandoned: usize,
    /// Jobs a store or queue failure left for the next sweep.
    pub errors: usize,
}

impl Report {
    fn count(&mut self, swept: Swept) {
        match swept {
            Swept::Resent => self.resent += 1,
            Swept::NeverStarted => self.never_started += 1,
            Swept::Abandoned => self.abandoned += 1,
        }
    }
}

/// Everything sweeping takes, built once.
pub struct Sweeper<J, Q, F> {
    pub jobs: J,
    pub queue: Q,
    pub files: F,
    /// The worker's rendition format: where a failed job's slots may have files.
    pub format: ImageFormat,
    pub policy: SweepPolicy,
}

impl<J, Q, F> Sweeper<J, Q, F>
where
    J: Jobs + StuckJobs,
    Q: JobQueue,
    F: ImageFiles,
{
    /// One sweep at `now`. `Err` only when the stuck jobs could not be listed; a failure on
    /// one job is logged, counted and left for the next sweep.
    pub async fn sweep(&self, now: OffsetDateTime) -> Result<Report, StoreError> {
        let found = self
            .jobs
            .unfinished(now - self.policy.after, self.policy.batch)
            .await?;
        let mut report = Report {
            looked_at: found.len(),
            ..Report::default()
        };
        for stuck in &found {
            match self.settle(stuck, now).await {
                Ok(Some(swept)) => {
                    artforge_metrics::swept(swept.as_str());
                    report.count(swept);
                }
                Ok(None) => {}
                Err(e) => {
                    error!(user = %stuck.job.owner, job = %stuck.job.id, error = %e, "sweeping a job failed; the next sweep tries again");
                    report.errors += 1;
                }
            }
        }
        if found.is_empty() {
            info!("sweep found no stuck job");
        } else {
            info!(?report, "sweep done");
        }
        Ok(report)
    }

    /// Decides and does what `stuck`, as read, needs at `now`. `None`: nothing (it is not
    /// stuck yet, or a worker or another sweep got to it first).
    pub async fn settle(
        &self,
        stuck: &Unfinished,
        now: OffsetDateTime,
    ) -> Result<Option<Swept>, StoreError> {
        let job = &stuck.job;
        let after = self.policy.after;
        match (job.status, stuck.resent_at, stuck.lease_until) {
            (JobStatus::Queued, None, _) => {
                if !self.jobs.mark_resent(job.owner, job.id, now).await? {
                    return Ok(None);
                }
                match self.queue.enqueue(job.owner, job.id).await {
                    Ok(()) => {
                        warn!(user = %job.owner, job = %job.id, "stuck queued job sent again");
                        Ok(Some(Swept::Resent))
                    }
                    Err(e) => {
                        warn!(user = %job.owner, job = %job.id, error = %e, "sending a stuck job again failed; failing it");
                        self.fail(stuck, GiveUp::NotQueued, Holder::Unclaimed, now)
                            .await
                            .map(|done| done.then_some(Swept::NeverStarted))
                    }
                }
            }
            (JobStatus::Queued, Some(resent), _) if resent + after <= now => self
                .fail(stuck, GiveUp::NeverStarted, Holder::Unclaimed, now)
                .await
                .map(|done| done.then_some(Swept::NeverStarted)),
            (JobStatus::Running, _, Some(until)) if until + after <= now => self
                .fail(stuck, GiveUp::Abandoned, Holder::Lapsed(now - after), now)
                .await
                .map(|done| done.then_some(Swept::Abandoned)),
            _ => Ok(None),
        }
    }

    /// Fails the job while `holder` may; then removes any files its slots may have.
    async fn fail(
        &self,
        stuck: &Unfinished,
        why: GiveUp,
        holder: Holder<'_>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let Some(job) = fail_held(&self.jobs, stuck.job.clone(), why, holder, now).await? else {
            info!(user = %stuck.job.owner, job = %stuck.job.id, "a worker got to the stuck job first");
            return Ok(false);
        };
        warn!(user = %job.owner, job = %job.id, refunded = job.refunded.get(), reason = ?why, "stuck job failed and refunded");
        // Only a job that ran may have files (its images' and its previews).
        if stuck.lease_until.is_some() {
            let keys: Vec<String> = job
                .slots
                .iter()
                .flat_map(|slot| slot_keys(&job, *slot, self.format))
                .chain(preview_keys(job.owner, job.id))
                .collect();
            if let Err(e) = self.files.remove(&keys).await {
                error!(user = %job.owner, job = %job.id, error = %e, "removing a swept job's files failed");
            }
        }
        Ok(true)
    }
}
