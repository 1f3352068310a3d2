//! Faults in the webhook's money path, injected on the wire by a proxy in front of moto
//! (`artforge_testkit::faults`): throttling and transaction conflicts around the grant, and the
//! handler failing after the grant's transaction committed (its answer lost), after which
//! Stripe delivers the same event again. Every test ends with the table's invariants.

use crate::common::{App, refund_event, session_event};
use artforge_dynamo::DynamoStore;
use artforge_testkit::faults::{Fault, FaultProxy, Rule, When};
use http::StatusCode;

/// The billing app with its store behind `proxy`, and the same table read directly.
async fn faulty_app(proxy: &FaultProxy) -> (App, DynamoStore) {
    let direct = artforge_testkit::fresh_store().await;
    (App::through(&proxy.sdk_config(), direct.table()), direct)
}

async fn assert_invariants(direct: &DynamoStore) -> artforge_testkit::invariants::Report {
    let report = artforge_testkit::invariants::check_table(direct).await;
    report.assert_clean();
    report
}

fn paid(session: &str, user: artforge_domain::UserId) -> String {
    session_event(
        "checkout.session.completed",
        session,
        user,
        "starter",
        1000,
        "paid",
    )
}

#[tokio::test]
async fn a_handler_failing_after_the_grant_committed_grants_once_when_stripe_retries() {
    let proxy = FaultProxy::start().await;
    let (app, direct) = faulty_app(&proxy).await;
    let (user, _) = app.user().await;
    let event = paid("cs_lost_answer", user);
    // Every answer of the grant's transaction is lost: the first attempt commits, the SDK's
    // retries fail their conditions, and the handler is left with an error.
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .fault(Fault::Internal)
            .after_forward(),
    );
    let answer = app.deliver(&event).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
        "{}",
        answer.text
    );
    assert_eq!(app.balance(user).await, 53, "the grant did commit");
    // Stripe retries the event (the store is healthy again), and again later.
    proxy.clear();
    for _ in 0..2 {
        assert_eq!(app.deliver(&event).await.status, StatusCode::OK);
    }
    assert_eq!(app.balance(user).await, 53, "granted once");
    let report = assert_invariants(&direct).await;
    assert_eq!(report.purchases, 1);
    assert!(proxy.injected() >= 3, "{:?}", proxy.stats());
}

#[tokio::test]
async fn a_grant_whose_first_answer_was_lost_is_recognised_by_the_sdk_retry() {
    let proxy = FaultProxy::start().await;
    let (app, direct) = faulty_app(&proxy).await;
    let (user, _) = app.user().await;
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Nth(1))
            .fault(Fault::Internal)
            .after_forward(),
    );
    let answer = app.deliver(&paid("cs_retried", user)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(app.balance(user).await, 53);
    assert_invariants(&direct).await;
}

#[tokio::test]
async fn throttling_and_transaction_conflicts_around_the_grant_still_grant_once() {
    let proxy = FaultProxy::start().await;
    let (app, direct) = faulty_app(&proxy).await;
    let (user, _) = app.user().await;
    proxy.add(
        Rule::on("dynamodb:TransactGetItems")
            .when(When::Next(2))
            .fault(Fault::Throttle),
    );
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Next(3))
            .fault(Fault::TransactionConflict),
    );
    let event = paid("cs_contended", user);
    let answers = futures::future::join_all((0..4).map(|_| app.deliver(&event))).await;
    for answer in &answers {
        assert!(
            answer.status == StatusCode::OK || answer.status == StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.text
        );
    }
    // Stripe retries whatever was not answered 2xx.
    assert_eq!(app.deliver(&event).await.status, StatusCode::OK);
    assert_eq!(app.balance(user).await, 53);
    assert_eq!(proxy.injected(), 5, "{:?}", proxy.stats());
    assert_invariants(&direct).await;
}

#[tokio::test]
async fn a_refund_whose_answer_was_lost_takes_back_once() {
    let proxy = FaultProxy::start().await;
    let (app, direct) = faulty_app(&proxy).await;
    let (user, _) = app.user().await;
    assert_eq!(
        app.deliver(&paid("cs_refunded", user)).await.status,
        StatusCode::OK
    );
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Nth(1))
            .fault(Fault::Internal)
            .after_forward(),
    );
    let refund = refund_event("cs_refunded", 1000, 500);
    let answer = app.deliver(&refund).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(app.deliver(&refund).await.status, StatusCode::OK);
    assert_eq!(app.balance(user).await, 28, "half of 50 taken back once");
    assert_eq!(proxy.injected(), 1);
    assert_invariants(&direct).await;
}
