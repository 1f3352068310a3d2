//! Tokens and their revocation: what is refused, and what logout and password changes revoke.

use crate::common::{App, PASSWORD, SessionAnswer};
use artforge_http::token::{Keyring, TokenKeys};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::StatusCode;
use serde_json::json;
use time::{Duration, OffsetDateTime};

fn keys(audience: &str) -> TokenKeys {
    let ring = Keyring::parse(artforge_testkit::JWT_KEYS).expect("keys");
    TokenKeys::new(
        &ring,
        artforge_testkit::JWT_ISSUER,
        audience,
        Duration::hours(1),
    )
}

async fn me(app: &App, token: &str) -> (StatusCode, String) {
    let answer = app.call("GET", "/me", Some(token), None).await;
    (answer.status, answer.code().to_owned())
}

#[tokio::test]
async fn tampered_expired_unsigned_and_foreign_tokens_are_refused() {
    let app = App::new().await;
    let registered = app.register("ada@example.com").await;
    let token = registered.token();
    let user = registered.user_id();
    let [header, payload, signature]: [&str; 3] = token
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .expect("three parts");

    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    claims["sub"] = json!("01ARZ3NDEKTSV4RRFFQ69G5FAV");
    let tampered = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    let expired = keys(artforge_testkit::JWT_AUDIENCE)
        .issue(user, 0, OffsetDateTime::now_utc() - Duration::hours(2))
        .expect("issued")
        .token;
    let wrong_audience = keys("someone-else")
        .issue(user, 0, OffsetDateTime::now_utc())
        .expect("issued")
        .token;

    assert_eq!(me(&app, &token).await, (StatusCode::OK, String::new()));
    assert_eq!(
        me(&app, &tampered).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    assert_eq!(
        me(&app, &none).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    assert_eq!(
        me(&app, &expired).await,
        (StatusCode::UNAUTHORIZED, "token_expired".into())
    );
    assert_eq!(
        me(&app, &wrong_audience).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    assert_eq!(
        me(&app, "not-a-jwt").await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    let no_session = app.call("GET", "/me", None, None).await;
    assert_eq!(
        (no_session.status, no_session.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}

#[tokio::test]
async fn logout_clears_the_cookie_and_revokes_only_that_token() {
    let app = App::new().await;
    let first = app.register("ada@example.com").await.token();
    let second = app.login("ada@example.com", PASSWORD).await.token();
    let answer = app.call("POST", "/auth/logout", Some(&first), None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(answer.cookie().is_some_and(|c| c.contains("Max-Age=0")));
    assert_eq!(
        me(&app, &first).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    assert_eq!(me(&app, &second).await.0, StatusCode::OK);
    // Logging out again, or without a session, still clears the cookie.
    assert_eq!(
        app.call("POST", "/auth/logout", Some(&first), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call("POST", "/auth/logout", None, None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn logout_everywhere_revokes_every_token_of_the_user_only() {
    let app = App::new().await;
    let first = app.register("ada@example.com").await.token();
    let second = app.login("ada@example.com", PASSWORD).await.token();
    let grace = app.register("grace@example.com").await.token();
    let answer = app
        .call("POST", "/auth/logout?everywhere=true", Some(&second), None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &first).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &second).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &grace).await.0, StatusCode::OK);
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::OK,
        "new logins work"
    );
    let anonymous = app
        .call("POST", "/auth/logout?everywhere=true", None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let bad_flag = app
        .call("POST", "/auth/logout?everywhere=maybe", Some(&grace), None)
        .await;
    assert_eq!(
        (bad_flag.status, bad_flag.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
}

#[tokio::test]
async fn changing_the_password_revokes_other_sessions_and_keeps_this_one() {
    let app = App::new().await;
    let other = app.register("ada@example.com").await.token();
    let this = app.login("ada@example.com", PASSWORD).await.token();
    let body =
        json!({"currentPassword": PASSWORD, "newPassword": "a brand new password"}).to_string();
    let answer = app
        .call("PUT", "/me/password", Some(&this), Some(&body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let renewed = answer.token();
    assert!(answer.cookie().is_some());
    assert_eq!(me(&app, &other).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &this).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &renewed).await.0, StatusCode::OK);
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ada@example.com", "a brand new password")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_valid_new_one() {
    let app = App::new().await;
    let token = app.register("ada@example.com").await.token();
    let wrong = json!({"currentPassword": "not it at all", "newPassword": "a brand new password"})
        .to_string();
    let answer = app
        .call("PUT", "/me/password", Some(&token), Some(&wrong))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let short = json!({"currentPassword": PASSWORD, "newPassword": "short"}).to_string();
    let answer = app
        .call("PUT", "/me/password", Some(&token), Some(&short))
        .await;
    assert_eq!(
        (answer.status, answer.fields()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["newPassword".to_owned()]
        )
    );
    let missing = app
        .call(
            "PUT",
            "/me/password",
            Some(&token),
            Some(r#"{"newPassword":"long enough"}"#),
        )
        .await;
    assert_eq!(
        (answer.status, missing.fields()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["currentPassword".to_owned()]
        )
    );
    assert_eq!(
        me(&app, &token).await.0,
        StatusCode::OK,
        "nothing was revoked"
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::OK,
        "nothing was changed"
    );
}
