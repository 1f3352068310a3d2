//! Search end to end over moto: `q` on the history and on the feed, folded, every word, the
//! last a prefix, full pages across cursors, and the feed's index following publish, tags and
//! delete through the API (docs/decisions/0140-search-index.md).

use artforge_domain::{Image, Images, Preset, UserId, Visibility};
use artforge_fakes::contract::image;
use http::StatusCode;

use crate::common::{Answer, App};

/// Records an image of `owner` with this prompt (no files: these tests only list).
async fn prompted(app: &App, owner: UserId, prompt: &str, public: bool) -> Image {
    let mut made = image(owner, Preset::Square, &[]);
    made.prompt = prompt.into();
    if public {
        made.visibility = Visibility::Public;
    }
    app.store.add(&made).await.expect("recorded");
    made
}

/// Every page of `path` (which has a query already), checking each but the last is full.
async fn walk(app: &App, token: Option<&str>, path: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Answer = app
            .call("GET", &format!("{path}&limit={limit}{cursor}"), token, None)
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

fn newest_first(images: &[&Image]) -> Vec<String> {
    let mut ids: Vec<_> = images.iter().map(|i| i.id).collect();
    ids.sort_by(|a, b| b.cmp(a));
    ids.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn history_and_feed_searches_fold_case_and_accents_and_page_in_full() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let (grace, _) = app.user().await;
    let mut dawn = Vec::new();
    for i in 0..30 {
        if i % 3 == 0 {
            dawn.push(prompted(&app, ada, &format!("Le phare à l'Aube, n°{i}"), i % 2 == 0).await);
        } else {
            prompted(&app, ada, &format!("a meadow at noon {i}"), true).await;
        }
    }
    prompted(&app, grace, "le phare de grace", false).await;

    let all: Vec<&Image> = dawn.iter().collect();
    assert_eq!(
        walk(&app, Some(&token), "/images?q=PHARE%20AUB", 4).await,
        newest_first(&all),
        "the history, every page full"
    );
    assert!(
        walk(&app, Some(&token), "/images?q=phar%20aube", 4)
            .await
            .is_empty(),
        "only the last word is a prefix"
    );
    let public: Vec<&Image> = dawn
        .iter()
        .filter(|i| i.visibility == Visibility::Public)
        .collect();
    assert_eq!(
        walk(&app, None, "/feed?q=phare%20%C3%A0%20l%20aube", 2).await,
        newest_first(&public),
        "the feed: public images only, of everyone"
    );
}

#[tokio::test]
async fn the_feed_search_follows_publishing_tags_and_deletes_made_through_the_api() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let boat = prompted(&app, ada, "a red boat", false).await;
    let feed = |q: &'static str| {
        let app = &app;
        async move { walk(app, None, &format!("/feed?q={q}"), 10).await }
    };
    assert!(feed("boat").await.is_empty(), "private");

    let path = format!("/images/{}", boat.id);
    let published = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(r#"{"visibility":"public","tags":["Harbour"]}"#),
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    assert_eq!(feed("red%20bo").await, [boat.id.to_string()]);
    assert_eq!(feed("harb").await, [boat.id.to_string()], "tags are words");

    let retagged = app
        .call("PATCH", &path, Some(&token), Some(r#"{"tags":["sea"]}"#))
        .await;
    assert_eq!(retagged.status, StatusCode::OK, "{}", retagged.text);
    assert!(feed("harbour").await.is_empty(), "the old tag is gone");
    assert_eq!(feed("sea").await, [boat.id.to_string()]);

    let deleted = app.call("DELETE", &path, Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert!(feed("boat").await.is_empty(), "deleted");
}

#[tokio::test]
async fn a_search_without_words_or_too_long_is_a_422_naming_q() {
    let app = App::new().await;
    let (_, token) = app.user().await;
    let long = "a".repeat(201);
    for (path, signed_in) in [
        ("/images?q=".to_owned(), true),
        (format!("/images?q={long}"), true),
        ("/feed?q=%20-%20".to_owned(), false),
        (format!("/feed?q={}", "a%20".repeat(9)), false),
    ] {
        let answer = app
            .call("GET", &path, signed_in.then_some(token.as_str()), None)
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(answer.json["errors"][0]["field"], "q", "{path}");
    }
}
