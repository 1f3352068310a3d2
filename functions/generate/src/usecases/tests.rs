//! The generation rules on in-memory fakes: what is charged, refunded, queued and told, under
//! repetition, concurrency and failures midway. Milliseconds each; the adapters' side of the
//! same rules is the contract suite, and a few end-to-end tests run them over moto.

use std::time::Duration;

use artforge_domain::{
    Credits, IdempotencyKey, ImageProvider, JobErrorCode, JobStatus, Jobs, Ledger, LimitReached,
    ProviderError, ProviderRequest, RawGeneration, UserId, Variant,
};
use artforge_fakes::{FakeProvider, MemoryFiles, MemoryQueue, MemoryStore, contract::account};

use super::{
    fail::{GiveUp, give_up},
    fixture::{self, Fixture, now},
    previews::PreviewPolicy,
    run::{JobRunner, Outcome, provider_error},
    submit::{Generations, Refusal},
};

fn generations(
    store: &MemoryStore,
    queue: &MemoryQueue,
) -> Generations<MemoryStore, MemoryQueue, MemoryFiles> {
    fixture::generations(store, queue, &MemoryFiles::new())
}

fn v2(count: u64) -> RawGeneration {
    RawGeneration {
        prompt: Some("a lighthouse at dawn".into()),
        model: Some("v2".into()),
        preset: Some("story".into()),
        count: Some(count),
        ..RawGeneration::default()
    }
}

fn key(text: &str) -> Option<IdempotencyKey> {
    Some(IdempotencyKey::parse(text).expect("a key"))
}

async fn balance(store: &MemoryStore, user: UserId) -> u64 {
    store.balance(user).await.expect("a balance").get()
}

#[tokio::test]
async fn a_priced_request_debits_its_job_and_queues_it() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 3).await;
    let submitted = generations(&store, &queue)
        .submit(user, v2(2), None, now())
        .await
        .expect("accepted");
    assert_eq!(submitted.job.status, JobStatus::Queued);
    assert_eq!(submitted.job.cost, Credits::new(2));
    assert_eq!(submitted.balance, Credits::new(1));
    assert!(!submitted.replayed);
    assert_eq!(queue.sent(), [(user, submitted.job.id)]);
    assert!(store.books_balance());
}

#[tokio::test]
async fn what_the_balance_cannot_cover_writes_and_queues_nothing() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 1).await;
    let refused = generations(&store, &queue)
        .submit(user, v2(3), None, now())
        .await;
    assert!(
        matches!(refused, Err(Refusal::Insufficient(_))),
        "{refused:?}"
    );
    assert_eq!(balance(&store, user).await, 1);
    assert!(store.all_jobs().is_empty());
    assert!(queue.sent().is_empty());
}

#[tokio::test]
async fn every_bad_field_is_named_and_nothing_is_charged() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 3).await;
    let raw = RawGeneration {
        style: Some("vivid".into()),
        count: Some(9),
        ..v2(1)
    };
    let Err(Refusal::Invalid(errors)) = generations(&store, &queue)
        .submit(user, raw, None, now())
        .await
    else {
        panic!("refused as invalid");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["style", "count"]);
    assert_eq!(balance(&store, user).await, 3);
}

#[tokio::test]
async fn a_repeated_key_answers_the_first_job_and_charges_nothing() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 3).await;
    let gens = generations(&store, &queue);
    let first = gens
        .submit(user, v2(1), key("k1"), now())
        .await
        .expect("accepted");
    let again = gens
        .submit(user, v2(1), key("k1"), now())
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.job.id, first.job.id);
    assert_eq!(again.balance, Credits::new(2));
    assert_eq!(store.all_jobs().len(), 1);
    // Still queued, so queued again: the first request may have failed to queue it.
    assert_eq!(queue.sent().len(), 2);

    let other = gens.submit(user, v2(2), key("k1"), now()).await;
    assert!(matches!(other, Err(Refusal::KeyReused)), "{other:?}");
    assert_eq!(balance(&store, user).await, 2);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_job_and_the_rest_replay_it() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 1).await;
    let gens = generations(&store, &queue);
    let answers =
        futures::future::join_all((0..8).map(|_| gens.submit(user, v2(1), key("same"), now())))
            .await;
    let jobs: std::collections::HashSet<_> = answers
        .iter()
        .map(|a| a.as_ref().expect("accepted or replayed").job.id)
        .collect();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        answers
            .iter()
            .filter(|a| matches!(a, Ok(s) if !s.replayed))
            .count(),
        1
    );
    assert_eq!(balance(&store, user).await, 0);
}

