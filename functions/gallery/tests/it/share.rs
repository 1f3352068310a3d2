//! Share pages end to end over moto: the HTML of a public image, with Open Graph and Twitter
//! card tags naming a stable image URL that redirects to a fresh presigned URL.

use artforge_domain::Visibility;
use http::StatusCode;

use crate::common::{App, BASE_URL, Spec, fetch};

#[tokio::test]
async fn a_public_images_page_has_card_tags_whose_image_url_redirects_to_the_file() {
    let app = App::new().await;
    let (owner, _) = app.user().await;
    let public = app
        .image(
            owner,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await;
    let page = app
        .call("GET", &format!("/i/{}", public.id), None, None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers[http::header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let image_url = format!("{BASE_URL}/api/i/{}/image", public.id);
    for tag in [
        format!(r#"<meta property="og:image" content="{image_url}">"#),
        format!(r#"<meta name="twitter:image" content="{image_url}">"#),
        r#"<meta name="twitter:card" content="summary_large_image">"#.to_owned(),
        format!(r#"<meta property="og:title" content="{}">"#, public.prompt),
    ] {
        assert!(page.text.contains(&tag), "{tag} in {}", page.text);
    }
    let redirect = app
        .call("GET", &format!("/i/{}/image", public.id), None, None)
        .await;
    assert_eq!(redirect.status, StatusCode::FOUND);
    let location = redirect.headers[http::header::LOCATION]
        .to_str()
        .expect("a location");
    let (status, _, body) = fetch(location).await;
    assert_eq!(status, 200);
    assert_eq!(body, format!("preset of {}", public.id), "the sized file");
}

#[tokio::test]
async fn a_private_or_unknown_image_has_no_page_and_no_image() {
    let app = App::new().await;
    let (owner, _) = app.user().await;
    let private = app.image(owner, Spec::default()).await;
    for id in [
        private.id.to_string(),
        "01JF3V9Q6M8B2C4D5E6F7G8H9J".into(),
        "x".into(),
    ] {
        let page = app.call("GET", &format!("/i/{id}"), None, None).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{id}");
        assert!(!page.text.contains(&private.prompt), "nothing of it shows");
        let image = app.call("GET", &format!("/i/{id}/image"), None, None).await;
        assert_eq!(image.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(
            image.headers[http::header::CONTENT_TYPE],
            "application/problem+json",
            "{id}"
        );
    }
}

#[tokio::test]
async fn share_pages_ignore_sessions_and_take_only_get() {
    let app = App::new().await;
    let (owner, _) = app.user().await;
    let public = app
        .image(
            owner,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await;
    for path in [
        format!("/i/{}", public.id),
        format!("/i/{}/image", public.id),
    ] {
        let with_junk = app.call("GET", &path, Some("not-a-jwt"), None).await;
        assert!(
            with_junk.status.is_success() || with_junk.status.is_redirection(),
            "{path}: {}",
            with_junk.status
        );
        for method in ["POST", "PUT", "DELETE"] {
            let refused = app.call(method, &path, None, Some("{}")).await;
            assert_eq!(
                refused.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(
                refused.headers[http::header::CONTENT_TYPE],
                "application/problem+json",
                "{method} {path}"
            );
        }
    }
}
