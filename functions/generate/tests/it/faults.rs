//! Faults in the money paths of generation, injected on the wire by a proxy in front of moto
//! (`artforge_testkit::faults`): the API's and the worker's own SDK clients go through it, so
//! the real SDK retries and the real adapters meet DynamoDB throttling and transaction
//! conflicts, S3 failing one upload of three, SQS failing after the debit, answers lost after
//! the write happened, and a worker that dies between the provider's answer and its writes.
//! Every test ends with the invariants over the whole table and bucket
//! (`artforge_testkit::invariants`).

use std::time::Duration;

use crate::common::{Options, Stack, body, job_id, prompt};
use artforge_testkit::faults::{Fault, FaultProxy, Rule, When};
use http::StatusCode;

async fn faulty_stack(proxy: &FaultProxy, lease: Duration) -> Stack {
    Stack::with(Options {
        lease,
        via: Some(proxy.sdk_config()),
        ..Options::default()
    })
    .await
}

async fn assert_invariants(stack: &Stack) -> artforge_testkit::invariants::Report {
    let report = artforge_testkit::invariants::check(&stack.store, &stack.files).await;
    report.assert_clean();
    report
}

#[tokio::test]
async fn an_s3_failure_on_the_second_of_three_uploads_fails_the_image_refunds_it_and_leaves_no_file()
 {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (user, token) = stack.user().await;
    proxy.add(
        Rule::on("s3:PutObject")
            .when(When::NthCall(2))
            .fault(Fault::Internal),
    );
    let answer = stack
        .submit(&token, &body(&prompt("three files"), "square", 1))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = job_id(&answer);
    stack.work().await;
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "generation_failed");
    assert_eq!(job["refunded"], 1);
    assert!(
        proxy.injected_on("s3:PutObject") >= 2,
        "the SDK retried the upload before giving up: {:?}",
        proxy.stats()
    );
    assert_eq!(stack.objects(user).await, Vec::<String>::new());
    let report = assert_invariants(&stack).await;
    assert_eq!((report.failed_jobs, report.refunds), (1, 1));
}

#[tokio::test]
async fn one_failed_upload_among_three_images_refunds_that_image_only() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (user, token) = stack.user().await;
    proxy.add(
        Rule::on("s3:PutObject")
            .path_contains("thumbnail")
            .when(When::NthCall(2))
            .fault(Fault::Throttle),
    );
    let id = job_id(
        &stack
            .submit(&token, &body(&prompt("three images"), "square", 3))
            .await,
    );
    stack.work().await;
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["images"].as_array().map(Vec::len), Some(2));
    assert_eq!(job["refunded"], 1);
    assert_eq!(stack.objects(user).await.len(), 6);
    assert!(proxy.injected() >= 2);
    assert_invariants(&stack).await;
}

#[tokio::test]
async fn a_failed_upload_whose_cleanup_fails_too_leaves_no_file_behind() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (user, token) = stack.user().await;
    proxy.add(
        Rule::on("s3:PutObject")
            .when(When::NthCall(2))
            .fault(Fault::Internal),
    );
    // The image's own clean-up and the sweep after the finish both fail.
    for call in [1, 2] {
        proxy.add(
            Rule::on("s3:DeleteObjects")
                .when(When::NthCall(call))
                .fault(Fault::Internal),
        );
    }
    let id = job_id(
        &stack
            .submit(&token, &body(&prompt("cleanup fails"), "square", 1))
            .await,
    );
    let message = stack.take_message().await;
    let outcome = stack.deliver(&message).await;
    assert!(
        outcome.retry(),
        "files may be stranded: the message must come back; {outcome:?} {:?}",
        proxy.stats()
    );
    let job = stack.job(&token, &id).await.json;
    assert_eq!(
        job["status"], "failed",
        "the job is finished all the same: {job}"
    );
    assert_eq!(job["refunded"], 1);
    assert!(!stack.objects(user).await.is_empty(), "files were stranded");
    assert!(proxy.injected_on("s3:DeleteObjects") >= 2);
    // The message comes back, finds its job finished, and removes the stranded files.
    assert!(!stack.deliver(&message).await.retry());
    assert_eq!(stack.objects(user).await, Vec::<String>::new());
    let report = assert_invariants(&stack).await;
    assert_eq!(report.refunds, 1);
}

