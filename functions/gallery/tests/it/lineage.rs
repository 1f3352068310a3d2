//! An image made by an edit or a remix shows where it came from, to its owner and, once public,
//! to everyone (DESIGN §10): `GET /images/{id}` and `GET /public/images/{id}`.

use artforge_domain::{
    Image, ImageId, Images, UploadId, Visibility,
    edit::{Lineage, SourceRef},
};
use http::StatusCode;

use crate::common::{App, Spec};

#[tokio::test]
async fn an_edited_remix_shows_what_it_remixes_and_the_image_it_was_edited_from() {
    let app = App::new().await;
    let (ada, ada_token) = app.user().await;
    let (_, eve) = app.user().await;
    let first = app.image(ada, Spec::default()).await;
    // Recorded as the worker records an edit's image (its files are not needed to view it).
    let made = Image {
        id: ImageId::new(),
        lineage: Lineage {
            edited_from: Some(SourceRef::Image(first.id)),
            remix_of: Some(first.id),
        },
        ..first.clone()
    };
    app.store.add(&made).await.expect("recorded");

    let own = app.get(&format!("/images/{}", made.id), &ada_token).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert_eq!(own.json["remixOf"], first.id.to_string());
    assert_eq!(own.json["editedFrom"], first.id.to_string());
    assert_eq!(own.json["edited"], true);
    let plain = app.get(&format!("/images/{}", first.id), &ada_token).await;
    assert_eq!(plain.json["edited"], false);
    assert!(plain.json["remixOf"].is_null() && plain.json["editedFrom"].is_null());

    app.store
        .update(ada, made.id, None, Some(Visibility::Public))
        .await
        .expect("public");
    let shared = app
        .call("GET", &format!("/public/images/{}", made.id), None, None)
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.text);
    assert_eq!(shared.json["remixOf"], first.id.to_string());
    let theirs = app.get(&format!("/images/{}", made.id), &eve).await;
    assert_eq!(theirs.json["edited"], true);

    // An edit of an upload: edited, but an upload id is nobody's business a day later.
    let from_upload = Image {
        id: ImageId::new(),
        lineage: Lineage {
            edited_from: Some(SourceRef::Upload(UploadId::new())),
            remix_of: None,
        },
        ..first.clone()
    };
    app.store.add(&from_upload).await.expect("recorded");
    let answer = app
        .get(&format!("/images/{}", from_upload.id), &ada_token)
        .await;
    assert_eq!(answer.json["edited"], true);
    assert!(answer.json["editedFrom"].is_null(), "{}", answer.text);
}
