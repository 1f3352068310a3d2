//! What the limits cost in DynamoDB writes (ADR 0060), counted by the fault proxy in front of
//! moto (no faults armed): each kind of login, by its answer.

use std::collections::BTreeMap;

use artforge_testkit::faults::FaultProxy;
use axum::Router;
use http::StatusCode;
use serde_json::json;

use crate::common::{PASSWORD, config};

fn counts(proxy: &FaultProxy) -> BTreeMap<String, u64> {
    proxy
        .stats()
        .by_operation
        .into_iter()
        .map(|(operation, (seen, _))| (operation, seen))
        .collect()
}

/// The requests of each operation that `call` made, after `call` answered `status`.
async fn requests_of(
    proxy: &FaultProxy,
    router: &Router,
    path: &str,
    body: &str,
    from: &str,
    status: StatusCode,
) -> BTreeMap<String, u64> {
    let before = counts(proxy);
    let request = artforge_testkit::http::request("POST", path, None, Some(body));
    let answer =
        artforge_testkit::http::send(router, artforge_testkit::http::from_address(request, from))
            .await;
    assert_eq!(answer.status, status, "{}", answer.text);
    counts(proxy)
        .into_iter()
        .map(|(op, n)| {
            let was = before.get(&op).copied().unwrap_or(0);
            (op, n - was)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn writes(requests: &BTreeMap<String, u64>) -> u64 {
    ["UpdateItem", "PutItem", "DeleteItem"]
        .iter()
        .map(|op| {
            requests
                .get(&format!("dynamodb:{op}"))
                .copied()
                .unwrap_or(0)
        })
        .sum()
}

#[tokio::test]
async fn a_login_costs_three_writes_at_most_and_a_held_attempt_two_with_no_read() {
    let store = artforge_testkit::fresh_store().await;
    let proxy = FaultProxy::start().await;
    let router = auth::Auth::build(
        config(
            store.table(),
            "unused-bucket",
            "http://127.0.0.1:1/unused-queue",
        ),
        &proxy.sdk_config(),
    )
    .router();
    let right = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();
    let wrong = json!({"email": "ada@example.com", "password": "not the one"}).to_string();
    let (home, guesser) = ("203.0.113.1", "198.51.100.2");
    requests_of(
        &proxy,
        &router,
        "/auth/register",
        &right,
        home,
        StatusCode::CREATED,
    )
    .await;

    let success = requests_of(&proxy, &router, "/auth/login", &right, home, StatusCode::OK).await;
    assert_eq!(writes(&success), 3, "window, attempt, clear: {success:?}");
    let early = requests_of(
        &proxy,
        &router,
        "/auth/login",
        &wrong,
        guesser,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(writes(&early), 2, "window, attempt: {early:?}");
    for _ in 0..3 {
        requests_of(
            &proxy,
            &router,
            "/auth/login",
            &wrong,
            guesser,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let fifth = requests_of(
        &proxy,
        &router,
        "/auth/login",
        &wrong,
        guesser,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(writes(&fifth), 3, "window, attempt, hold: {fifth:?}");
    let held = requests_of(
        &proxy,
        &router,
        "/auth/login",
        &right,
        guesser,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(writes(&held), 2, "window, refused attempt: {held:?}");
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        ["dynamodb:UpdateItem"],
        "a held attempt reads nothing, so checks no password"
    );
}
