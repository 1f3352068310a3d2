//! The worker against the OpenAI stand-in's faults, duplicate deliveries, a crashed attempt,
//! dead letters and storage failures. Every test ends with the books: the balance equals the
//! ledger, a job is refunded at most once, and no file is left that nothing refers to.

use std::time::Duration;

use crate::common::{Options, Stack, body, job_id, job_of, keys_of, prompt};
use artforge_domain::{Jobs, Preset, UserId};
use artforge_testkit::faults::{Fault, FaultProxy, Rule, When};
use http::StatusCode;
use serde_json::Value;

/// Submits `words` as a v2 job of `count` square images and runs the queue; the job's answer.
async fn run(stack: &Stack, token: &str, words: &str, count: u64) -> Value {
    let answer = stack.submit(token, &body(words, "square", count)).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = job_id(&answer);
    stack.work().await;
    stack.job(token, &id).await.json
}

/// The balance equals the ledger, and the job was refunded `refunds` times.
async fn assert_books(stack: &Stack, user: UserId, balance: u64, refunds: usize) {
    let (actual, sum, reasons) = stack.books(user).await;
    assert_eq!(
        (actual, sum),
        (balance, i64::try_from(balance).unwrap_or(-1)),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| *r == "generation_refund").count(),
        refunds,
        "{reasons:?}"
    );
}

/// The user's stored files are exactly those of the job's images.
async fn assert_files_of(stack: &Stack, user: UserId, job: &Value) {
    let mut expected: Vec<String> = job["images"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| keys_of(user, i["id"].as_str().unwrap_or_default(), Preset::Square))
        .collect();
    expected.sort();
    assert_eq!(stack.objects(user).await, expected);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_and_the_job_succeeds() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let words = prompt("[fault:429x1] a fox");
    let job = run(&stack, &token, &words, 2).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["images"].as_array().map(Vec::len), Some(2));
    assert_eq!(stack.openai.calls(&words), 2, "one 429, one success");
    assert_books(&stack, user, 1, 0).await;
    assert_files_of(&stack, user, &job).await;
}

#[tokio::test]
async fn a_refused_prompt_fails_the_job_once_with_a_full_refund_and_no_retry() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let words = prompt("[fault:policy] something");
    let job = run(&stack, &token, &words, 3).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "content_policy_violation");
    assert_eq!(job["refunded"], 3);
    assert_eq!(stack.openai.calls(&words), 1, "not retried");
    assert_books(&stack, user, 3, 1).await;
    assert_files_of(&stack, user, &job).await;
}

#[tokio::test]
async fn a_provider_that_keeps_failing_fails_the_job_at_the_deadline_refunded_once() {
    let stack = Stack::with(Options {
        deadline: Duration::from_secs(3),
        ..Options::default()
    })
    .await;
    let (user, token) = stack.user().await;
    let words = prompt("[fault:500] a tree");
    let started = std::time::Instant::now();
    let job = run(&stack, &token, &words, 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "kept the deadline"
    );
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "provider_unavailable");
    assert!(stack.openai.calls(&words) >= 2, "5xx is retried");
    assert_books(&stack, user, 3, 1).await;

    let slow = prompt("[fault:slow=8000] a slow tree");
    let job = run(&stack, &token, &slow, 1).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "provider_unavailable");
    assert_books(&stack, user, 3, 2).await;
    assert_files_of(&stack, user, &Value::Null).await;
}

