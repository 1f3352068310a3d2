//! Races on one email, against moto: the unique-email lock and the signup grant hold.

use crate::common::{App, SessionAnswer};
use http::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_registrations_of_one_email_make_exactly_one_account() {
    let app = App::new().await;
    let attempts = (0..20).map(|i| {
        let app = &app;
        // The same address in twenty spellings.
        let email = if i % 2 == 0 {
            "ada@example.com".to_owned()
        } else {
            format!("ADA@EXAMPLE.COM{}", " ".repeat(i % 3))
        };
        async move {
            let body =
                json!({"email": email, "password": format!("password number {i}")}).to_string();
            // From twenty addresses: the limit on sign-ups per address is not under test.
            let from = format!("203.0.113.{i}");
            app.call_from(&from, "POST", "/auth/register", None, Some(&body))
                .await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    let taken = answers
        .iter()
        .filter(|a| a.status == StatusCode::CONFLICT && a.code() == "email_taken")
        .count();
    assert_eq!(
        (created, taken),
        (1, 19),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );

    let items = app
        .store
        .client()
        .scan()
        .table_name(app.store.table())
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    let count = |prefix: &str, sk: &str| {
        items
            .iter()
            .filter(|i| {
                i.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with(prefix))
                    && i.get("sk")
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|s| s.starts_with(sk))
            })
            .count()
    };
    assert_eq!(count("EMAIL#", "EMAIL"), 1, "one email lock");
    assert_eq!(count("USER#", "PROFILE"), 1, "one user");
    assert_eq!(count("USER#", "LEDGER#"), 1, "one ledger entry");
    assert_eq!(count("USER#", "EFFECT#signup"), 1, "one signup guard");
    let winner = answers
        .iter()
        .find(|a| a.status == StatusCode::CREATED)
        .expect("one winner");
    let me = app.call("GET", "/me", Some(&winner.token()), None).await;
    assert_eq!(me.json["credits"], 3);
}
