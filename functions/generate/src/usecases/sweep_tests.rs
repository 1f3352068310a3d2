//! The sweeper on in-memory fakes: "a job stranded in `queued` or `running` is swept once,
//! even with a worker finishing it at the same moment", with the interleavings spelled out
//! (the sweeper reads, the worker finishes, the sweeper acts; and the other way round), and
//! then raced for real.

use std::time::Duration;

use artforge_domain::{
    Admission, Claim, Credits, FileUploads, Holder, Job, JobStatus, Jobs, Lease, Ledger, StuckJobs,
    UserId,
};
use artforge_fakes::{FakeProvider, MemoryFiles, MemoryQueue, MemoryStore, contract::account};
use artforge_imaging::PipelineConfig;
use time::OffsetDateTime;

use super::{
    fixture,
    previews::PreviewPolicy,
    run::{JobRunner, Outcome},
    sweep::{Report, SweepPolicy, Sweeper, Swept},
};

const MINUTE: time::Duration = time::Duration::minutes(1);
const LEASE: Duration = Duration::from_secs(300);

fn admission() -> Admission {
    Admission {
        spend_micros: 1,
        limits: fixture::limits(),
    }
}

fn png() -> Vec<u8> {
    fixture::png(64, 96, [20, 80, 200])
}

struct Bench {
    store: MemoryStore,
    queue: MemoryQueue,
    files: MemoryFiles,
    sweeper: Sweeper<MemoryStore, MemoryQueue, MemoryFiles>,
    user: UserId,
    /// When the jobs were submitted.
    t0: OffsetDateTime,
}

impl Bench {
    async fn new() -> Self {
        let (store, queue, files) = (MemoryStore::new(), MemoryQueue::new(), MemoryFiles::new());
        let user = account(&store, 3).await;
        let sweeper = Sweeper {
            jobs: store.clone(),
            queue: queue.clone(),
            files: files.clone(),
            format: PipelineConfig::default().format,
            policy: SweepPolicy::default(),
        };
        Self {
            store,
            queue,
            files,
            sweeper,
            user,
            t0: OffsetDateTime::now_utc() - time::Duration::hours(1),
        }
    }

    /// A job debited and written whose message never reached the queue.
    async fn stranded(&self) -> Job {
        let job = Job {
            created_at: self.t0,
            updated_at: self.t0,
            ..artforge_fakes::contract::job(self.user, 2)
        };
        self.store
            .submit(&job, None, &admission(), self.t0)
            .await
            .expect("submitted");
        job
    }

    /// The job claimed by a worker at `t0`, under a lease of [`LEASE`].
    async fn claimed(&self, job: &Job) -> (Job, Lease) {
        let Claim::Claimed(running, lease) = self
            .store
            .claim(self.user, job.id, LEASE, self.t0)
            .await
            .expect("claim")
        else {
            panic!("claimed");
        };
        (running, lease)
    }

    /// A worker's success with every image.
    async fn worker_finishes(&self, running: &Job, lease: &Lease) -> bool {
        let done = Job {
            status: JobStatus::Succeeded,
            images: running.slots.clone(),
            updated_at: OffsetDateTime::now_utc(),
            ..running.clone()
        };
        self.store
            .finish(&done, Holder::Lease(lease), &[])
            .await
            .expect("finish")
    }

    fn runner(&self) -> JobRunner<MemoryStore, FakeProvider, MemoryFiles> {
        JobRunner {
            lease: LEASE,
            ..fixture::runner(
                &self.store,
                FakeProvider::answering(png()),
                &self.files,
                PreviewPolicy::default(),
            )
        }
    }

    async fn sweep(&self, at: OffsetDateTime) -> Report {
        self.sweeper.sweep(at).await.expect("sweep")
    }

    async fn job(&self, job: &Job) -> Job {
        self.store
            .job(self.user, job.id)
            .await
            .expect("read")
            .expect("the job")
    }

    async fn balance(&self) -> u64 {
        self.store.balance(self.user).await.expect("balance").get()
    }

    /// How many refunds the user's ledger holds.
    fn refunds(&self) -> usize {
        self.store
            .entries(self.user)
            .iter()
            .filter(|e| e.delta > 0)
            .count()
            - 1
    }
}

