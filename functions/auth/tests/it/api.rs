//! The auth routes end to end: the real router, the real DynamoDB adapter, moto underneath.

use crate::common::{App, PASSWORD, SessionAnswer};
use artforge_domain::{CreditCause, Credits, Ledger, Movement};
use axum::body::Body;
use http::{Request, StatusCode, header};
use serde_json::json;

#[tokio::test]
async fn registering_opens_an_account_with_three_credits_and_a_secure_session_cookie() {
    let app = App::new().await;
    let answer = app.register("Ada.Lovelace@Example.com").await;
    assert_eq!(answer.json["user"]["email"], "ada.lovelace@example.com");
    assert_eq!(answer.json["user"]["credits"], 3);
    assert!(answer.json["expiresAt"].is_string());
    let cookie = answer.cookie().expect("a session cookie");
    for attribute in [
        "__Host-artforge_session=",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(
        cookie.contains(&answer.token()),
        "the cookie carries the token"
    );
}

#[tokio::test]
async fn me_answers_through_the_cookie_and_through_a_bearer_token() {
    let app = App::new().await;
    let token = app.register("grace@example.com").await.token();
    let by_bearer = app.call("GET", "/me", Some(&token), None).await;
    assert_eq!(by_bearer.status, StatusCode::OK);
    let cookie_request = Request::get("/me")
        .header(
            header::COOKIE,
            format!("theme=dark; __Host-artforge_session={token}"),
        )
        .body(Body::empty())
        .expect("request");
    let by_cookie = app.send(cookie_request).await;
    assert_eq!(by_cookie.status, StatusCode::OK, "{}", by_cookie.text);
    assert_eq!(by_cookie.json, by_bearer.json);
    let keys: Vec<&String> = by_cookie.json.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["createdAt", "credits", "email", "id", "name"]);
    assert_eq!(by_cookie.json["credits"], 3);
}