#[tokio::test]
async fn an_undecodable_image_is_refunded_and_the_others_delivered() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let job = run(&stack, &token, &prompt("[fault:corrupt=1] three cats"), 3).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["images"].as_array().map(Vec::len), Some(2));
    assert_eq!(job["refunded"], 1);
    assert!(job["error"].is_null());
    assert_books(&stack, user, 1, 1).await;
    assert_files_of(&stack, user, &job).await;
    let images = stack.send("GET", "/generations", Some(&token), None).await;
    assert_eq!(
        images.json["items"][0]["images"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn the_same_message_delivered_twice_at_once_calls_the_provider_once() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let words = prompt("[fault:slow=500] twice");
    let id = job_id(&stack.submit(&token, &body(&words, "square", 1)).await);
    let message = stack.take_message().await;
    let (first, second) = tokio::join!(stack.deliver(&message), stack.deliver(&message));
    let retried = [first.retry(), second.retry()];
    assert_eq!(
        retried.iter().filter(|r| **r).count(),
        1,
        "{first:?} {second:?}"
    );
    assert_eq!(stack.openai.calls(&words), 1);
    // The copy that met the lease comes back later and finds the job done.
    assert!(!stack.deliver(&message).await.retry());
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded");
    assert_eq!(stack.openai.calls(&words), 1);
    assert_books(&stack, user, 2, 0).await;
    assert_files_of(&stack, user, &job).await;
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_once_its_lease_expires() {
    let stack = Stack::with(Options {
        lease: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let (user, token) = stack.user().await;
    let id = job_id(
        &stack
            .submit(&token, &body(&prompt("orphan"), "square", 1))
            .await,
    );
    // A worker claims the job and dies without a word. (2 s: the duplicate below must meet the
    // lease even when moto is slow under a loaded machine.)
    let lease = Duration::from_secs(2);
    let claim = stack
        .store
        .claim(user, job_of(&id), lease, time::OffsetDateTime::now_utc())
        .await
        .expect("claim");
    assert!(matches!(claim, artforge_domain::ports::Claim::Claimed(..)));
    let message = stack.take_message().await;
    assert!(
        stack.deliver(&message).await.retry(),
        "the lease still holds"
    );
    // The lease is kept to the millisecond: 100 ms after it ends (the claim came before the
    // duplicate), the job is free. With whole-second leases this answered "busy" unless the
    // claim fell in a second's last tenth.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert!(!stack.deliver(&message).await.retry());
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_books(&stack, user, 2, 0).await;
    assert_files_of(&stack, user, &job).await;
}

#[tokio::test]
async fn a_dead_letter_fails_and_refunds_its_job_once_and_removes_its_files() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let id = job_id(
        &stack
            .submit(&token, &body(&prompt("doomed"), "square", 2))
            .await,
    );
    // An attempt stored files, then the queue gave up on the message.
    let claim = stack
        .store
        .claim(
            user,
            job_of(&id),
            Duration::from_secs(150),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("claim");
    let artforge_domain::ports::Claim::Claimed(job, _) = claim else {
        panic!("claimed: {claim:?}");
    };
    for slot in &job.slots {
        for key in keys_of(user, &slot.to_string(), Preset::Square) {
            stack
                .files
                .put(&key, b"partial".to_vec(), "image/jpeg")
                .await
                .expect("put");
        }
    }
    let taken = stack.take_message().await;
    let message = stack.as_dead_letter(taken.clone());
    let outcomes = futures::future::join_all((0..3).map(|_| stack.deliver(&message))).await;
    assert!(outcomes.iter().all(|o| !o.retry()), "{outcomes:?}");
    let answer = stack.job(&token, &id).await.json;
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["code"], "generation_failed");
    assert_eq!(answer["refunded"], 2);
    assert_books(&stack, user, 3, 1).await;
    assert_files_of(&stack, user, &Value::Null).await;
    // The original message, delivered late, finds the job finished.
    assert!(!stack.deliver(&taken).await.retry());
    assert_books(&stack, user, 3, 1).await;
}

#[tokio::test]
async fn a_storage_outage_fails_the_images_with_a_refund_and_leaves_no_metadata() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let id = job_id(
        &stack
            .submit(&token, &body(&prompt("no bucket"), "square", 2))
            .await,
    );
    // The worker's bucket does not exist: every upload fails.
    let broken = artforge_s3::S3Files::new(
        stack.files.client().clone(),
        format!("{}-missing", stack.files.bucket()),
        Duration::from_secs(60),
    );
    let worker = Stack::worker_over(
        &artforge_testkit::sdk_config(),
        &stack.store,
        &broken,
        &stack.openai_base,
        &stack.queues,
        &Options::default(),
    );
    let message = stack.take_message().await;
    // Removing the failed images' files failed too, so the message comes back for that.
    assert!(worker.handle_message(&message).await.retry());
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "generation_failed");
    assert_eq!(job["refunded"], 2);
    assert_books(&stack, user, 3, 1).await;
    // Storage is back: the returning message finds the job finished and removes what is left.
    assert!(!stack.deliver(&message).await.retry());
    assert_books(&stack, user, 3, 1).await;
    assert_files_of(&stack, user, &Value::Null).await;
    let gallery = stack.send("GET", "/generations", Some(&token), None).await;
    assert_eq!(gallery.json["items"][0]["images"], serde_json::json!([]));
}

/// A worker whose DynamoDB calls pass a fault proxy (its lease is 1 s), and the proxy.
async fn flaky_worker(stack: &Stack) -> (crate::common::TestWorker, FaultProxy) {
    let proxy = FaultProxy::start().await;
    let worker = Stack::worker_over(
        &proxy.sdk_config(),
        &stack.store,
        &stack.files,
        &stack.openai_base,
        &stack.queues,
        &Options {
            lease: Duration::from_secs(1),
            ..Options::default()
        },
    );
    (worker, proxy)
}

/// DynamoDB's `TransactWriteItems` fails, SDK retries and all, as if DynamoDB were down: the
/// finishing transaction of a job fails.
fn fail_transactions(proxy: &FaultProxy) {
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Always)
            .fault(Fault::Internal),
    );
}