#[tokio::test]
async fn twenty_concurrent_submissions_on_one_credit_make_one_job() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 1).await;
    let gens = generations(&store, &queue);
    let answers =
        futures::future::join_all((0..20).map(|_| gens.submit(user, v2(1), None, now()))).await;
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 1);
    assert!(
        answers
            .iter()
            .filter(|a| a.is_err())
            .all(|a| matches!(a, Err(Refusal::Insufficient(_))))
    );
    assert_eq!(store.all_jobs().len(), 1);
    assert!(store.books_balance());
}

#[tokio::test]
async fn a_job_that_cannot_be_queued_is_failed_and_refunded_at_once() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 3).await;
    queue.faults.fail("enqueue", 1);
    let refused = generations(&store, &queue)
        .submit(user, v2(2), None, now())
        .await;
    assert!(matches!(refused, Err(Refusal::NotQueued(_))), "{refused:?}");
    assert_eq!(balance(&store, user).await, 3);
    let [job] = &store.all_jobs()[..] else {
        panic!("one job");
    };
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.refunded, Credits::new(2));
    let error = job.error.as_ref().expect("an error");
    assert_eq!(error.code, JobErrorCode::GenerationFailed);
    assert!(
        error.message.contains("could not be queued"),
        "{}",
        error.message
    );
    assert!(store.books_balance());
}

#[tokio::test]
async fn when_queueing_and_its_refund_both_fail_a_retry_with_the_key_queues_the_job() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = account(&store, 3).await;
    let gens = generations(&store, &queue);
    queue.faults.fail("enqueue", 1);
    store.faults.fail("finish", 1);
    let first = gens.submit(user, v2(1), key("retry-me"), now()).await;
    assert!(matches!(first, Err(Refusal::NotQueued(_))), "{first:?}");
    assert_eq!(
        balance(&store, user).await,
        2,
        "charged, and stuck until retried"
    );
    let retried = gens
        .submit(user, v2(1), key("retry-me"), now())
        .await
        .expect("replayed");
    assert!(retried.replayed);
    assert_eq!(queue.sent(), [(user, retried.job.id)]);
    assert_eq!(balance(&store, user).await, 2);
}

#[tokio::test]
async fn a_reached_daily_limit_refuses_until_midnight_and_charges_nothing() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let user = bought(&store, 10).await;
    let mut gens = generations(&store, &queue);
    gens.limits.images_per_user = 3;
    gens.submit(user, v2(2), None, now())
        .await
        .expect("room for two");
    let at = now();
    let Err(Refusal::Limit { limit, retry_after }) = gens.submit(user, v2(2), None, at).await
    else {
        panic!("over the quota");
    };
    assert_eq!(limit, LimitReached::DailyQuota);
    assert_eq!(
        at + retry_after,
        artforge_domain::limits::next_day_start(at)
    );
    gens.limits.spend_cap_micros = 0;
    let paused = gens.submit(user, v2(1), None, now()).await;
    assert!(
        matches!(
            paused,
            Err(Refusal::Limit {
                limit: LimitReached::SpendCap,
                ..
            })
        ),
        "{paused:?}"
    );
    assert_eq!(balance(&store, user).await, 8);
}

/// A user with no free credits and `credits` bought.
async fn bought(store: &MemoryStore, credits: u64) -> UserId {
    let user = account(store, 0).await;
    let cause = artforge_domain::CreditCause::Purchase {
        checkout_session: format!("cs_{user}"),
        step: 1,
        reason: artforge_domain::Change::Paid,
    };
    store
        .apply(
            user,
            &cause,
            artforge_domain::Movement::Purchase(Credits::new(credits)),
        )
        .await
        .expect("bought");
    user
}

