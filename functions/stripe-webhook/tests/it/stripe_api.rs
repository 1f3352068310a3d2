//! The Stripe adapter (`async-stripe`'s client) against the local Stripe stand-in: sessions
//! retrieved as they stand, a payment whose webhook is lost, Stripe's 404, unknown enum values
//! in Stripe's answer, and a Stripe too slow to wait for.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use artforge_devstack::stripe::{Price, StandIn};
use artforge_domain::{Pack, PaymentError, Payments, SessionState, User};
use axum::{Router, routing::get};
use http::StatusCode;
use stripe_webhook::checkout::StripeCheckout;

use crate::common::App;

/// A listener on a free loopback port and its base URL (no trailing `/`).
async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    (listener, base)
}

/// The stand-in on a port of its own, knowing `price_s` (10.00 USD); its webhook goes nowhere.
async fn stand_in() -> String {
    let (listener, base) = listen().await;
    let prices = HashMap::from([(
        "price_s".to_owned(),
        Price {
            amount: 1000,
            currency: "usd".into(),
        },
    )]);
    let stand_in = StandIn::new(prices, &base, "http://127.0.0.1:9/billing/webhook", "whsec");
    tokio::spawn(async move { axum::serve(listener, stand_in.routes()).await });
    base
}

fn adapter(base: &str) -> StripeCheckout {
    StripeCheckout::new(
        "sk_test_stand_in",
        &format!("{base}/"),
        "https://artforge.example/credits?session_id={CHECKOUT_SESSION_ID}".into(),
        "https://artforge.example/credits".into(),
    )
    .expect("client")
}

fn user() -> User {
    User {
        id: artforge_domain::UserId::new(),
        email: artforge_domain::Email::parse("ada@example.com").expect("email"),
        name: None,
        credits: artforge_domain::Credits::new(0),
        token_version: 0,
        created_at: time::OffsetDateTime::now_utc(),
    }
}

fn starter() -> Pack {
    artforge_domain::Packs::parse("starter:50:1000:usd:price_s")
        .expect("packs")
        .iter()
        .next()
        .expect("a pack")
        .clone()
}

/// A plain client that does not follow the stand-in's redirects.
fn browser() -> reqwest::Client {
    artforge_devstack::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_retrieved_session_is_unpaid_until_paid_and_names_its_user_pack_and_amount() {
    let base = stand_in().await;
    let stripe = adapter(&base);
    let (user, pack) = (user(), starter());
    let page = stripe.checkout(&user, &pack).await.expect("checkout");

    let open = stripe.session(&page.session_id).await.expect("retrieve");
    let expected = SessionState {
        id: page.session_id.clone(),
        paid: false,
        payment_intent: None,
        amount_total: Some(1000),
        currency: Some("usd".into()),
        user: Some(user.id.to_string()),
        pack: Some("starter".into()),
    };
    assert_eq!(open, Some(expected.clone()));

    let paid = browser()
        .post(format!("{}/pay?webhook=none", page.url))
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        paid.headers()["location"],
        format!(
            "https://artforge.example/credits?session_id={}",
            page.session_id
        )
        .as_str(),
        "the customer is sent back as after any payment"
    );

    let now = stripe
        .session(&page.session_id)
        .await
        .expect("retrieve")
        .expect("known");
    let intent = now
        .payment_intent
        .clone()
        .expect("a payment intent once paid");
    assert!(intent.starts_with("pi_test_"), "{intent}");
    assert_eq!(
        now,
        SessionState {
            paid: true,
            payment_intent: Some(intent),
            ..expected
        }
    );
}

/// The same contract `FakePayments` keeps (`artforge_fakes::contract`), so the use cases'
/// fake cannot drift from Stripe's adapter; "paying" is the stand-in's lost-webhook payment.
#[tokio::test]
async fn the_stripe_adapter_keeps_the_payment_providers_contract() {
    let base = stand_in().await;
    artforge_fakes::contract::a_checkout_session_is_reported_as_it_stands(&adapter(&base), |id| {
        let pay = format!("{base}/stripe/checkout/{id}/pay?webhook=none");
        async move {
            let paid = browser().post(pay).send().await.expect("pay");
            assert_eq!(paid.status(), StatusCode::SEE_OTHER);
        }
    })
    .await;
}