#[tokio::test]
async fn a_job_stranded_in_queued_is_sent_again_once_then_failed_and_refunded_once() {
    let bench = Bench::new().await;
    let job = bench.stranded().await;
    assert_eq!(bench.balance().await, 1);

    let early = bench.sweep(bench.t0 + 5 * MINUTE).await;
    assert_eq!(early, Report::default(), "not stuck yet");

    let first = bench.sweep(bench.t0 + 11 * MINUTE).await;
    assert_eq!((first.looked_at, first.resent), (1, 1));
    assert_eq!(bench.queue.sent(), [(bench.user, job.id)]);
    let soon = bench.sweep(bench.t0 + 15 * MINUTE).await;
    assert_eq!((soon.resent, soon.never_started), (0, 0), "sent again once");
    assert_eq!(bench.queue.sent().len(), 1);

    let last = bench.sweep(bench.t0 + 22 * MINUTE).await;
    assert_eq!(last.never_started, 1);
    let failed = bench.job(&job).await;
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.refunded, Credits::new(2));
    assert!(
        failed
            .error
            .as_ref()
            .is_some_and(|e| e.message.contains("could not be started"))
    );
    assert_eq!(bench.balance().await, 3);
    assert_eq!(
        bench.sweep(bench.t0 + 40 * MINUTE).await,
        Report::default(),
        "a finished job is no longer listed"
    );
    let late = bench.runner().run(bench.user, job.id).await;
    assert!(matches!(late, Outcome::Skipped), "{late:?}");
    assert_eq!((bench.balance().await, bench.refunds()), (3, 1));
    assert!(bench.store.books_balance());
}

#[tokio::test]
async fn a_stuck_job_that_cannot_be_sent_again_is_failed_and_refunded_at_once() {
    let bench = Bench::new().await;
    let job = bench.stranded().await;
    bench.queue.faults.fail("enqueue", 1);
    let report = bench.sweep(bench.t0 + 11 * MINUTE).await;
    assert_eq!((report.resent, report.never_started), (0, 1));
    assert_eq!(bench.job(&job).await.status, JobStatus::Failed);
    assert_eq!(bench.balance().await, 3);
}

#[tokio::test]
async fn a_job_stranded_in_running_is_failed_and_refunded_once_and_its_files_removed() {
    let bench = Bench::new().await;
    let job = bench.stranded().await;
    let (running, lease) = bench.claimed(&job).await;
    // The worker stored one file before it died.
    let format = PipelineConfig::default().format;
    let stored = super::run::slot_keys(&job, job.slots[0], format).remove(0);
    bench
        .files
        .put(&stored, vec![1, 2, 3], "image/png")
        .await
        .expect("put");
    // The lease ends at t0 + 5 min; the sweeper waits 10 more.
    let within = bench.sweep(bench.t0 + 14 * MINUTE).await;
    assert_eq!(within.abandoned, 0);
    assert_eq!(bench.job(&job).await.status, JobStatus::Running);

    let swept = bench.sweep(bench.t0 + 16 * MINUTE).await;
    assert_eq!((swept.looked_at, swept.abandoned), (1, 1));
    let failed = bench.job(&job).await;
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.refunded, Credits::new(2));
    assert!(bench.files.keys().is_empty(), "{:?}", bench.files.keys());
    assert!(
        !bench.worker_finishes(&running, &lease).await,
        "the late worker finishes nothing"
    );
    assert_eq!(bench.sweep(bench.t0 + 30 * MINUTE).await, Report::default());
    assert_eq!((bench.balance().await, bench.refunds()), (3, 1));
    assert!(bench.store.books_balance());
}

