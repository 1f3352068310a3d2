//! The feed's search index against moto (docs/decisions/0140-search-index.md): entries live in
//! the owner's partition, one per stem of a public image, and follow every change of it; an
//! entry left behind by an interrupted write is never shown.

use std::collections::BTreeSet;

use artforge_domain::{Images, PageRequest, Search, Tags, Visibility};
use artforge_dynamo::DynamoStore;
use artforge_fakes::contract::{account, image};
use aws_sdk_dynamodb::types::AttributeValue;

/// Every index entry of the table, as (pk, sk, gsi1pk).
async fn entries(store: &DynamoStore) -> BTreeSet<(String, String, String)> {
    let out = store
        .client()
        .scan()
        .table_name(store.table())
        .filter_expression("begins_with(sk, :posting)")
        .expression_attribute_values(":posting", AttributeValue::S("POSTING#".into()))
        .send()
        .await
        .expect("scanned");
    let s = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    out.items()
        .iter()
        .map(|item| (s(item, "pk"), s(item, "sk"), s(item, "gsi1pk")))
        .collect()
}

fn query(q: &str) -> Search {
    Search::parse(q, "q").expect("a query")
}

fn first_page() -> PageRequest {
    PageRequest {
        limit: 10,
        after: None,
    }
}

#[tokio::test]
async fn a_public_image_is_filed_once_per_stem_in_its_owners_partition_and_unfiled_when_it_changes()
{
    let store = artforge_testkit::fresh_store().await;
    let owner = account(&store, 0).await;
    let mut made = image(owner, artforge_domain::Preset::Square, &["Coast"]);
    made.prompt = "Sunset over sunny seas, a sunset".into();
    store.add(&made).await.expect("added");
    assert!(
        entries(&store).await.is_empty(),
        "a private image is not filed"
    );

    store
        .update(owner, made.id, None, Some(Visibility::Public))
        .await
        .expect("published");
    let stems = |list: &[&str]| -> BTreeSet<(String, String, String)> {
        list.iter()
            .map(|stem| {
                (
                    format!("USER#{owner}"),
                    format!("POSTING#{}#{stem}", made.id),
                    format!("TERM#{stem}"),
                )
            })
            .collect()
    };
    assert_eq!(entries(&store).await, stems(&["coa", "ove", "sea", "sun"]));

    let tags = Tags::parse(&["harbour"]).expect("tags");
    store
        .update(owner, made.id, Some(&tags), None)
        .await
        .expect("retagged");
    assert_eq!(entries(&store).await, stems(&["har", "ove", "sea", "sun"]));

    store
        .update(owner, made.id, None, Some(Visibility::Private))
        .await
        .expect("unpublished");
    assert!(entries(&store).await.is_empty(), "private: unfiled");

    store
        .update(owner, made.id, None, Some(Visibility::Public))
        .await
        .expect("published again");
    store.retire(owner, made.id).await.expect("retired");
    assert!(entries(&store).await.is_empty(), "retired: unfiled");
}

#[tokio::test]
async fn an_entry_left_by_an_interrupted_write_is_skipped_and_removed_by_the_next_change() {
    let store = artforge_testkit::fresh_store().await;
    let owner = account(&store, 0).await;
    let mut made = image(owner, artforge_domain::Preset::Square, &[]);
    made.prompt = "a quiet harbour".into();
    store.add(&made).await.expect("added");
    // As if an unpublish had made the image private and stopped before unfiling it.
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(format!("USER#{owner}")))
        .item("sk", AttributeValue::S(format!("POSTING#{}#har", made.id)))
        .item("gsi1pk", AttributeValue::S("TERM#har".into()))
        .item("gsi1sk", AttributeValue::S(format!("IMAGE#{}", made.id)))
        .item("words", AttributeValue::S(" a quiet harbour ".into()))
        .send()
        .await
        .expect("an entry left behind");
    let found = store
        .search_feed(&query("harbour"), first_page())
        .await
        .expect("searched");
    assert!(found.items.is_empty(), "a private image is never shown");

    store
        .update(owner, made.id, None, Some(Visibility::Private))
        .await
        .expect("unpublished again");
    assert!(entries(&store).await.is_empty(), "the retry removed it");
}
