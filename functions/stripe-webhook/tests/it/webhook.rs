//! The Stripe webhook: signatures, and credits granted and taken back exactly once.

use crate::common::{
    App, PREVIOUS_SECRET, SECRET, dispute_event, refund_event, session_event, sign,
};
use artforge_domain::{CreditCause, Credits, JobId, Ledger, Movement};
use http::StatusCode;

const PAID: &str = "paid";

#[tokio::test]
async fn bad_signatures_are_refused_and_change_nothing() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let body = session_event(
        "checkout.session.completed",
        "cs_sig",
        user,
        "starter",
        1000,
        PAID,
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = sign(&body, SECRET, None);
    let (t, v1) = good.split_once(",v1=").expect("t and v1");
    let bad = "ab".repeat(32);
    let refused: Vec<(&str, Option<String>, String)> = vec![
        ("missing header", None, body.clone()),
        (
            "wrong secret",
            Some(sign(&body, "whsec_attacker", None)),
            body.clone(),
        ),
        ("only v0", Some(format!("{t},v0={v1}")), body.clone()),
        (
            "tampered body",
            Some(good.clone()),
            body.replace("1000", "100000"),
        ),
        (
            "re-serialised body",
            Some(good.clone()),
            serde_json::to_string_pretty(
                &serde_json::from_str::<serde_json::Value>(&body).expect("json"),
            )
            .expect("json"),
        ),
        (
            "301 s old",
            Some(sign(&body, SECRET, Some(now - 301))),
            body.clone(),
        ),
        ("garbage", Some("t=abc,v1=zz".into()), body.clone()),
    ];
    for (case, header, payload) in refused {
        let answer = app.deliver_with(&payload, header.as_deref()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::BAD_REQUEST, "invalid_signature"),
            "{case}"
        );
    }
    assert_eq!(app.balance(user).await, 3, "nothing was granted");

    for header in [
        format!("{t},v1={bad},v1={v1}"),
        format!("{t},v1={v1},v1={bad}"),
    ] {
        assert_eq!(
            app.deliver_with(&body, Some(&header)).await.status,
            StatusCode::OK,
            "{header}"
        );
    }
    let rotated = session_event(
        "checkout.session.completed",
        "cs_rotated",
        user,
        "starter",
        1000,
        PAID,
    );
    let old_secret = sign(&rotated, PREVIOUS_SECRET, None);
    assert_eq!(
        app.deliver_with(&rotated, Some(&old_secret)).await.status,
        StatusCode::OK
    );
    assert_eq!(app.balance(user).await, 103, "two sessions, two grants");
}

#[tokio::test]
async fn one_session_delivered_ten_times_in_a_row_and_ten_at_once_grants_once() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let body = session_event(
        "checkout.session.completed",
        "cs_dup",
        user,
        "starter",
        1000,
        PAID,
    );
    for _ in 0..10 {
        let answer = app.deliver(&body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    assert_eq!(app.balance(user).await, 53);

    let burst = session_event(
        "checkout.session.completed",
        "cs_burst",
        user,
        "creator",
        3000,
        PAID,
    );
    let answers = futures::future::join_all((0..10).map(|_| app.deliver(&burst))).await;
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(app.balance(user).await, 353);
}

#[tokio::test]
async fn completed_and_async_succeeded_of_one_session_grant_once_in_any_order() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let completed =
        |s: &str| session_event("checkout.session.completed", s, user, "starter", 1000, PAID);
    let succeeded = |s: &str| {
        session_event(
            "checkout.session.async_payment_succeeded",
            s,
            user,
            "starter",
            1000,
            PAID,
        )
    };
    app.deliver(&completed("cs_a")).await;
    app.deliver(&succeeded("cs_a")).await;
    app.deliver(&succeeded("cs_b")).await;
    app.deliver(&completed("cs_b")).await;
    let (one, two) = (completed("cs_c"), succeeded("cs_c"));
    futures::future::join(app.deliver(&one), app.deliver(&two)).await;
    assert_eq!(app.balance(user).await, 153, "three sessions, three grants");
}

#[tokio::test]
async fn an_unpaid_completion_waits_and_a_failed_async_payment_grants_nothing() {
    let app = App::new().await;
    let (user, token) = app.user().await;
    app.deliver(&session_event(
        "checkout.session.completed",
        "cs_async",
        user,
        "starter",
        1000,
        "unpaid",
    ))
    .await;
    assert_eq!(app.balance(user).await, 3);
    app.deliver(&session_event(
        "checkout.session.async_payment_failed",
        "cs_async",
        user,
        "starter",
        1000,
        "unpaid",
    ))
    .await;
    assert_eq!(app.balance(user).await, 3);
    let purchases = app.get("/billing/purchases", Some(&token)).await;
    assert_eq!(
        purchases.json["items"][0]["status"], "failed",
        "{}",
        purchases.text
    );
}

