//! Batch writes whose requests DynamoDB leaves unprocessed (a throttled partition answers 200
//! with `UnprocessedItems`), made so by the fault proxy in front of moto: the search index's
//! writes (on a request's path) ask again three times at once, the erasure's five times backing
//! off, then each reports the store unavailable; what is asked again is written.

use std::time::{Duration, Instant};

use artforge_domain::{Erasure, Images, Preset, StoreError, UserId, Visibility};
use artforge_dynamo::DynamoStore;
use artforge_fakes::contract::{account, image};
use artforge_testkit::faults::{Fault, FaultProxy, Rule, When};
use aws_sdk_dynamodb::types::AttributeValue;

const BATCH_WRITE: &str = "dynamodb:BatchWriteItem";

/// A store whose calls go through `proxy`, over a fresh table the returned direct store reads.
async fn through(proxy: &FaultProxy) -> (DynamoStore, DynamoStore) {
    let direct = artforge_testkit::fresh_store().await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&proxy.sdk_config()),
        direct.table().to_owned(),
    );
    (store, direct)
}

/// How many items `user`'s partition holds whose sort key starts with `prefix`.
async fn count(direct: &DynamoStore, user: UserId, prefix: &str) -> usize {
    let out = direct
        .client()
        .query()
        .table_name(direct.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{user}")))
        .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
        .send()
        .await
        .expect("queried");
    out.items().len()
}

#[tokio::test]
async fn search_entries_left_unprocessed_are_sent_again_and_written() {
    let proxy = FaultProxy::start().await;
    let (store, direct) = through(&proxy).await;
    let owner = account(&direct, 0).await;
    let made = image(owner, Preset::Square, &[]);
    direct.add(&made).await.expect("added");
    proxy.add(
        Rule::on(BATCH_WRITE)
            .when(When::Next(2))
            .fault(Fault::Unprocessed),
    );
    store
        .update(owner, made.id, None, Some(Visibility::Public))
        .await
        .expect("published");
    assert_eq!(proxy.injected_on(BATCH_WRITE), 2);
    assert_eq!(
        proxy.attempts_of(BATCH_WRITE),
        3,
        "twice more, then written"
    );
    assert!(count(&direct, owner, "POSTING#").await > 0, "filed");
}

#[tokio::test]
async fn search_entries_still_unprocessed_after_three_more_rounds_make_the_store_unavailable() {
    let proxy = FaultProxy::start().await;
    let (store, direct) = through(&proxy).await;
    let owner = account(&direct, 0).await;
    let made = image(owner, Preset::Square, &[]);
    direct.add(&made).await.expect("added");
    proxy.add(Rule::on(BATCH_WRITE).fault(Fault::Unprocessed));
    let started = Instant::now();
    let refused = store
        .update(owner, made.id, None, Some(Visibility::Public))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(proxy.attempts_of(BATCH_WRITE), 4, "once and three rounds");
    assert!(started.elapsed() < Duration::from_secs(2), "no back-off");
    assert_eq!(count(&direct, owner, "POSTING#").await, 0);
}

#[tokio::test]
async fn the_erasure_asks_five_more_times_backing_off_then_is_unavailable_and_a_rerun_finishes() {
    let proxy = FaultProxy::start().await;
    let (store, direct) = through(&proxy).await;
    let user = account(&direct, 0).await;
    for _ in 0..30 {
        direct
            .add(&image(user, Preset::Square, &[]))
            .await
            .expect("added");
    }
    direct
        .close(user, time::OffsetDateTime::now_utc())
        .await
        .expect("closed");
    proxy.add(Rule::on(BATCH_WRITE).fault(Fault::Unprocessed));
    let started = Instant::now();
    let refused = store.erase_rest(user).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(proxy.attempts_of(BATCH_WRITE), 6, "once and five rounds");
    assert!(
        started.elapsed() >= Duration::from_millis(100 + 200 + 400 + 800 + 1600),
        "backing off from 100 ms: {:?}",
        started.elapsed()
    );
    assert_eq!(count(&direct, user, "IMAGE#").await, 30, "nothing deleted");

    proxy.clear();
    proxy.add(
        Rule::on(BATCH_WRITE)
            .when(When::Next(1))
            .fault(Fault::Unprocessed),
    );
    assert_eq!(store.erase_rest(user).await.expect("erased"), 30);
    assert_eq!(
        proxy.attempts_of(BATCH_WRITE),
        6 + 3,
        "25 and 5 a request, the first asked again"
    );
    assert_eq!(count(&direct, user, "IMAGE#").await, 0);
}