/// The lost webhook of DESIGN §8, end to end: the stand-in takes the payment and tells the
/// billing function nothing, so only a retrieval can see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_webhook_leaves_the_purchase_pending_until_the_return_page_asks_stripe() {
    let (app, stand_in_url) = App::with_stand_in().await;
    let (user, token) = app.user().await;
    let answer = app
        .post("/billing/checkout", Some(&token), r#"{"pack":"starter"}"#)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let session = answer.json["sessionId"]
        .as_str()
        .expect("session")
        .to_owned();
    let url = answer.json["url"].as_str().expect("url").to_owned();

    let paid = browser()
        .post(format!("{url}/pay?webhook=none"))
        .send()
        .await
        .expect("pay");
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);

    assert_eq!(app.balance(user).await, 3, "no webhook, no credits");
    assert_eq!(
        app.get("/billing/purchases", Some(&token)).await.json["items"][0]["status"],
        "pending"
    );
    let reported = adapter(&stand_in_url)
        .session(&session)
        .await
        .expect("retrieve")
        .expect("known");
    assert!(reported.paid, "{reported:?}");
    assert_eq!(reported.user, Some(user.to_string()));

    // The return page asks for the purchase: Stripe says paid, so it is credited now.
    let looked_up = app
        .get(&format!("/billing/purchases/{session}"), Some(&token))
        .await;
    assert_eq!(looked_up.status, StatusCode::OK, "{}", looked_up.text);
    assert_eq!(looked_up.json["status"], "paid");
    assert_eq!(looked_up.json["confirmedWithStripe"], true);
    assert_eq!(app.balance(user).await, 53);
    // The webhook after all (late, not lost): nothing more.
    let intent = reported.payment_intent.expect("paid with an intent");
    let late = crate::common::session_event(
        "checkout.session.completed",
        &session,
        user,
        "starter",
        1000,
        "paid",
    )
    .replace(&format!("pi_{session}"), &intent);
    assert_eq!(app.deliver(&late).await.status, StatusCode::OK);
    assert_eq!(app.balance(user).await, 53, "granted once");
    // Someone else's session is nobody's business.
    let (_, stranger) = app.user().await;
    let foreign = app
        .get(&format!("/billing/purchases/{session}"), Some(&stranger))
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.text);
}

#[tokio::test]
async fn the_stand_in_refuses_any_other_webhook_choice() {
    let base = stand_in().await;
    let page = adapter(&base)
        .checkout(&user(), &starter())
        .await
        .expect("checkout");
    let refused = browser()
        .post(format!("{}/pay?webhook=later", page.url))
        .send()
        .await
        .expect("pay");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let session = adapter(&base)
        .session(&page.session_id)
        .await
        .expect("retrieve")
        .expect("known");
    assert!(!session.paid, "a refused payment changes nothing");
}