#[tokio::test]
async fn four_hundred_free_accounts_spending_their_budget_leave_a_paying_user_generating() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let mut gens = generations(&store, &queue);
    // Room for 100 free images a day; 400 accounts with 3 free credits each ask for 1200.
    let per_image = gens
        .catalog
        .provider_cost_micros(&gens.catalog.validate(v2(1)).expect("valid"))
        .expect("priced");
    gens.limits.free_spend_cap_micros = 100 * per_image;
    let mut made = 0;
    let mut paused = 0;
    for _ in 0..400 {
        let free = account(&store, 3).await;
        match gens.submit(free, v2(3), None, now()).await {
            Ok(_) => made += 3,
            Err(Refusal::Limit {
                limit: LimitReached::FreeBudget,
                ..
            }) => paused += 1,
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert_eq!(
        made, 99,
        "the free budget holds: 33 jobs of 3 fit in 100 images"
    );
    assert_eq!(paused, 400 - 33);

    let paying = bought(&store, 5).await;
    gens.submit(paying, v2(2), None, now())
        .await
        .expect("free use never pauses a paying user");
    assert_eq!(balance(&store, paying).await, 3);
    assert!(store.books_balance());
}

#[tokio::test]
async fn a_refund_gives_free_credits_back_as_free() {
    let (store, queue) = (MemoryStore::new(), MemoryQueue::new());
    let gens = generations(&store, &queue);
    let user = account(&store, 3).await;
    queue.faults.fail("enqueue", 1);
    let failed = gens.submit(user, v2(2), None, now()).await;
    assert!(matches!(failed, Err(Refusal::NotQueued(_))), "{failed:?}");
    assert_eq!(
        store.wallet(user).await.expect("wallet"),
        artforge_domain::Wallet {
            balance: Credits::new(3),
            free: Credits::new(3),
            debt: Credits::ZERO
        },
        "a job free credits paid for refunds free credits"
    );
}

/// A small PNG the pipeline can read.
fn png() -> Vec<u8> {
    fixture::png(64, 96, [200, 80, 30])
}

/// A user with 10 credits and a worker whose provider answers [`png`].
struct Bench {
    fixture: Fixture,
    runner: JobRunner<MemoryStore, FakeProvider, MemoryFiles>,
}

impl std::ops::Deref for Bench {
    type Target = Fixture;

    fn deref(&self) -> &Fixture {
        &self.fixture
    }
}

impl Bench {
    async fn new() -> Self {
        let fixture = Fixture::new(FakeProvider::answering(png()), 10).await;
        let runner = fixture.runner(PreviewPolicy::default());
        Self { fixture, runner }
    }

    async fn submit(&self, count: u64) -> artforge_domain::Job {
        self.generations()
            .submit(self.user, v2(count), None, now())
            .await
            .expect("accepted")
            .job
    }
}

#[tokio::test]
async fn a_job_delivers_every_image_in_three_files_and_refunds_nothing() {
    let bench = Bench::new().await;
    let job = bench.submit(2).await;
    let outcome = bench.runner.run(bench.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let done = bench.job(&job).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.images, job.slots);
    assert_eq!(done.refunded, Credits::ZERO);
    assert_eq!(bench.files.keys().len(), 6);
    let request = &bench.provider.requests()[0];
    assert_eq!((request.count, request.size.as_str()), (2, "1024x1536"));
    let images = bench
        .store
        .images_by_id(bench.user, &done.images)
        .await
        .expect("read");
    let (bytes, content_type) = bench
        .files
        .get(&images[0].object_key(Variant::Preset))
        .expect("the sized image");
    assert_eq!(content_type, "image/jpeg");
    let sized = image::load_from_memory(&bytes).expect("decodes");
    assert_eq!((sized.width(), sized.height()), (1080, 1920));
    assert_eq!(balance(&bench.store, bench.user).await, 8);
}

use artforge_domain::Images as _;

#[tokio::test]
async fn an_image_the_provider_could_not_make_is_refunded_and_the_rest_delivered() {
    let bench = Bench::new().await;
    let job = bench.submit(3).await;
    bench.provider.then(Ok(vec![
        Ok(png()),
        Err(ProviderError::BadAnswer("no data".into())),
        Ok(b"not an image".to_vec()),
    ]));
    bench.runner.run(bench.user, job.id).await;
    let done = bench.job(&job).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.images, [job.slots[0]]);
    assert_eq!(done.refunded, Credits::new(2));
    assert_eq!(done.error, None);
    assert_eq!(
        bench.files.keys().len(),
        3,
        "only the delivered image's files"
    );
    assert_eq!(balance(&bench.store, bench.user).await, 9);
    assert!(bench.store.books_balance());
}

#[tokio::test]
async fn a_refused_prompt_fails_the_job_with_a_full_refund_and_words_to_act_on() {
    let bench = Bench::new().await;
    let job = bench.submit(2).await;
    bench
        .provider
        .then(Err(ProviderError::ContentPolicy("unsafe".into())));
    bench.runner.run(bench.user, job.id).await;
    let done = bench.job(&job).await;
    assert_eq!(done.status, JobStatus::Failed);
    let error = done.error.expect("an error");
    assert_eq!(error.code, JobErrorCode::ContentPolicyViolation);
    assert!(error.message.contains("rephrase"), "{}", error.message);
    assert_eq!(done.refunded, Credits::new(2));
    assert!(bench.files.keys().is_empty());
    assert_eq!(balance(&bench.store, bench.user).await, 10);
}

