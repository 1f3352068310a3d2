//! DELETE /me and GET /me/export end to end over moto: the router built by the function's one
//! wiring over a fresh table, bucket and account queue.

use artforge_domain::{Erasure, Images, Likes, Preset, Standing, UserId, Variant, Visibility};
use artforge_dynamo::DynamoStore;
use http::StatusCode;
use serde_json::json;

use crate::common::{App, PASSWORD, SessionAnswer};

fn image(owner: UserId, visibility: Visibility) -> artforge_domain::Image {
    artforge_domain::Image {
        visibility,
        ..artforge_fakes::contract::image(owner, Preset::Square, &[])
    }
}

impl App {
    /// An image of `owner` with its three files, recorded.
    async fn image(&self, owner: UserId, visibility: Visibility) -> artforge_domain::Image {
        let image = image(owner, visibility);
        for v in Variant::ALL {
            self.files
                .put(&image.object_key(*v), b"x".to_vec(), "image/jpeg")
                .await
                .expect("put");
        }
        self.store.add(&image).await.expect("added");
        if visibility == Visibility::Public {
            self.store
                .update(owner, image.id, None, Some(visibility))
                .await
                .expect("public");
        }
        image
    }

    async fn keys_under(&self, prefix: &str) -> Vec<String> {
        let out = self
            .files
            .client()
            .list_objects_v2()
            .bucket(self.files.bucket())
            .prefix(prefix)
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    async fn delete_me(&self, token: &str, password: &str) -> crate::common::Answer {
        let body = json!({ "password": password }).to_string();
        self.call("DELETE", "/me", Some(token), Some(&body)).await
    }
}

async fn partition(store: &DynamoStore, user: UserId) -> Vec<String> {
    let out = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user}")),
        )
        .send()
        .await
        .expect("query");
    out.items()
        .iter()
        .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

#[tokio::test]
async fn deleting_the_account_erases_every_file_and_item_and_ends_every_session_at_once() {
    let app = App::new().await;
    let ada = app.register("ada@example.com").await;
    let (token, user) = (ada.token(), ada.user_id());
    let other_session = app.login("ada@example.com", PASSWORD).await.token();
    let bo = app.register("bo@example.com").await;
    let theirs = app.image(bo.user_id(), Visibility::Public).await;
    app.image(user, Visibility::Public).await;
    app.image(user, Visibility::Private).await;
    app.store.like(user, &theirs).await.expect("liked");
    for folder in ["uploads", "previews", "archives"] {
        app.files
            .put(&format!("{folder}/{user}/x"), b"x".to_vec(), "image/png")
            .await
            .expect("put");
    }

    let wrong = app.delete_me(&token, "not my password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert_eq!(wrong.json["code"], "invalid_credentials");
    assert_eq!(
        app.call("GET", "/me", Some(&token), None).await.status,
        StatusCode::OK
    );

    let deleted = app.delete_me(&token, PASSWORD).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert!(
        deleted.headers[http::header::SET_COOKIE]
            .to_str()
            .is_ok_and(|c| c.contains("Max-Age=0")),
        "the cookie is cleared"
    );
    for session in [&token, &other_session] {
        let gone = app.call("GET", "/me", Some(session), None).await;
        assert_eq!(gone.status, StatusCode::UNAUTHORIZED, "{}", gone.text);
    }
    for folder in ["images", "uploads", "previews", "archives"] {
        let left = app.keys_under(&format!("{folder}/{user}/")).await;
        assert!(left.is_empty(), "{folder}: {left:?}");
    }
    assert_eq!(
        app.keys_under(&format!("images/{}/", bo.user_id()))
            .await
            .len(),
        3
    );
    let mut kept = partition(&app.store, user).await;
    kept.sort();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert_eq!(kept[0], "EFFECT#signup");
    assert!(kept[1].starts_with("LEDGER#"), "{kept:?}");
    assert_eq!(kept[2], "PROFILE");
    let theirs = app
        .store
        .image(bo.user_id(), theirs.id)
        .await
        .expect("read")
        .expect("theirs stays");
    assert_eq!(theirs.likes, 0, "the like is taken back");
    assert!(matches!(
        app.store.standing(user).await.expect("read"),
        Standing::Closed(_)
    ));
    let login = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{}", login.text);

    let sqs = aws_sdk_sqs::Client::new(&artforge_testkit::sdk_config());
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&app.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .expect("attributes");
    let delayed = attrs
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        })
        .cloned();
    assert_eq!(
        delayed.as_deref(),
        Some("1"),
        "the back-up erasure is queued, delayed"
    );
}