#[tokio::test]
async fn a_session_whose_amount_or_currency_does_not_match_its_pack_grants_nothing() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let cheap = session_event(
        "checkout.session.completed",
        "cs_cheap",
        user,
        "creator",
        1000,
        PAID,
    );
    assert_eq!(
        app.deliver(&cheap).await.status,
        StatusCode::OK,
        "answered, so Stripe does not retry"
    );
    let euro = session_event(
        "checkout.session.completed",
        "cs_eur",
        user,
        "starter",
        1000,
        PAID,
    )
    .replace("\"usd\"", "\"eur\"");
    assert_eq!(app.deliver(&euro).await.status, StatusCode::OK);
    assert_eq!(app.balance(user).await, 3);
}

#[tokio::test]
async fn a_refund_after_spending_takes_back_to_zero_records_the_shortfall_and_counts_once() {
    let app = App::new().await;
    let (user, token) = app.user().await;
    app.deliver(&session_event(
        "checkout.session.completed",
        "cs_ref",
        user,
        "starter",
        1000,
        PAID,
    ))
    .await;
    assert_eq!(app.balance(user).await, 53);
    app.store
        .apply(
            user,
            &CreditCause::JobDebit(JobId::new()),
            Movement::Debit(Credits::new(40)),
        )
        .await
        .expect("spent");
    assert_eq!(app.balance(user).await, 13);

    let partial = refund_event("cs_ref", 1000, 300);
    assert_eq!(app.deliver(&partial).await.status, StatusCode::OK);
    assert_eq!(
        app.balance(user).await,
        0,
        "15 owed, 13 left: taken down to zero, not below"
    );
    app.deliver(&partial).await;
    assert_eq!(app.balance(user).await, 0);
    let purchase = &app.get("/billing/purchases", Some(&token)).await.json["items"][0];
    assert_eq!(purchase["status"], "refunded");
    assert_eq!(purchase["creditsRefunded"], 15);
    assert_eq!(
        purchase["creditsUnrecovered"], 2,
        "the shortfall is recorded"
    );

    app.store
        .apply(
            user,
            &CreditCause::Purchase {
                checkout_session: "cs_gift".into(),
                step: 1,
                reason: artforge_domain::Change::Paid,
            },
            Movement::Purchase(Credits::new(100)),
        )
        .await
        .expect("gift");
    assert_eq!(app.balance(user).await, 98, "the 2 owed are paid first");
    let full = refund_event("cs_ref", 1000, 1000);
    app.deliver(&full).await;
    app.deliver(&full).await;
    assert_eq!(app.balance(user).await, 63, "the rest of the 50 (35) once");
    let early = refund_event("cs_ref", 1000, 300);
    app.deliver(&early).await;
    assert_eq!(
        app.balance(user).await,
        63,
        "an older, smaller refund total takes nothing more"
    );
}

#[tokio::test]
async fn unknown_and_foreign_events_are_acknowledged_and_ignored() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let unknown = r#"{"id":"evt_x","object":"event","type":"customer.subscription.paused","data":{"object":{"id":"sub_1"}}}"#;
    assert_eq!(app.deliver(unknown).await.status, StatusCode::OK);
    let not_an_event = r#"{"hello":"world"}"#;
    assert_eq!(app.deliver(not_an_event).await.status, StatusCode::OK);
    let foreign = session_event(
        "checkout.session.completed",
        "cs_foreign",
        user,
        "no-such-pack",
        1000,
        PAID,
    );
    assert_eq!(app.deliver(&foreign).await.status, StatusCode::OK);
    let stranger_refund = refund_event("cs_unknown", 1000, 1000);
    assert_eq!(app.deliver(&stranger_refund).await.status, StatusCode::OK);
    assert_eq!(app.balance(user).await, 3);
}

