//! Every sample event in `events/stripe-webhook/` runs through the billing router as API
//! Gateway would send it and answers the status its name documents. Placeholders, filled here
//! as `scripts/stripe-trigger` fills them: `__USER_ID__` (the fixture user), `__SESSION_TOKEN__`,
//! and `__STRIPE_SIGNATURE__` (a fresh signature of the final body with the webhook secret).

use crate::common::{App, SECRET, sign};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_answers_the_status_its_name_documents() {
    let events = artforge_testkit::http::sample_events("stripe-webhook");
    assert!(events.len() >= 10, "found only {} events", events.len());
    for (name, expected, text) in events {
        let (app, _) = App::with_stand_in().await;
        let (user, token) = app.user().await;
        let mut event: serde_json::Value = serde_json::from_str(&text).expect("json");
        if let Some(body) = event["body"].as_str() {
            let body = body.replace("__USER_ID__", &user.to_string());
            if event["headers"]["stripe-signature"] == "__STRIPE_SIGNATURE__" {
                event["headers"]["stripe-signature"] = sign(&body, SECRET, None).into();
            }
            event["body"] = body.into();
        }
        let text = event.to_string().replace("__SESSION_TOKEN__", &token);
        let answer = app.send(artforge_testkit::http::event_request(&text)).await;
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