#[tokio::test]
async fn login_with_the_right_password_opens_a_new_session() {
    let app = App::new().await;
    app.register("ada@example.com").await;
    let answer = app.login("ADA@example.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["user"]["email"], "ada@example.com");
    assert!(answer.cookie().is_some());
    assert_eq!(
        app.call("GET", "/me", Some(&answer.token()), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_second_signup_with_the_same_email_in_any_case_is_rejected() {
    let app = App::new().await;
    app.register("ada@example.com").await;
    let body = json!({"email": " ADA@Example.COM ", "password": "another password"}).to_string();
    let answer = app.call("POST", "/auth/register", None, Some(&body)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.code(), "email_taken");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = App::new().await;
    app.register("ada@example.com").await;
    let wrong = app.login("ada@example.com", "not the password").await;
    let unknown = app.login("nobody@example.com", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_eq!(
        (unknown.status, unknown.code()),
        (wrong.status, wrong.code())
    );
    assert_eq!(unknown.json["detail"], wrong.json["detail"]);
    assert_eq!(unknown.json["title"], wrong.json["title"]);
}

#[tokio::test]
async fn an_unknown_email_costs_a_full_password_verification() {
    let app = App::new().await;
    app.register("ada@example.com").await;
    let time = |email: &'static str| {
        let app = &app;
        async move {
            let start = std::time::Instant::now();
            app.login(email, "not the password").await;
            start.elapsed()
        }
    };
    // Medians of three, so one slow call does not decide.
    let mut wrong = [
        time("ada@example.com").await,
        time("ada@example.com").await,
        time("ada@example.com").await,
    ];
    let mut unknown = [
        time("nobody@example.com").await,
        time("nobody@example.com").await,
        time("nobody@example.com").await,
    ];
    wrong.sort();
    unknown.sort();
    assert!(
        unknown[1] * 3 > wrong[1],
        "an unknown email answered in {:?}, a wrong password in {:?}",
        unknown[1],
        wrong[1]
    );
}

#[tokio::test]
async fn fifty_wrong_passwords_from_one_address_leave_the_owner_able_to_log_in_and_change_it() {
    let app = App::new().await;
    let token = app.register("ada@example.com").await.token();
    let guesser = "198.51.100.66";
    let guess = json!({"email": "ada@example.com", "password": "a guess at it"}).to_string();
    let mut refused = Vec::new();
    for attempt in 1..=50 {
        let answer = app
            .call_from(guesser, "POST", "/auth/login", None, Some(&guess))
            .await;
        match answer.status {
            StatusCode::UNAUTHORIZED => assert!(attempt <= 6, "attempt {attempt} was checked"),
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after: u64 = answer.headers[header::RETRY_AFTER]
                    .to_str()
                    .expect("ascii")
                    .parse()
                    .expect("seconds");
                assert!(
                    (1..=901).contains(&retry_after),
                    "Retry-After {retry_after}"
                );
                refused.push(answer.code().to_owned());
            }
            other => panic!("attempt {attempt}: {other} {}", answer.text),
        }
    }
    assert!(
        refused.iter().any(|code| code == "too_many_attempts"),
        "the back-off held the guesser: {refused:?}"
    );
    let right = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();
    let owner = app
        .call_from("203.0.113.10", "POST", "/auth/login", None, Some(&right))
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    let change =
        json!({"currentPassword": PASSWORD, "newPassword": "a brand new horse"}).to_string();
    let changed = app
        .call("PUT", "/me/password", Some(&token), Some(&change))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let held = app
        .call_from(guesser, "POST", "/auth/login", None, Some(&right))
        .await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "{}", held.text);
}

#[tokio::test]
async fn the_eleventh_sign_up_from_one_address_within_the_hour_is_rate_limited() {
    let app = App::new().await;
    let body =
        |n: u32| json!({"email": format!("user{n}@example.com"), "password": PASSWORD}).to_string();
    for n in 0..10 {
        let answer = app
            .call_from(
                "203.0.113.7",
                "POST",
                "/auth/register",
                None,
                Some(&body(n)),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }
    let limited = app
        .call_from(
            "203.0.113.7",
            "POST",
            "/auth/register",
            None,
            Some(&body(10)),
        )
        .await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    let elsewhere = app
        .call_from(
            "203.0.113.8",
            "POST",
            "/auth/register",
            None,
            Some(&body(10)),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.text);
}

#[tokio::test]
async fn a_successful_login_clears_earlier_failures() {
    let app = App::new().await;
    app.register("ada@example.com").await;
    for _ in 0..4 {
        app.login("ada@example.com", "wrong password").await;
    }
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    for _ in 0..4 {
        app.login("ada@example.com", "wrong password").await;
    }
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_bodies_get_their_own_codes_and_never_a_500() {
    let app = App::new().await;
    let cases: [(&str, Option<&str>, StatusCode, &str); 8] = [
        (
            "{\"email\": ",
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "",
            Some("application/json"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "{}",
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "{}",
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "{\"email\":\"a@example.com\"}",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "{\"email\":5,\"password\":\"long enough\"}",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "{\"email\":\"a@example.com\",\"password\":\"long enough\",\"isAdmin\":true}",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "[]",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for path in ["/auth/register", "/auth/login"] {
        for (body, content_type, status, code) in &cases {
            let mut request = Request::post(path);
            if let Some(ct) = content_type {
                request = request.header(header::CONTENT_TYPE, *ct);
            }
            let answer = app
                .send(request.body(Body::from(body.to_string())).expect("request"))
                .await;
            assert_eq!(
                (answer.status, answer.code()),
                (*status, *code),
                "{path} {body:?}"
            );
            assert_eq!(
                answer.headers[header::CONTENT_TYPE],
                "application/problem+json"
            );
            assert!(answer.json["requestId"].is_string());
        }
    }
}

#[tokio::test]
async fn field_errors_name_every_bad_field() {
    let app = App::new().await;
    let cases = [
        (json!({"email": "ada@example.com"}), vec!["password"]),
        (
            json!({"email": "ada@example.com", "password": 12_345_678}),
            vec!["password"],
        ),
        (
            json!({"email": "not-an-email", "password": "long enough"}),
            vec!["email"],
        ),
        (
            json!({"email": "ada@example.com", "password": "7 chars"}),
            vec!["password"],
        ),
        (
            json!({"email": "ada@example.com", "password": "x".repeat(129)}),
            vec!["password"],
        ),
        (
            json!({"email": "nope", "password": "short", "name": ""}),
            vec!["email", "password", "name"],
        ),
    ];
    for (body, fields) in cases {
        let answer = app
            .call("POST", "/auth/register", None, Some(&body.to_string()))
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.code(), "validation_failed");
        assert_eq!(answer.fields(), fields, "{body}");
    }
    let answer = app
        .call(
            "POST",
            "/auth/register",
            None,
            Some(&json!({"email": "ada@example.com", "password": "x".repeat(128)}).to_string()),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "128 characters are allowed"
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413() {
    let app = App::new().await;
    let body = json!({"email": "ada@example.com", "password": "p".repeat(70 * 1024)}).to_string();
    for with_length in [true, false] {
        let mut request =
            Request::post("/auth/register").header(header::CONTENT_TYPE, "application/json");
        if with_length {
            request = request.header(header::CONTENT_LENGTH, body.len());
        }
        let answer = app
            .send(request.body(Body::from(body.clone())).expect("request"))
            .await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(answer.code(), "payload_too_large");
    }
}

#[tokio::test]
async fn credits_show_the_signup_entry_newest_first_and_page_with_sealed_cursors() {
    let app = App::new().await;
    let registered = app.register("ada@example.com").await;
    let token = registered.token();
    let user = registered.user_id();
    let first = app.call("GET", "/me/credits", Some(&token), None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["balance"], 3);
    assert_eq!(first.json["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(first.json["items"][0]["reason"], "signup");
    assert_eq!(first.json["items"][0]["delta"], 3);
    assert_eq!(first.json["items"][0]["balanceAfter"], 3);
    assert_eq!(first.json["nextCursor"], serde_json::Value::Null);

    for n in 0..4 {
        let cause = CreditCause::Purchase {
            checkout_session: format!("cs_test_{n}"),
            step: 1,
            reason: artforge_domain::Change::Paid,
        };
        app.store
            .apply(user, &cause, Movement::Purchase(Credits::new(10)))
            .await
            .expect("granted");
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/me/credits?limit=2&cursor={c}"),
            None => "/me/credits?limit=2".to_owned(),
        };
        let page = app.call("GET", &path, Some(&token), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let items = page.json["items"].as_array().expect("items").clone();
        assert!(
            items.len() == 2 || page.json["nextCursor"].is_null(),
            "a page is full unless the data runs out"
        );
        seen.extend(
            items
                .iter()
                .map(|i| i["balanceAfter"].as_u64().expect("balance")),
        );
        match page.json["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, [43, 33, 23, 13, 3], "newest first, every entry once");

    let other = app.register("grace@example.com").await.token();
    let first_page = app
        .call("GET", "/me/credits?limit=2", Some(&token), None)
        .await;
    let ada_cursor = first_page.json["nextCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let foreign = app
        .call(
            "GET",
            &format!("/me/credits?cursor={ada_cursor}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (StatusCode::BAD_REQUEST, "invalid_cursor")
    );
    let forged = app
        .call(
            "GET",
            "/me/credits?cursor=eyJvIjoiMSJ9.AAAA",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (forged.status, forged.code()),
        (StatusCode::BAD_REQUEST, "invalid_cursor")
    );
    let truncated = &ada_cursor[..ada_cursor.len() - 4];
    let cut = app
        .call(
            "GET",
            &format!("/me/credits?cursor={truncated}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(cut.status, StatusCode::BAD_REQUEST);
    for limit in ["0", "-1", "101", "abc", "1.5"] {
        let answer = app
            .call(
                "GET",
                &format!("/me/credits?limit={limit}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "limit={limit}"
        );
        assert_eq!(answer.fields(), ["limit"]);
    }
    let unknown = app
        .call("GET", "/me/credits?color=red", Some(&token), None)
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::OK,
        "unknown query parameters are ignored here"
    );
}

#[tokio::test]
async fn renaming_changes_the_name_and_rejects_an_empty_one() {
    let app = App::new().await;
    let token = app.register("ada@example.com").await.token();
    let renamed = app
        .call(
            "PATCH",
            "/me",
            Some(&token),
            Some(r#"{"name":"  Ada Lovelace "}"#),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.json["name"], "Ada Lovelace");
    assert_eq!(
        app.call("GET", "/me", Some(&token), None).await.json["name"],
        "Ada Lovelace"
    );
    let empty = app
        .call("PATCH", "/me", Some(&token), Some(r#"{"name":"   "}"#))
        .await;
    assert_eq!(
        (empty.status, empty.fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()])
    );
    let mistyped = app
        .call("PATCH", "/me", Some(&token), Some(r#"{"name":["Ada"]}"#))
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = app
        .call("PATCH", "/me", None, Some(r#"{"name":"Eve"}"#))
        .await;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}
