//! Combined filters over a few hundred images, read across several DynamoDB query pages:
//! exactly the right images, in order, with no gaps or duplicates across API pages.

use artforge_domain::{Image, Likes, Preset, Tier};
use http::StatusCode;

use crate::common::{Answer, App, Spec};

/// Walks a list page by page; every page but the last is full.
async fn walk(app: &App, token: &str, query: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Answer = app
            .get(&format!("/images?{query}&limit={limit}{cursor}"), token)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let ids = page.ids();
        let next = page.json["nextCursor"].as_str().map(str::to_owned);
        if next.is_some() {
            assert_eq!(ids.len(), limit, "a page with a next cursor is full");
        }
        seen.extend(ids);
        match next {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn combined_filters_over_hundreds_of_images_page_without_gaps_or_duplicates() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let mut images: Vec<(usize, Image)> = Vec::new();
    for i in 0..300 {
        let spec = Spec {
            tier: if i % 2 == 0 { Tier::V3 } else { Tier::V2 },
            preset: if i % 3 == 0 {
                Preset::Story
            } else {
                Preset::Square
            },
            tags: if i % 5 == 0 {
                &["cat", "night"]
            } else {
                &["dog"]
            },
            ..Spec::default()
        };
        images.push((i, app.record(ada, spec).await));
    }
    // Likes in a shuffled order (a fixed permutation), so like order differs from image order.
    let mut like_order: Vec<usize> = (0..300).filter(|i| i % 4 != 2).collect();
    like_order.sort_by_key(|i| (i * 7919) % 300);
    for &i in &like_order {
        app.store.like(ada, &images[i].1).await.expect("like");
    }
    let wanted = |i: usize| i.is_multiple_of(2) && i.is_multiple_of(3) && i.is_multiple_of(5);

    let mut expected: Vec<String> = images
        .iter()
        .filter(|(i, _)| wanted(*i))
        .map(|(_, img)| img.id.to_string())
        .collect();
    expected.reverse();
    assert_eq!(expected.len(), 10);
    assert_eq!(
        walk(&app, &token, "model=v3&preset=story&tag=cat", 3).await,
        expected
    );

    let liked_expected: Vec<String> = like_order
        .iter()
        .rev()
        .filter(|&&i| wanted(i))
        .map(|&i| images[i].1.id.to_string())
        .collect();
    assert_eq!(liked_expected.len(), 5);
    assert_eq!(
        walk(&app, &token, "model=v3&preset=story&tag=cat&liked=true", 2).await,
        liked_expected
    );

    let all_v2: Vec<String> = walk(&app, &token, "model=v2", 100).await;
    assert_eq!(all_v2.len(), 150);
    let unique: std::collections::HashSet<_> = all_v2.iter().collect();
    assert_eq!(unique.len(), 150, "no duplicates");
    let mut sorted = all_v2.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(all_v2, sorted, "newest first");
}
