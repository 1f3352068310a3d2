//! Every sample event in `events/auth/` runs through the auth router as API Gateway would send
//! it (parsed by `lambda_http`), and answers the status its file name documents:
//! `<case>.<status>.json`. Events that need a session carry `__SESSION_TOKEN__`, replaced here by
//! a token of the fixture user `ada@example.com` (password `correct horse battery`).

use crate::common::{App, SessionAnswer};

const PLACEHOLDER: &str = "__SESSION_TOKEN__";

#[tokio::test]
async fn every_sample_event_answers_the_status_its_name_documents() {
    let events = artforge_testkit::http::sample_events("auth");
    assert!(events.len() >= 20, "found only {} events", events.len());
    for (name, expected, text) in events {
        // A fresh table per event: the events do not depend on each other's effects.
        let app = App::new().await;
        let token = app.register("ada@example.com").await.token();
        let request = artforge_testkit::http::event_request(&text.replace(PLACEHOLDER, &token));
        let answer = app.send(request).await;
        assert_eq!(answer.status.as_u16(), expected, "{name}: {}", answer.text);
        if expected >= 400 {
            assert_eq!(
                answer.headers[http::header::CONTENT_TYPE],
                "application/problem+json",
                "{name}"
            );
            assert!(
                answer.json["requestId"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("Nw")),
                "{name}: API Gateway's request id is used"
            );
        }
    }
}