#[tokio::test]
async fn a_session_stripe_does_not_know_is_none_and_a_malformed_id_never_reaches_stripe() {
    let base = stand_in().await;
    let stripe = adapter(&base);
    assert_eq!(
        stripe.session("cs_test_never_opened").await.expect("a 404"),
        None
    );
    // A path that would reach another endpoint if it were sent: answered without a call.
    let (listener, nowhere) = listen().await;
    drop(listener);
    let unreachable = adapter(&nowhere);
    for id in ["../../v1/customers", "cs_1?expand[]=x", ""] {
        assert_eq!(unreachable.session(id).await.expect(id), None, "{id}");
    }
    assert!(matches!(
        unreachable.session("cs_test_1").await,
        Err(PaymentError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_wrong_key_is_stripes_refusal_with_its_message_not_an_unknown_session() {
    let base = stand_in().await;
    let wrong = StripeCheckout::new(
        "not-a-key",
        &format!("{base}/"),
        "https://artforge.example/ok".into(),
        "https://artforge.example/cancel".into(),
    )
    .expect("client");
    match wrong.session("cs_test_1").await {
        Err(PaymentError::Unavailable(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("Stripe answered 401: Invalid API Key provided"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The stand-in's answer for a session it opened, as JSON to edit.
async fn stand_ins_session(base: &str) -> serde_json::Value {
    let page = adapter(base)
        .checkout(&user(), &starter())
        .await
        .expect("checkout");
    let answer = browser()
        .get(format!("{base}/v1/checkout/sessions/{}", page.session_id))
        .bearer_auth("sk_test_stand_in")
        .send()
        .await
        .expect("retrieve")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&answer).expect("json")
}

/// A Stripe that answers every retrieval with `session`.
async fn stripe_answering(session: &serde_json::Value) -> String {
    let body = session.to_string();
    let (listener, base) = listen().await;
    let stripe = Router::new().route(
        "/v1/checkout/sessions/{id}",
        get(move || async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }),
    );
    tokio::spawn(async move { axum::serve(listener, stripe).await });
    base
}

/// Values newer than the client's model (a status, a mode, a payment status, a currency, a UI
/// mode it does not know, and a field it has never heard of) are read as unknown, not refused.
#[tokio::test]
async fn unknown_values_in_stripes_answer_do_not_fail_the_retrieval() {
    let mut session = stand_ins_session(&stand_in().await).await;
    session["status"] = "reticulating".into();
    session["mode"] = "barter".into();
    session["payment_status"] = "partially_paid".into();
    session["currency"] = "xts".into();
    session["ui_mode"] = "holographic".into();
    session["a_field_from_2030"] = serde_json::json!({"nested": [1, 2, 3]});
    let id = session["id"].as_str().expect("id").to_owned();
    let newer = stripe_answering(&session).await;

    let read = adapter(&newer)
        .session(&id)
        .await
        .expect("parsed despite the unknown values")
        .expect("known");
    assert!(!read.paid, "an unknown payment status is not paid");
    assert_eq!(read.currency.as_deref(), Some("xts"));
    assert_eq!(read.pack.as_deref(), Some("starter"));
}

/// The other side of the typed model: a field it requires (here `payment_status`, or
/// `automatic_tax`, which the use cases never read) missing from the answer is an error, not
/// a session.
#[tokio::test]
async fn a_session_missing_a_field_the_model_requires_is_an_unavailable_provider() {
    let session = stand_ins_session(&stand_in().await).await;
    let id = session["id"].as_str().expect("id").to_owned();
    for field in ["payment_status", "automatic_tax"] {
        let mut without = session.clone();
        without.as_object_mut().expect("an object").remove(field);
        let stripe = stripe_answering(&without).await;
        let answer = adapter(&stripe).session(&id).await;
        assert!(
            matches!(answer, Err(PaymentError::Unavailable(ref e)) if e.to_string().contains("deserializ")),
            "{field}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn a_stripe_that_does_not_answer_in_time_is_an_error_not_a_hung_request() {
    let (listener, slow) = listen().await;
    let never = Router::new().route(
        "/v1/checkout/sessions/{id}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "{}"
        }),
    );
    tokio::spawn(async move { axum::serve(listener, never).await });
    let stripe = StripeCheckout::with_timeout(
        "sk_test_stand_in",
        &format!("{slow}/"),
        "https://artforge.example/ok".into(),
        "https://artforge.example/cancel".into(),
        Duration::from_millis(300),
    )
    .expect("client");
    let started = Instant::now();
    let answer = stripe.session("cs_test_slow").await;
    assert!(
        matches!(answer, Err(PaymentError::Unavailable(ref e)) if e.to_string().contains("timeout")),
        "{answer:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stripe_webhook::checkout::TIMEOUT, Duration::from_secs(10));
}