#[tokio::test]
async fn packs_are_public_and_purchases_need_a_session() {
    let app = App::new().await;
    let packs = app.get("/billing/packs", None).await;
    assert_eq!(packs.status, StatusCode::OK);
    assert_eq!(
        packs.json["items"][0],
        serde_json::json!({"id": "starter", "credits": 50, "amount": 1000, "currency": "usd"})
    );
    assert_eq!(packs.json["nextCursor"], serde_json::Value::Null);
    let anonymous = app.get("/billing/purchases", None).await;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (_, token) = app.user().await;
    let bad = app.get("/billing/purchases?limit=0", Some(&token)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_store_failure_is_a_5xx_so_stripe_retries() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let broken = App::over_missing_table();
    let body = session_event(
        "checkout.session.completed",
        "cs_retry",
        user,
        "starter",
        1000,
        PAID,
    );
    let answer = broken.deliver(&body).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
    );
    assert!(
        !answer.text.contains("ResourceNotFound"),
        "no internals: {}",
        answer.text
    );
    // Stripe's retry, once the store is back, grants.
    assert_eq!(app.deliver(&body).await.status, StatusCode::OK);
    assert_eq!(app.balance(user).await, 53);
}

#[tokio::test]
async fn a_refund_and_a_dispute_before_the_grant_end_where_stripe_says() {
    let app = App::new().await;
    let (user, token) = app.user().await;
    let completed = session_event(
        "checkout.session.completed",
        "cs_late",
        user,
        "starter",
        1000,
        "paid",
    );
    // Stripe's order: the refund of 30%, a dispute of 20% opened, then the session's completion,
    // then the dispute lost; each delivered twice.
    for event in [
        refund_event("cs_late", 1000, 300),
        dispute_event(
            "charge.dispute.created",
            "cs_late",
            "dp_late",
            200,
            "needs_response",
        ),
        completed.clone(),
        dispute_event("charge.dispute.closed", "cs_late", "dp_late", 200, "lost"),
    ] {
        for _ in 0..2 {
            assert_eq!(app.deliver(&event).await.status, StatusCode::OK);
        }
    }
    assert_eq!(
        app.balance(user).await,
        3 + 25,
        "50 credits for 1000, of which 500 stay ours"
    );
    let purchase = &app.get("/billing/purchases", Some(&token)).await.json["items"][0];
    assert_eq!(purchase["status"], "disputed");
    assert_eq!(purchase["creditsRefunded"], 25);

    // A second purchase disputed after it was spent: what is left goes, the rest is owed, and
    // the dispute won gives it all back.
    let second = session_event(
        "checkout.session.completed",
        "cs_won",
        user,
        "starter",
        1000,
        "paid",
    );
    app.deliver(&second).await;
    assert_eq!(app.balance(user).await, 78);
    app.store
        .apply(
            user,
            &CreditCause::JobDebit(artforge_domain::JobId::new()),
            Movement::Debit(Credits::new(70)),
        )
        .await
        .expect("spent");
    app.deliver(&dispute_event(
        "charge.dispute.created",
        "cs_won",
        "dp_won",
        1000,
        "needs_response",
    ))
    .await;
    let wallet = app.store.wallet(user).await.expect("wallet");
    assert_eq!(
        (wallet.balance, wallet.debt),
        (Credits::ZERO, Credits::new(42))
    );
    app.deliver(&dispute_event(
        "charge.dispute.closed",
        "cs_won",
        "dp_won",
        1000,
        "won",
    ))
    .await;
    let wallet = app.store.wallet(user).await.expect("wallet");
    assert_eq!(
        (wallet.balance, wallet.debt),
        (Credits::new(8), Credits::ZERO)
    );
    let report = artforge_testkit::invariants::check_table(&app.store).await;
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

#[tokio::test]
async fn an_event_of_the_other_mode_is_acknowledged_and_changes_nothing() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let live = session_event(
        "checkout.session.completed",
        "cs_live",
        user,
        "starter",
        1000,
        "paid",
    )
    .replace("\"livemode\":false", "\"livemode\":true");
    assert_eq!(app.deliver(&live).await.status, StatusCode::OK);
    assert_eq!(
        app.balance(user).await,
        3,
        "a live event at a test-mode key"
    );
}

#[tokio::test]
async fn a_body_of_over_a_mebibyte_is_accepted_and_one_over_the_limit_refused() {
    let app = App::new().await;
    let (user, _) = app.user().await;
    let big = session_event(
        "checkout.session.completed",
        "cs_big",
        user,
        "starter",
        1000,
        "paid",
    )
    .replacen(
        "\"customer_email\"",
        &format!("\"padding\":\"{}\",\"customer_email\"", "x".repeat(3 << 20)),
        1,
    );
    assert!(big.len() > 3 << 20);
    let answer = app.deliver(&big).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(app.balance(user).await, 53);
    let huge = "x".repeat(stripe_webhook::WEBHOOK_MAX_BODY_BYTES + 1);
    assert_eq!(
        app.deliver(&huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}