#[tokio::test]
async fn the_email_signs_up_again_as_a_new_account_without_signup_credits() {
    let app = App::new().await;
    let ada = app.register("ada@example.com").await;
    let deleted = app.delete_me(&ada.token(), PASSWORD).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let again = app.register("ada@example.com").await;
    assert_ne!(again.user_id(), ada.user_id());
    assert_eq!(again.json["user"]["credits"], 0);
}

#[tokio::test]
async fn the_export_holds_the_account_ledger_images_likes_and_says_what_deletion_keeps() {
    let app = App::new().await;
    let ada = app.register("ada@example.com").await;
    let user = ada.user_id();
    let mine = app.image(user, Visibility::Private).await;
    app.store.like(user, &mine).await.expect("liked");
    let export = app
        .call("GET", "/me/export", Some(&ada.token()), None)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    let doc = &export.json;
    assert_eq!(doc["account"]["email"], "ada@example.com");
    assert_eq!(doc["balance"], 3);
    assert_eq!(doc["ledger"][0]["delta"], 3);
    assert_eq!(doc["images"][0]["id"], mine.id.to_string());
    assert!(doc["images"][0]["urls"]["original"].is_string());
    assert_eq!(doc["likes"][0], mine.id.to_string());
    assert!(doc["jobs"].as_array().is_some_and(Vec::is_empty));
    assert!(doc["purchases"].as_array().is_some_and(Vec::is_empty));
    assert!(
        doc["retention"]
            .as_str()
            .is_some_and(|r| r.contains("purchases") && r.contains("ledger")),
        "{doc}"
    );
    assert!(
        export.headers[http::header::CONTENT_DISPOSITION]
            .to_str()
            .is_ok_and(|d| d.contains("attachment")),
    );
    let anonymous = app.call("GET", "/me/export", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deletion_body_must_be_json_with_the_password_only() {
    let app = App::new().await;
    let token = app.register("ada@example.com").await.token();
    let oversize = json!({ "password": "x".repeat(100_000) }).to_string();
    for (body, status, code) in [
        ("{", StatusCode::BAD_REQUEST, "invalid_json"),
        (
            r#"{"password": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            r#"{"password": "x", "also": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            r#"{}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "null",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            oversize.as_str(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ] {
        let answer = app.call("DELETE", "/me", Some(&token), Some(body)).await;
        let what: String = body.chars().take(40).collect();
        assert_eq!(answer.status, status, "{what}: {}", answer.text);
        assert_eq!(answer.code(), code, "{what}");
        assert_eq!(
            answer.headers[http::header::CONTENT_TYPE],
            "application/problem+json",
            "{what}"
        );
    }
    assert_eq!(
        app.call("GET", "/me", Some(&token), None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_expired_session_can_neither_delete_nor_export_the_account() {
    let app = App::new().await;
    let registered = app.register("ada@example.com").await;
    let ring = artforge_http::token::Keyring::parse(artforge_testkit::JWT_KEYS).expect("keys");
    let expired = artforge_http::token::TokenKeys::new(
        &ring,
        artforge_testkit::JWT_ISSUER,
        artforge_testkit::JWT_AUDIENCE,
        time::Duration::hours(1),
    )
    .issue(
        registered.user_id(),
        0,
        time::OffsetDateTime::now_utc() - time::Duration::hours(2),
    )
    .expect("issued")
    .token;
    let deleted = app.delete_me(&expired, PASSWORD).await;
    let exported = app.call("GET", "/me/export", Some(&expired), None).await;
    for answer in [&deleted, &exported] {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
        assert_eq!(answer.code(), "token_expired");
        assert_eq!(
            answer.headers[http::header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
    assert_eq!(
        app.call("GET", "/me", Some(&registered.token()), None)
            .await
            .status,
        StatusCode::OK,
        "the account is still there"
    );
}