#[tokio::test]
async fn sqs_failing_after_the_debit_fails_the_job_with_one_full_refund() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (_, token) = stack.user().await;
    proxy.add(Rule::on("sqs:SendMessage").fault(Fault::Internal));
    let answer = stack
        .submit(&token, &body(&prompt("never queued"), "square", 2))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
        "{}",
        answer.text
    );
    assert_eq!(
        proxy.injected_on("sqs:SendMessage"),
        3,
        "the SDK's 3 attempts"
    );
    let jobs = stack.send("GET", "/generations", Some(&token), None).await;
    assert_eq!(jobs.json["items"][0]["status"], "failed", "{}", jobs.text);
    assert_eq!(jobs.json["items"][0]["refunded"], 2);
    let report = assert_invariants(&stack).await;
    assert_eq!((report.failed_jobs, report.refunds), (1, 1));
}

/// Regression (found by reading the paths these faults open): the queue fails after the debit
/// and so does the refund that should follow; the job was left queued and charged, and a retry
/// with the same `Idempotency-Key` answered it as a replay without queueing it.
#[tokio::test]
async fn a_job_neither_queued_nor_refunded_is_queued_by_the_clients_retry() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (_, token) = stack.user().await;
    proxy.add(Rule::on("sqs:SendMessage").when(When::NthCall(1)));
    // The submission's ledger read is the first TransactGetItems; the refund's is the second.
    proxy.add(Rule::on("dynamodb:TransactGetItems").when(When::NthCall(2)));
    let words = prompt("stuck");
    let submission = body(&words, "square", 1);
    let answer = stack.submit_with_key(&token, "stuck-1", &submission).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.text
    );
    let stuck = artforge_testkit::invariants::check(&stack.store, &stack.files).await;
    assert!(
        stuck
            .violations
            .iter()
            .any(|v| v.0.contains("is still \"queued\"")),
        "{:?}",
        stuck.violations
    );
    // The client retries with the same key: the replay queues the job.
    let retried = stack.submit_with_key(&token, "stuck-1", &submission).await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.text);
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    assert_eq!(stack.work().await, 1);
    let job = stack.job(&token, &job_id(&retried)).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(stack.openai.calls(&words), 1);
    assert_invariants(&stack).await;
}

#[tokio::test]
async fn a_message_sent_whose_answer_was_lost_is_refunded_once_and_never_run() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (_, token) = stack.user().await;
    let words = prompt("sent but lost");
    proxy.add(
        Rule::on("sqs:SendMessage")
            .fault(Fault::Internal)
            .after_forward(),
    );
    let answer = stack.submit(&token, &body(&words, "square", 1)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    proxy.clear();
    // The messages did reach the queue (one per SDK attempt): the worker finds a failed job.
    assert_eq!(stack.work().await, 3);
    assert_eq!(stack.openai.calls(&words), 0, "a refunded job is never run");
    let report = assert_invariants(&stack).await;
    assert_eq!((report.failed_jobs, report.refunds), (1, 1));
}

#[tokio::test]
async fn dynamodb_throttling_is_retried_by_the_sdk_and_charges_once() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (_, token) = stack.user().await;
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Next(2))
            .fault(Fault::Throttle),
    );
    proxy.add(
        Rule::on("dynamodb:UpdateItem")
            .when(When::Nth(1))
            .fault(Fault::ThroughputExceeded),
    );
    let answer = stack
        .submit(&token, &body(&prompt("throttled"), "square", 2))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["credits"], 1);
    let id = job_id(&answer);
    stack.work().await;
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(proxy.injected(), 3, "{:?}", proxy.stats());
    assert_invariants(&stack).await;
}

#[tokio::test]
async fn dynamodb_throttled_beyond_the_sdk_retries_refuses_the_job_and_charges_nothing() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (user, token) = stack.user().await;
    proxy.add(Rule::on("dynamodb:TransactWriteItems").fault(Fault::Throttle));
    let answer = stack
        .submit(&token, &body(&prompt("refused"), "square", 1))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
        "{}",
        answer.text
    );
    assert_eq!(stack.books(user).await.0, 3);
    let report = assert_invariants(&stack).await;
    assert_eq!(report.jobs, 0);
}