#[test]
fn provider_failures_become_the_stable_codes() {
    let code = |e: ProviderError| provider_error(&e).code;
    assert_eq!(
        code(ProviderError::ContentPolicy("no".into())),
        JobErrorCode::ContentPolicyViolation
    );
    assert_eq!(
        code(ProviderError::DeadlineExceeded),
        JobErrorCode::ProviderUnavailable
    );
    assert_eq!(
        code(ProviderError::QuotaExceeded("q".into())),
        JobErrorCode::ProviderUnavailable
    );
    assert_eq!(
        code(ProviderError::BadAnswer("b".into())),
        JobErrorCode::GenerationFailed
    );
}

#[tokio::test]
async fn an_image_whose_upload_fails_is_removed_and_refunded() {
    let bench = Bench::new().await;
    let job = bench.submit(1).await;
    bench.files.faults.fail("put", 1);
    bench.runner.run(bench.user, job.id).await;
    let done = bench.job(&job).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(
        done.error.map(|e| e.code),
        Some(JobErrorCode::GenerationFailed)
    );
    assert!(bench.files.keys().is_empty(), "{:?}", bench.files.keys());
    assert_eq!(balance(&bench.store, bench.user).await, 10);
}

#[tokio::test]
async fn files_left_by_a_failed_removal_are_swept_by_the_next_delivery() {
    let bench = Bench::new().await;
    let job = bench.submit(1).await;
    // The thumbnail's upload fails after the original and the sized image were stored.
    bench.files.faults.fail_after("put", 2, 1);
    bench.files.faults.fail("remove", 2);
    let outcome = bench.runner.run(bench.user, job.id).await;
    assert!(outcome.retry(), "the message comes back: {outcome:?}");
    assert_eq!(bench.job(&job).await.status, JobStatus::Failed);
    assert!(!bench.files.keys().is_empty(), "files were stranded");
    let again = bench.runner.run(bench.user, job.id).await;
    assert!(matches!(again, Outcome::Skipped), "{again:?}");
    assert!(bench.files.keys().is_empty(), "{:?}", bench.files.keys());
    assert_eq!(balance(&bench.store, bench.user).await, 10, "refunded once");
}

#[tokio::test]
async fn a_duplicate_delivery_meets_the_lease_and_a_late_one_finds_the_job_done() {
    let bench = Bench::new().await;
    let job = bench.submit(1).await;
    let claimed = bench
        .store
        .claim(bench.user, job.id, Duration::from_secs(60), now())
        .await
        .expect("claimed by another worker");
    assert!(matches!(claimed, artforge_domain::Claim::Claimed(..)));
    let busy = bench.runner.run(bench.user, job.id).await;
    assert!(matches!(busy, Outcome::Busy), "{busy:?}");
    assert!(busy.retry());
    assert!(
        bench.provider.requests().is_empty(),
        "no second provider call"
    );
}

#[tokio::test]
async fn a_failed_finish_is_retried_over_the_same_keys_and_charged_once() {
    let bench = Bench::new().await;
    let runner = JobRunner {
        lease: Duration::from_millis(50),
        ..bench.runner(PreviewPolicy::default())
    };
    let job = bench.submit(2).await;
    bench.store.faults.fail("finish", 1);
    let first = runner.run(bench.user, job.id).await;
    assert!(matches!(first, Outcome::Retry(_)), "{first:?}");
    tokio::time::sleep(Duration::from_millis(60)).await;
    let second = runner.run(bench.user, job.id).await;
    assert!(matches!(second, Outcome::Finished), "{second:?}");
    assert_eq!(
        bench.files.keys().len(),
        6,
        "the retry overwrote, nothing orphaned"
    );
    assert_eq!(balance(&bench.store, bench.user).await, 8);
    assert!(bench.store.books_balance());
}

#[tokio::test]
async fn a_dead_letter_fails_its_job_with_a_full_refund_once_and_removes_its_files() {
    let bench = Bench::new().await;
    let job = bench.submit(2).await;
    let outcome = bench.runner.dead_letter(bench.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let done = bench.job(&job).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.refunded, Credits::new(2));
    assert!(
        done.error
            .as_ref()
            .is_some_and(|e| e.message.contains("could not be finished"))
    );
    let again = bench.runner.dead_letter(bench.user, job.id).await;
    assert!(matches!(again, Outcome::Skipped), "{again:?}");
    assert_eq!(balance(&bench.store, bench.user).await, 10);
    let late = bench.runner.run(bench.user, job.id).await;
    assert!(matches!(late, Outcome::Skipped), "{late:?}");
    assert!(bench.provider.requests().is_empty());
}

