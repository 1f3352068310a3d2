//! Every sample event in `events/gallery/` runs through the gallery router as API Gateway would
//! send it, and answers the status its file name documents (`<case>.<status>.json`). Each runs
//! against a fresh table and bucket holding the fixture its placeholders name, as
//! `scripts/fill-event` fills them from the running local stack: the signed-in user's private
//! image `__IMAGE_ID__` tagged `sea`, another user's private image
//! `__FOREIGN_PRIVATE_IMAGE_ID__` and public image `__FOREIGN_PUBLIC_IMAGE_ID__`.

use artforge_domain::Visibility;

use crate::common::{App, Spec};

/// The event with its placeholders filled from a fresh fixture.
async fn filled(app: &App, event: &str) -> String {
    let (ada, token) = app.user().await;
    let (grace, _) = app.user().await;
    let own = app
        .image(
            ada,
            Spec {
                tags: &["sea"],
                ..Spec::default()
            },
        )
        .await;
    let private = app.image(grace, Spec::default()).await;
    let public = app
        .image(
            grace,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await;
    event
        .replace("__SESSION_TOKEN__", &token)
        .replace("__IMAGE_ID__", &own.id.to_string())
        .replace("__FOREIGN_PRIVATE_IMAGE_ID__", &private.id.to_string())
        .replace("__FOREIGN_PUBLIC_IMAGE_ID__", &public.id.to_string())
}

#[tokio::test]
async fn every_sample_event_answers_the_status_its_name_documents() {
    let events = artforge_testkit::http::sample_events("gallery");
    assert!(events.len() >= 25, "found only {} events", events.len());
    for (name, expected, text) in events {
        let app = App::new().await;
        let request = artforge_testkit::http::event_request(&filled(&app, &text).await);
        let answer = app.send(request).await;
        assert_eq!(answer.status.as_u16(), expected, "{name}: {}", answer.text);
        if name.contains("search") && expected == 200 {
            // The fixture's images are "a lighthouse at dusk, square", own and public.
            assert_eq!(
                answer.json["items"].as_array().map(Vec::len),
                Some(1),
                "{name}: finds the fixture's image"
            );
        }
        if name.starts_with("share-page") {
            // Share pages answer HTML, a 404 included (crawlers and people read them).
            assert!(
                answer.headers[http::header::CONTENT_TYPE]
                    .to_str()
                    .is_ok_and(|t| t.starts_with("text/html")),
                "{name}"
            );
        } else if expected >= 400 {
            assert_eq!(
                answer.headers[http::header::CONTENT_TYPE],
                "application/problem+json",
                "{name}"
            );
            assert!(
                answer.json["requestId"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("Gw")),
                "{name}"
            );
        }
    }
}
