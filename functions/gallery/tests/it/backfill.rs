//! The one-off search backfill over moto (ADR 0140): images written before search (no
//! `words`, no index entries) are re-filed by `SearchBackfill` paging the table with `Scan`,
//! then found through the API's history and feed searches; a second run writes nothing.

use artforge_domain::{Image, Images, Preset, UserId, Visibility};
use artforge_fakes::contract::image;
use aws_sdk_dynamodb::types::AttributeValue;
use gallery::backfill::SearchBackfill;
use http::StatusCode;

use crate::common::App;

/// An image as written before search: its item without `words`, and no index entries.
async fn written_before_search(app: &App, owner: UserId, prompt: &str, public: bool) -> Image {
    let mut made = image(owner, Preset::Square, &[]);
    made.prompt = prompt.into();
    if public {
        made.visibility = Visibility::Public;
    }
    app.store.add(&made).await.expect("recorded");
    let client = app.store.client();
    let pk = AttributeValue::S(format!("USER#{owner}"));
    client
        .update_item()
        .table_name(app.store.table())
        .key("pk", pk.clone())
        .key("sk", AttributeValue::S(format!("IMAGE#{}", made.id)))
        .update_expression("REMOVE words")
        .send()
        .await
        .expect("words removed");
    let entries = client
        .query()
        .table_name(app.store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :postings)")
        .expression_attribute_values(":pk", pk.clone())
        .expression_attribute_values(
            ":postings",
            AttributeValue::S(format!("POSTING#{}", made.id)),
        )
        .send()
        .await
        .expect("entries listed");
    for entry in entries.items() {
        client
            .delete_item()
            .table_name(app.store.table())
            .key("pk", pk.clone())
            .key("sk", entry["sk"].clone())
            .send()
            .await
            .expect("entry removed");
    }
    made
}

async fn found(app: &App, path: &str, token: Option<&str>) -> Vec<String> {
    let answer = app.call("GET", path, token, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let mut ids = answer.ids();
    ids.sort();
    ids
}

#[tokio::test]
async fn old_images_are_indexed_by_the_backfill_and_a_second_run_writes_nothing() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let private = written_before_search(&app, ada, "a red fox in the snow", false).await;
    let public = written_before_search(&app, ada, "a red fox at the harbour", true).await;
    for i in 0..4 {
        written_before_search(&app, ada, &format!("a meadow {i}"), i % 2 == 0).await;
    }
    assert!(found(&app, "/images?q=fox", Some(&token)).await.is_empty());
    assert!(found(&app, "/feed?q=fox", None).await.is_empty());

    let backfill = SearchBackfill {
        images: app.store.clone(),
        batch: 3,
    };
    let mut positions = Vec::new();
    let totals = backfill
        .run(None, |batch| positions.push(batch.next.clone()))
        .await
        .expect("the backfill ran");
    assert_eq!(totals.refiled, 6);
    assert!(totals.batches > 1, "paged: {positions:?}");

    let mut both = vec![private.id.to_string(), public.id.to_string()];
    both.sort();
    assert_eq!(found(&app, "/images?q=red%20fo", Some(&token)).await, both);
    assert_eq!(
        found(&app, "/feed?q=fox", None).await,
        [public.id.to_string()],
        "the public one is in the feed's index"
    );
    assert_eq!(
        found(&app, "/feed?q=harbour", None).await,
        [public.id.to_string()]
    );

    let again = backfill.run(None, |_| {}).await.expect("ran again");
    assert_eq!(again.refiled, 0, "nothing lacks its words any more");
    // Resuming from a position a page reported reads on from there.
    let resumed = backfill
        .run(positions[0].clone(), |_| {})
        .await
        .expect("resumed");
    assert_eq!(resumed.refiled, 0);
}