#[tokio::test]
async fn a_finish_that_fails_is_retried_over_the_same_files_and_charges_once() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let words = prompt("finish fails");
    let id = job_id(&stack.submit(&token, &body(&words, "square", 2)).await);
    let (worker, proxy) = flaky_worker(&stack).await;
    fail_transactions(&proxy);
    let message = stack.take_message().await;
    assert!(
        worker.handle_message(&message).await.retry(),
        "the message comes back"
    );
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "running", "nothing was finished: {job}");
    assert_books(&stack, user, 1, 0).await;
    let stranded = stack.objects(user).await;
    assert_eq!(
        stranded.len(),
        6,
        "the attempt's files wait under the slots' keys"
    );

    // The redelivery, after the lease, redoes the job over the same keys.
    proxy.clear();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(!worker.handle_message(&message).await.retry());
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        stack.openai.calls(&words),
        2,
        "the provider was asked again"
    );
    assert_books(&stack, user, 1, 0).await;
    assert_files_of(&stack, user, &job).await;
    assert_eq!(
        stack.objects(user).await,
        stranded,
        "the same keys, overwritten"
    );
}

#[tokio::test]
async fn a_job_whose_finish_never_succeeds_is_refunded_once_by_its_dead_letter_and_leaves_no_files()
{
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let id = job_id(
        &stack
            .submit(&token, &body(&prompt("never"), "square", 2))
            .await,
    );
    let (worker, proxy) = flaky_worker(&stack).await;
    fail_transactions(&proxy);
    let message = stack.take_message().await;
    for _ in 0..3 {
        assert!(worker.handle_message(&message).await.retry());
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert_eq!(stack.objects(user).await.len(), 6);
    // The queue gives up; DynamoDB is back for the dead-letter handler.
    proxy.clear();
    assert!(
        !worker
            .handle_message(&stack.as_dead_letter(message.clone()))
            .await
            .retry()
    );
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["refunded"], 2);
    assert_books(&stack, user, 3, 1).await;
    assert_files_of(&stack, user, &Value::Null).await;
}
