//! Checkout through the real Stripe adapter against the local Stripe stand-in, and the
//! stand-in's "Pay" delivering a signed webhook that grants the pack once.

use crate::common::App;
use http::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_opens_a_pending_purchase_and_paying_grants_the_pack() {
    let (app, _) = App::with_stand_in().await;
    let (user, token) = app.user().await;
    let answer = app
        .post("/billing/checkout", Some(&token), r#"{"pack":"creator"}"#)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let session = answer.json["sessionId"]
        .as_str()
        .expect("session")
        .to_owned();
    let url = answer.json["url"].as_str().expect("url").to_owned();
    assert!(
        session.starts_with("cs_test_") && url.ends_with(&session),
        "{}",
        answer.text
    );

    let purchases = app.get("/billing/purchases", Some(&token)).await;
    assert_eq!(purchases.json["items"][0]["status"], "pending");
    assert_eq!(app.balance(user).await, 3, "the redirect grants nothing");

    let client = artforge_devstack::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client
        .get(&url)
        .send()
        .await
        .expect("checkout page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("30.00 USD"), "{page}");
    let paid = client.post(format!("{url}/pay")).send().await.expect("pay");
    assert_eq!(paid.status().as_u16(), 303);
    let location = paid.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(
        location,
        format!("https://artforge.example/credits?checkout=success&session_id={session}")
    );
    assert_eq!(
        app.balance(user).await,
        303,
        "the webhook granted 300 credits"
    );
    assert_eq!(
        app.get("/billing/purchases", Some(&token)).await.json["items"][0]["status"],
        "paid"
    );
}

#[tokio::test]
async fn checkout_refuses_unknown_packs_and_anonymous_callers() {
    let (app, _) = App::with_stand_in().await;
    let (_, token) = app.user().await;
    for body in [
        r#"{"pack":"platinum"}"#,
        r#"{"pack":"NOT VALID"}"#,
        r#"{"pack":5}"#,
        r#"{}"#,
        r#"{"pack":"starter","credits":1000}"#,
    ] {
        let answer = app.post("/billing/checkout", Some(&token), body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}"
        );
    }
    let anonymous = app
        .post("/billing/checkout", None, r#"{"pack":"starter"}"#)
        .await;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}

#[tokio::test]
async fn an_unreachable_stripe_is_a_502_and_records_nothing() {
    let app = App::new().await;
    let (_, token) = app.user().await;
    let answer = app
        .post("/billing/checkout", Some(&token), r#"{"pack":"starter"}"#)
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_GATEWAY, "provider_unavailable")
    );
    assert!(
        app.get("/billing/purchases", Some(&token)).await.json["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

/// Stripe's refusal (here: a price it does not know, and a wrong key) is an error carrying
/// Stripe's own message, never a page.
#[tokio::test]
async fn stripe_refusing_the_session_is_an_error_with_its_message() {
    use artforge_domain::{Pack, PaymentError, Payments, User};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let stand_in = artforge_devstack::stripe::StandIn::new(
        std::collections::HashMap::new(),
        &base,
        &format!("{base}/billing/webhook"),
        "whsec_test",
    );
    tokio::spawn(async move { axum::serve(listener, stand_in.routes()).await });
    let pack: Pack = artforge_domain::Packs::parse("starter:50:1000:usd:price_unknown")
        .expect("packs")
        .iter()
        .next()
        .expect("a pack")
        .clone();
    let user = User {
        id: artforge_domain::UserId::new(),
        email: artforge_domain::Email::parse("ada@example.com").expect("email"),
        name: None,
        credits: artforge_domain::Credits::new(0),
        token_version: 0,
        created_at: time::OffsetDateTime::now_utc(),
    };
    for key in ["sk_test_key", "not-a-key"] {
        let checkout = stripe_webhook::checkout::StripeCheckout::new(
            key,
            &format!("{base}/"),
            format!("{base}/ok"),
            format!("{base}/cancel"),
        )
        .expect("client");
        match checkout.checkout(&user, &pack).await {
            Err(PaymentError::Unavailable(e)) => {
                let text = e.to_string();
                let expected = match key {
                    "sk_test_key" => "Stripe answered 400: No such price",
                    _ => "Stripe answered 401: Invalid API Key provided",
                };
                assert!(text.contains(expected), "{text}");
            }
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_users_checkouts_past_thirty_a_minute_are_rate_limited() {
    // Stripe is unreachable here: the admitted checkouts fail at Stripe, after being counted.
    let app = App::new().await;
    let (_, token) = app.user().await;
    let mut admitted = 0;
    let limited = loop {
        let answer = app
            .post("/billing/checkout", Some(&token), r#"{"pack":"creator"}"#)
            .await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            break answer;
        }
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text);
        admitted += 1;
        // Thirty a minute, and a minute may turn once during the loop.
        assert!(admitted <= 60, "never limited");
    };
    assert!(admitted >= 30, "limited after {admitted}");
    assert_eq!(limited.code(), "rate_limited", "{}", limited.text);
    let retry_after: u64 = limited.headers[http::header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
}