#[tokio::test]
async fn a_dead_letter_whose_file_removal_fails_comes_back_and_removes_them_then() {
    let bench = Bench::new().await;
    let job = bench.submit(1).await;
    // An attempt stored the image's files, then could not finish the job.
    bench.store.faults.fail("finish", 1);
    let crashed = bench.runner.run(bench.user, job.id).await;
    assert!(matches!(crashed, Outcome::Retry(_)), "{crashed:?}");
    assert_eq!(bench.files.keys().len(), 3);
    bench.files.faults.fail("remove", 1);
    let first = bench.runner.dead_letter(bench.user, job.id).await;
    assert!(first.retry(), "the message comes back: {first:?}");
    assert_eq!(bench.job(&job).await.status, JobStatus::Failed);
    assert_eq!(bench.files.keys().len(), 3, "still there");
    let again = bench.runner.dead_letter(bench.user, job.id).await;
    assert!(matches!(again, Outcome::Skipped), "{again:?}");
    assert!(bench.files.keys().is_empty(), "{:?}", bench.files.keys());
    assert_eq!(balance(&bench.store, bench.user).await, 10, "refunded once");
}

/// A provider during whose call someone else (the dead-letter handler, a sweep) fails every
/// job that is not final.
#[derive(Clone)]
struct FailedMeanwhile {
    store: MemoryStore,
    provider: FakeProvider,
}

impl ImageProvider for FailedMeanwhile {
    async fn generate(
        &self,
        request: &ProviderRequest,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        for job in self.store.all_jobs() {
            give_up(&self.store, job.owner, job.id, GiveUp::DeadLetter, now())
                .await
                .expect("failed meanwhile");
        }
        self.provider.generate(request).await
    }
}

#[tokio::test]
async fn a_delivery_whose_job_was_failed_meanwhile_removes_the_files_it_stored() {
    let bench = Bench::new().await;
    let runner = fixture::runner(
        &bench.store,
        FailedMeanwhile {
            store: bench.store.clone(),
            provider: bench.provider.clone(),
        },
        &bench.files,
        PreviewPolicy::default(),
    );
    let job = bench.submit(2).await;
    let outcome = runner.run(bench.user, job.id).await;
    assert!(matches!(outcome, Outcome::Skipped), "{outcome:?}");
    let done = bench.job(&job).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert!(done.images.is_empty());
    assert!(
        bench.files.keys().is_empty(),
        "no file without an image item: {:?}",
        bench.files.keys()
    );
    assert_eq!(balance(&bench.store, bench.user).await, 10, "refunded once");
}

/// A provider during whose call the job's account is closed and its jobs erased (DELETE /me).
#[derive(Clone)]
struct ErasedMeanwhile {
    store: MemoryStore,
    provider: FakeProvider,
}

impl ImageProvider for ErasedMeanwhile {
    async fn generate(
        &self,
        request: &ProviderRequest,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        use artforge_domain::Erasure;
        for job in self.store.all_jobs() {
            self.store.close(job.owner, now()).await.expect("closed");
            self.store.erase_jobs(job.owner).await.expect("erased");
        }
        self.provider.generate(request).await
    }
}

#[tokio::test]
async fn a_running_job_whose_account_is_erased_finishes_into_nothing_and_removes_its_files() {
    let bench = Bench::new().await;
    let runner = fixture::runner(
        &bench.store,
        ErasedMeanwhile {
            store: bench.store.clone(),
            provider: bench.provider.clone(),
        },
        &bench.files,
        PreviewPolicy::default(),
    );
    let job = bench.submit(2).await;
    let outcome = runner.run(bench.user, job.id).await;
    assert!(matches!(outcome, Outcome::Skipped), "quietly: {outcome:?}");
    assert!(bench.store.all_jobs().is_empty(), "no job recreated");
    for slot in &job.slots {
        assert!(
            bench
                .store
                .image(bench.user, *slot)
                .await
                .expect("read")
                .is_none(),
            "no image recreated"
        );
    }
    assert!(
        bench.files.keys().is_empty(),
        "no file left: {:?}",
        bench.files.keys()
    );
}
