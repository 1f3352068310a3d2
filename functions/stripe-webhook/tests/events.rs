//! Every sample event in `events/stripe-webhook/` runs through the billing router as API
//! Gateway would send it and answers the status its name documents. Placeholders, filled here
//! as `scripts/stripe-trigger` fills them: `__USER_ID__` (the fixture user), `__SESSION_TOKEN__`,
//! and `__STRIPE_SIGNATURE__` (a fresh signature of the final body with the webhook secret).

mod common;

use common::{App, SECRET, sign};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_answers_the_status_its_name_documents() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/stripe-webhook");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("events/stripe-webhook")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "found only {} events", files.len());
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let expected: u16 = name
            .rsplit('.')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("<case>.<status>.json");
        let (app, _) = App::with_stand_in().await;
        let (user, token) = app.user().await;
        let mut event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("event")).expect("json");
        if let Some(body) = event["body"].as_str() {
            let body = body.replace("__USER_ID__", &user.to_string());
            if event["headers"]["stripe-signature"] == "__STRIPE_SIGNATURE__" {
                event["headers"]["stripe-signature"] = sign(&body, SECRET, None).into();
            }
            event["body"] = body.into();
        }
        let text = event.to_string().replace("__SESSION_TOKEN__", &token);
        let request =
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (parts, body) = request.into_parts();
        let answer = app
            .send(http::Request::from_parts(
                parts,
                axum::body::Body::from(body.to_vec()),
            ))
            .await;
        assert_eq!(answer.status.as_u16(), expected, "{name}: {}", answer.text);
        if name == "webhook-completed-paid.200" {
            assert_eq!(
                app.balance(user).await,
                53,
                "{name} grants the starter pack"
            );
        }
    }
}