#[tokio::test]
async fn transaction_conflicts_on_the_debit_and_the_refund_are_recomputed_and_apply_once() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (_, token) = stack.user().await;
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Next(3))
            .fault(Fault::TransactionConflict),
    );
    let answer = stack
        .submit(
            &token,
            &body(&prompt("[fault:corrupt=1] conflicts"), "square", 2),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = job_id(&answer);
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Next(2))
            .fault(Fault::TransactionConflict),
    );
    stack.work().await;
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["refunded"], 1);
    assert_eq!(proxy.injected(), 5);
    let report = assert_invariants(&stack).await;
    assert_eq!(report.refunds, 1);
}

#[tokio::test]
async fn a_debit_whose_answer_was_lost_is_recognised_as_applied_and_the_job_runs() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (_, token) = stack.user().await;
    // The submission's transaction commits, its answer is lost; the SDK sends it again.
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Nth(1))
            .fault(Fault::Internal)
            .after_forward(),
    );
    let answer = stack
        .submit(&token, &body(&prompt("lost answer"), "square", 1))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["credits"], 2);
    let id = job_id(&answer);
    stack.work().await;
    assert_eq!(stack.job(&token, &id).await.json["status"], "succeeded");
    let report = assert_invariants(&stack).await;
    assert_eq!(report.jobs, 1);
}

#[tokio::test]
async fn a_finish_whose_answer_was_lost_finishes_the_job_once() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(150)).await;
    let (_, token) = stack.user().await;
    let id = job_id(
        &stack
            .submit(
                &token,
                &body(&prompt("[fault:corrupt=1] lost finish"), "square", 2),
            )
            .await,
    );
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Nth(1))
            .fault(Fault::Internal)
            .after_forward(),
    );
    stack.work().await;
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["refunded"], 1);
    assert_invariants(&stack).await;
}

/// Runs the worker on the next message until its second upload stalls, then kills it (the task
/// is aborted, as a Lambda that times out or crashes is): the provider has answered, some files
/// may be written, nothing is finished. Returns the message, to deliver again.
async fn die_mid_upload(
    stack: &Stack,
    proxy: &FaultProxy,
) -> aws_lambda_events::event::sqs::SqsMessage {
    proxy.add(
        Rule::on("s3:PutObject")
            .when(When::NthCall(2))
            .fault(Fault::Stall),
    );
    let message = stack.take_message().await;
    let worker = stack.worker.clone();
    let record = message.clone();
    let running = tokio::spawn(async move { worker.handle_message(&record).await });
    let started = std::time::Instant::now();
    while proxy.injected_on("s3:PutObject") == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "no upload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.abort();
    assert!(running.await.is_err_and(|e| e.is_cancelled()));
    proxy.clear();
    message
}

#[tokio::test]
async fn a_worker_dying_between_the_provider_and_its_writes_is_taken_over_after_its_lease() {
    let proxy = FaultProxy::start().await;
    // The lease must outlast the second worker's whole job on a loaded 2-core machine (at 1 s
    // it sometimes lost its own lease mid-upload and answered "retry").
    let lease = Duration::from_secs(4);
    let stack = faulty_stack(&proxy, lease).await;
    let (user, token) = stack.user().await;
    let words = prompt("dies mid-upload");
    let id = job_id(&stack.submit(&token, &body(&words, "square", 2)).await);
    let message = die_mid_upload(&stack, &proxy).await;
    assert_eq!(stack.openai.calls(&words), 1, "the provider had answered");
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "running", "{job}");
    // The message comes back after the lease (which began before the kill); the next worker
    // redoes the job over the same keys.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert!(!stack.deliver(&message).await.retry());
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(stack.openai.calls(&words), 2);
    assert_eq!(stack.objects(user).await.len(), 6);
    assert_invariants(&stack).await;
}

#[tokio::test]
async fn a_worker_dying_mid_upload_whose_job_then_dies_is_refunded_once_and_leaves_no_file() {
    let proxy = FaultProxy::start().await;
    let stack = faulty_stack(&proxy, Duration::from_secs(1)).await;
    let (user, token) = stack.user().await;
    let id = job_id(
        &stack
            .submit(&token, &body(&prompt("dies for good"), "square", 2))
            .await,
    );
    let message = die_mid_upload(&stack, &proxy).await;
    assert!(!stack.objects(user).await.is_empty(), "a file was written");
    // The queue gives up on the message: the dead-letter handler fails the job.
    assert!(!stack.deliver(&stack.as_dead_letter(message)).await.retry());
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["refunded"], 2);
    assert_eq!(stack.objects(user).await, Vec::<String>::new());
    let report = assert_invariants(&stack).await;
    assert_eq!((report.failed_jobs, report.refunds), (1, 1));
}