#[tokio::test]
async fn a_worker_that_finishes_after_the_sweeper_read_the_job_wins_and_nothing_is_refunded() {
    // Running: the sweeper reads, the worker finishes, the sweeper acts on what it read.
    let bench = Bench::new().await;
    let job = bench.stranded().await;
    let (running, lease) = bench.claimed(&job).await;
    let at = bench.t0 + 16 * MINUTE;
    let seen = bench
        .store
        .unfinished(at - SweepPolicy::default().after, 10)
        .await
        .expect("unfinished");
    assert_eq!(seen.len(), 1);
    assert!(bench.worker_finishes(&running, &lease).await);
    assert_eq!(
        bench.sweeper.settle(&seen[0], at).await.expect("settle"),
        None
    );
    assert_eq!(bench.job(&job).await.status, JobStatus::Succeeded);
    assert_eq!((bench.balance().await, bench.refunds()), (1, 0));

    // Queued: the sweeper reads, a (late) delivery runs the job, the sweeper acts.
    let bench = Bench::new().await;
    let job = bench.stranded().await;
    let at = bench.t0 + 11 * MINUTE;
    let seen = bench
        .store
        .unfinished(at - SweepPolicy::default().after, 10)
        .await
        .expect("unfinished");
    let outcome = bench.runner().run(bench.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert_eq!(
        bench.sweeper.settle(&seen[0], at).await.expect("settle"),
        None
    );
    assert!(
        bench.queue.sent().is_empty(),
        "a finished job is not sent again"
    );

    // Queued and sent again: the sweeper reads, the delivery claims it, the sweeper acts.
    let bench = Bench::new().await;
    let job = bench.stranded().await;
    bench.sweep(bench.t0 + 11 * MINUTE).await;
    let at = bench.t0 + 22 * MINUTE;
    let seen = bench
        .store
        .unfinished(at - SweepPolicy::default().after, 10)
        .await
        .expect("unfinished");
    let (running, lease) = bench.claimed(&job).await;
    assert_eq!(
        bench.sweeper.settle(&seen[0], at).await.expect("settle"),
        None
    );
    assert!(bench.worker_finishes(&running, &lease).await);
    assert_eq!((bench.balance().await, bench.refunds()), (1, 0));
    assert!(bench.store.books_balance());
}

#[tokio::test]
async fn a_sweeper_that_acts_first_wins_and_the_worker_finishes_nothing() {
    let bench = Bench::new().await;
    let job = bench.stranded().await;
    let (running, lease) = bench.claimed(&job).await;
    let at = bench.t0 + 16 * MINUTE;
    let seen = bench
        .store
        .unfinished(at - SweepPolicy::default().after, 10)
        .await
        .expect("unfinished");
    assert_eq!(
        bench.sweeper.settle(&seen[0], at).await.expect("settle"),
        Some(Swept::Abandoned)
    );
    assert!(!bench.worker_finishes(&running, &lease).await);
    assert_eq!(
        bench.sweeper.settle(&seen[0], at).await.expect("settle"),
        None,
        "a second sweep over the same read does nothing"
    );
    assert_eq!((bench.balance().await, bench.refunds()), (3, 1));
    assert!(bench.store.books_balance());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_stranded_in_running_is_swept_once_even_with_a_worker_finishing_it_at_the_same_moment()
 {
    let (mut sweeper_won, mut worker_won) = (0, 0);
    for _ in 0..100 {
        let bench = Bench::new().await;
        let job = bench.stranded().await;
        let (running, lease) = bench.claimed(&job).await;
        let at = bench.t0 + 16 * MINUTE;
        let (report, worker) = tokio::join!(
            bench.sweeper.sweep(at),
            bench.worker_finishes(&running, &lease)
        );
        let report = report.expect("sweep");
        assert_ne!(
            report.abandoned == 1,
            worker,
            "exactly one of them finished it"
        );
        let status = bench.job(&job).await.status;
        if worker {
            worker_won += 1;
            assert_eq!(status, JobStatus::Succeeded);
            assert_eq!((bench.balance().await, bench.refunds()), (1, 0));
        } else {
            sweeper_won += 1;
            assert_eq!(status, JobStatus::Failed);
            assert_eq!((bench.balance().await, bench.refunds()), (3, 1));
        }
        assert!(bench.store.books_balance());
    }
    assert_eq!(sweeper_won + worker_won, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_stranded_in_queued_is_swept_once_even_with_a_worker_running_it_at_the_same_moment() {
    for _ in 0..50 {
        let bench = Bench::new().await;
        let job = bench.stranded().await;
        bench.sweep(bench.t0 + 11 * MINUTE).await;
        let runner = bench.runner();
        let (report, outcome) = tokio::join!(
            bench.sweeper.sweep(bench.t0 + 22 * MINUTE),
            runner.run(bench.user, job.id)
        );
        let report = report.expect("sweep");
        let done = bench.job(&job).await;
        match outcome {
            Outcome::Finished => {
                assert_eq!(report.never_started, 0);
                assert_eq!(done.status, JobStatus::Succeeded);
                assert_eq!((bench.balance().await, bench.refunds()), (1, 0));
            }
            Outcome::Skipped => {
                assert_eq!(report.never_started, 1);
                assert_eq!(done.status, JobStatus::Failed);
                assert_eq!((bench.balance().await, bench.refunds()), (3, 1));
            }
            other => panic!("{other:?}"),
        }
        assert!(bench.store.books_balance());
    }
}
