//! The sweeper end to end over moto: "a job stranded in `queued` or `running` is swept once,
//! even with a worker finishing it at the same moment", with the production wiring
//! ([`generate::JobSweeper`]) on the stack's table, queue and bucket.

use artforge_domain::{Admission, Claim, DailyLimits, Holder, Job, JobStatus, Jobs, UserId};
use generate::{JobSweeper, SweeperConfig, usecases::sweep::SweepPolicy, worker::Delivery};
use time::OffsetDateTime;

use crate::common::Stack;

pub fn sweeper(stack: &Stack) -> JobSweeper {
    let mut provider = artforge_openai::ProviderConfig::new("sk-test".to_owned().into());
    provider.api_base = stack.openai_base.clone();
    let config = SweeperConfig {
        table_name: stack.store.table().to_owned(),
        queue_url: stack.queues.queue_url.clone(),
        bucket: crate::common::bucket(&stack.files),
        format: artforge_domain::ImageFormat::Jpeg,
        policy: SweepPolicy::default(),
        catalog: crate::common::catalog(),
        provider,
    };
    JobSweeper::build(config, &artforge_testkit::sdk_config())
}

/// A job of `user`'s debited and written an hour ago, whose message never reached the queue.
async fn stranded(stack: &Stack, user: UserId) -> Job {
    let an_hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let job = Job {
        created_at: an_hour_ago,
        updated_at: an_hour_ago,
        ..artforge_fakes::contract::job(user, 1)
    };
    let admission = Admission {
        spend_micros: 1,
        limits: DailyLimits {
            images_per_user: 100,
            spend_cap_micros: 100_000_000,
            free_spend_cap_micros: 100_000_000,
        },
    };
    stack
        .store
        .submit(&job, None, &admission, an_hour_ago)
        .await
        .expect("submitted");
    job
}

#[tokio::test]
async fn a_job_stranded_in_queued_or_running_is_swept_once_even_with_a_worker_finishing_it() {
    let stack = Stack::new().await;
    let (user, _) = stack.user_with(3).await;
    let sweeper = sweeper(&stack);
    let queued = stranded(&stack, user).await;
    let running = stranded(&stack, user).await;
    // A worker claimed it an hour ago under a one-minute lease, and is finishing it only now.
    let an_hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let Claim::Claimed(claimed, lease) = stack
        .store
        .claim(
            user,
            running.id,
            std::time::Duration::from_secs(60),
            an_hour_ago,
        )
        .await
        .expect("claim")
    else {
        panic!("claimed");
    };
    let succeeded = Job {
        status: JobStatus::Succeeded,
        images: claimed.slots.clone(),
        ..claimed
    };
    assert_eq!(stack.books(user).await.0, 1);

    let (report, worker_won) = tokio::join!(
        sweeper.sweep(),
        stack.store.finish(&succeeded, Holder::Lease(&lease), &[])
    );
    let (report, worker_won) = (report.expect("sweep"), worker_won.expect("finish"));
    // The worker's finish may land before the sweeper's query: then the sweeper never sees it.
    assert!(
        report.looked_at == 2 || (worker_won && report.looked_at == 1),
        "{report:?}"
    );
    assert_eq!((report.resent, report.errors), (1, 0));
    assert_ne!(worker_won, report.abandoned == 1, "{report:?}");
    let running_now = stack.store.job(user, running.id).await.expect("read");
    assert_eq!(
        running_now.map(|j| j.status),
        Some(if worker_won {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        })
    );

    // The message sent again is lost too; ten minutes later the sweeper gives up on the job.
    let message = stack.take_message().await;
    assert!(
        message
            .body
            .as_deref()
            .is_some_and(|b| b.contains(&queued.id.to_string()))
    );
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(11);
    let report = sweeper.sweeper.sweep(later).await.expect("sweep");
    assert_eq!(
        (report.looked_at, report.never_started),
        (1, 1),
        "{report:?}"
    );
    let failed = stack
        .store
        .job(user, queued.id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(failed.status, JobStatus::Failed);
    let late = stack.deliver(&message).await;
    assert!(
        matches!(
            late,
            Delivery::Job(generate::usecases::run::Outcome::Skipped)
        ),
        "{late:?}"
    );
    let again = sweeper.sweeper.sweep(later).await.expect("sweep");
    assert_eq!(again.looked_at, 0, "finished jobs leave the index");

    let (balance, sum, reasons) = stack.books(user).await;
    let refunds = reasons.iter().filter(|r| *r == "generation_refund").count();
    assert_eq!(i64::try_from(balance).ok(), Some(sum));
    if worker_won {
        assert_eq!((balance, refunds), (2, 1), "{reasons:?}");
    } else {
        assert_eq!((balance, refunds), (3, 2), "{reasons:?}");
    }
}

#[tokio::test]
async fn the_sample_scheduled_event_is_a_sweep_that_finds_nothing_on_a_fresh_table() {
    // What `cargo lambda invoke generate-sweeper --data-file` sends; the sweeper reads nothing
    // from it: each scheduled event is one sweep.
    let path = artforge_devstack::workspace_root().join("events/generate-sweeper/scheduled.json");
    let text = std::fs::read_to_string(&path).expect("the sample event");
    let event: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(event["detail-type"], "Scheduled Event");
    let stack = Stack::new().await;
    let report = sweeper(&stack).sweep().await.expect("sweep");
    assert_eq!(report, generate::usecases::sweep::Report::default());
}