/// The checker itself: a clean job passes, and each kind of damage done by hand is reported,
/// so a fault test that ends "clean" cannot be passing because the checker saw nothing.
#[tokio::test]
async fn the_invariants_checker_reports_each_kind_of_broken_state() {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let id = job_id(
        &stack
            .submit(
                &token,
                &body(&prompt("[fault:corrupt=1] checked"), "square", 2),
            )
            .await,
    );
    stack.work().await;
    let job = stack.job(&token, &id).await.json;
    assert_eq!(
        (job["status"].as_str(), job["refunded"].as_u64()),
        (Some("succeeded"), Some(1))
    );
    let clean = assert_invariants(&stack).await;
    assert_eq!(
        (clean.users, clean.jobs, clean.images, clean.objects),
        (1, 1, 1, 3)
    );

    let violations = || async {
        artforge_testkit::invariants::check(&stack.store, &stack.files)
            .await
            .violations
            .into_iter()
            .map(|v| v.0)
            .collect::<Vec<_>>()
    };
    let reported = |all: &[String], words: &str| all.iter().any(|v| v.contains(words));
    let table = stack.store.table().to_owned();
    let client = stack.store.client().clone();
    let pk = V::S(format!("USER#{user}"));

    // A file of a live image goes missing.
    let keys = stack.objects(user).await;
    stack
        .files
        .client()
        .delete_object()
        .bucket(stack.files.bucket())
        .key(&keys[0])
        .send()
        .await
        .expect("delete");
    let all = violations().await;
    assert!(reported(&all, "points at missing"), "{all:?}");

    // A file nothing refers to appears.
    let stray = format!("images/{user}/01J00000000000000000000000/original.png");
    stack
        .files
        .put(&stray, b"stray".to_vec(), "image/png")
        .await
        .expect("put");
    let all = violations().await;
    assert!(reported(&all, "belongs to no image"), "{all:?}");

    // The job is refunded a second time (a ledger entry without its balance change).
    client
        .put_item()
        .table_name(&table)
        .item("pk", pk.clone())
        .item("sk", V::S("LEDGER#01J00000000000000000000001".into()))
        .item("delta", V::N("1".into()))
        .item("reason", V::S("generation_refund".into()))
        .item("reference", V::S(id.clone()))
        .item("balanceAfter", V::N("2".into()))
        .send()
        .await
        .expect("put");
    let all = violations().await;
    assert!(reported(&all, "owes a refund of 1 once"), "{all:?}");
    assert!(reported(&all, "!= sum of the ledger"), "{all:?}");

    // A negative balance, a job left running, a like count that no like item backs.
    let update = |sk: &str, expression: &str, name: Option<(&str, &str)>, value: V| {
        let mut request = client
            .update_item()
            .table_name(&table)
            .key("pk", pk.clone())
            .key("sk", V::S(sk.to_owned()))
            .update_expression(expression)
            .expression_attribute_values(":v", value);
        if let Some((alias, real)) = name {
            request = request.expression_attribute_names(alias, real);
        }
        request.send()
    };
    update("PROFILE", "SET credits = :v", None, V::N("-1".into()))
        .await
        .expect("credits");
    update(
        &format!("JOB#{id}"),
        "SET #s = :v",
        Some(("#s", "status")),
        V::S("running".into()),
    )
    .await
    .expect("status");
    let image = job["images"][0]["id"].as_str().expect("image").to_owned();
    update(
        &format!("IMAGE#{image}"),
        "SET likes = :v",
        None,
        V::N("2".into()),
    )
    .await
    .expect("likes");
    let all = violations().await;
    assert!(reported(&all, "balance -1 is negative"), "{all:?}");
    assert!(reported(&all, "is still \"running\""), "{all:?}");
    assert!(reported(&all, "counts 2 likes but 0 like items"), "{all:?}");
}
