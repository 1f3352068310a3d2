//! Every sample event in `events/gallery/` runs through the gallery router as API Gateway would
//! send it, and answers the status its file name documents (`<case>.<status>.json`). Each runs
//! against a fresh table and bucket holding the fixture: the signed-in user's private image
//! `…A` tagged `sea`, another user's private image `…B` and public image `…C`.

use artforge_domain::{Image, ImageId, Images, UserId, Variant, Visibility};

use crate::common::{App, Spec};

const PLACEHOLDER: &str = "__SESSION_TOKEN__";
const OWN: &str = "01JARTF0RGE00000000000000A";
const OTHER_PRIVATE: &str = "01JARTF0RGE00000000000000B";
const OTHER_PUBLIC: &str = "01JARTF0RGE00000000000000C";

/// Re-records `image` under a fixed id, with its files.
async fn with_id(app: &App, image: Image, id: &str) {
    app.store
        .forget(image.owner, image.id)
        .await
        .expect("forget");
    let fixed = Image {
        id: id.parse::<ImageId>().expect("ulid"),
        ..image
    };
    for variant in Variant::ALL {
        app.files
            .put(
                &fixed.object_key(*variant),
                b"fixture".to_vec(),
                fixed.content_type(*variant),
            )
            .await
            .expect("upload");
    }
    app.store.add(&fixed).await.expect("add");
}

async fn fixture(app: &App) -> (UserId, String) {
    let (ada, token) = app.user().await;
    let (grace, _) = app.user().await;
    with_id(
        app,
        app.image(
            ada,
            Spec {
                tags: &["sea"],
                ..Spec::default()
            },
        )
        .await,
        OWN,
    )
    .await;
    with_id(app, app.image(grace, Spec::default()).await, OTHER_PRIVATE).await;
    with_id(
        app,
        app.image(
            grace,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await,
        OTHER_PUBLIC,
    )
    .await;
    (ada, token)
}

#[tokio::test]
async fn every_sample_event_answers_the_status_its_name_documents() {
    let events = artforge_testkit::http::sample_events("gallery");
    assert!(events.len() >= 25, "found only {} events", events.len());
    for (name, expected, text) in events {
        let app = App::new().await;
        let (_, token) = fixture(&app).await;
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
                    .is_some_and(|id| id.starts_with("Gw")),
                "{name}"
            );
        }
    }
}
