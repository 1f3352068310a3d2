//! The gallery routes end to end: the real router, DynamoDB and S3 adapters, moto underneath.

use artforge_domain::{Preset, Tier, Visibility};
use http::{StatusCode, header};
use serde_json::json;

use crate::common::{App, BASE_URL, Spec, fetch};

#[tokio::test]
async fn history_lists_own_images_newest_first_with_urls_that_fetch_the_files() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let (grace, _) = app.user().await;
    let first = app.image(ada, Spec::default()).await;
    let second = app
        .image(
            ada,
            Spec {
                preset: Preset::Story,
                ..Spec::default()
            },
        )
        .await;
    app.image(grace, Spec::default()).await;

    let answer = app.get("/images", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.ids(), [second.id.to_string(), first.id.to_string()]);
    assert_eq!(answer.json["nextCursor"], serde_json::Value::Null);
    let item = &answer.json["items"][0];
    assert_eq!(
        (
            item["preset"].as_str(),
            item["width"].as_u64(),
            item["height"].as_u64()
        ),
        (Some("story"), Some(1080), Some(1920))
    );
    assert_eq!(item["likedByMe"], false);
    assert_eq!(item["jobId"], second.job.to_string());
    assert!(
        item["urls"]["original"].is_null(),
        "lists carry no original URL"
    );
    let (status, _, body) = fetch(item["urls"]["image"].as_str().expect("url")).await;
    assert_eq!((status, body), (200, format!("preset of {}", second.id)));
    let (status, _, body) = fetch(item["urls"]["thumbnail"].as_str().expect("url")).await;
    assert_eq!((status, body), (200, format!("thumbnail of {}", second.id)));

    let one = app.get(&format!("/images/{}", first.id), &token).await;
    assert_eq!(one.status, StatusCode::OK);
    let (status, _, body) = fetch(one.json["urls"]["original"].as_str().expect("url")).await;
    assert_eq!((status, body), (200, format!("original of {}", first.id)));
}

#[tokio::test]
async fn filters_combine_and_a_page_is_full_even_when_they_drop_most_images() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let mut wanted = Vec::new();
    for i in 0..40 {
        let spec = match i % 10 {
            0 => Spec {
                tier: Tier::V3,
                preset: Preset::Story,
                tags: &["sea"],
                ..Spec::default()
            },
            1 => Spec {
                tier: Tier::V3,
                preset: Preset::Story,
                ..Spec::default()
            },
            2 => Spec {
                tier: Tier::V2,
                preset: Preset::Story,
                tags: &["sea"],
                ..Spec::default()
            },
            _ => Spec::default(),
        };
        let image = app.image(ada, spec).await;
        if i % 10 == 0 {
            wanted.push(image.id.to_string());
        }
    }
    wanted.reverse();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/images?model=v3&preset=story&tag=SEA&limit=3{cursor}"),
                &token,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let ids = page.ids();
        match page.json["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(ids.len(), 3, "a page with a next cursor is full");
                cursor = format!("&cursor={next}");
            }
            None => {
                seen.extend(ids);
                break;
            }
        }
        seen.extend(ids);
    }
    assert_eq!(seen, wanted);
    let by_tier = app.get("/images?model=v2&limit=100", &token).await;
    assert_eq!(by_tier.ids().len(), 32);
}

#[tokio::test]
async fn bad_filters_limits_and_cursors_are_refused() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let (_, other) = app.user().await;
    for _ in 0..3 {
        app.image(ada, Spec::default()).await;
    }
    for query in [
        "limit=0",
        "limit=-1",
        "limit=101",
        "limit=abc",
        "model=v4",
        "preset=Square",
        "tag=two%20words",
        "liked=yes",
        "colour=red",
    ] {
        let answer = app.get(&format!("/images?{query}"), &token).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{query}"
        );
    }
    let page = app.get("/images?limit=1", &token).await;
    let cursor = page.json["nextCursor"].as_str().expect("more").to_owned();
    let cut = &cursor[..cursor.len() - 2];
    for (who, query) in [
        (&other, format!("cursor={cursor}")),
        (&token, format!("cursor={cut}")),
        (&token, "cursor=e30.AAAA".to_owned()),
        (&token, format!("cursor={cursor}&liked=true")),
    ] {
        let answer = app.get(&format!("/images?{query}"), who).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::BAD_REQUEST, "invalid_cursor"),
            "{query}"
        );
    }
    assert_eq!(
        app.call("GET", "/images", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn another_users_private_image_is_not_found_for_every_route_and_no_url_is_issued() {
    let app = App::new().await;
    let (ada, _) = app.user().await;
    let (_, eve) = app.user().await;
    let image = app.image(ada, Spec::default()).await;
    let id = image.id;
    let tries = [
        ("GET", format!("/images/{id}"), None),
        (
            "PATCH",
            format!("/images/{id}"),
            Some(r#"{"tags":["mine"]}"#),
        ),
        ("PUT", format!("/images/{id}/like"), None),
        ("DELETE", format!("/images/{id}/like"), None),
        ("GET", format!("/images/{id}/download"), None),
        ("DELETE", format!("/images/{id}"), None),
        ("GET", format!("/public/images/{id}"), None),
        ("GET", "/images/not-an-id".to_owned(), None),
    ];
    for (method, path, body) in tries {
        let answer = app.call(method, &path, Some(&eve), body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {path}"
        );
        assert!(
            answer.headers.get(header::LOCATION).is_none()
                && !answer.text.contains("X-Amz-Signature")
        );
    }
    assert_eq!(app.objects(&image).await.len(), 3, "nothing was deleted");
    let unchanged = artforge_domain::Images::image(&app.store, ada, id)
        .await
        .expect("read")
        .expect("still there");
    assert_eq!((unchanged.likes, unchanged.tags.is_empty()), (0, true));
}

#[tokio::test]
async fn a_public_image_can_be_read_and_liked_by_others_but_never_changed_or_deleted() {
    let app = App::new().await;
    let (ada, _) = app.user().await;
    let (_, grace) = app.user().await;
    let image = app
        .image(
            ada,
            Spec {
                visibility: Visibility::Public,
                tags: &["sea"],
                ..Spec::default()
            },
        )
        .await;
    let path = format!("/images/{}", image.id);
    let seen = app.get(&path, &grace).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(
        seen.json["jobId"].is_null(),
        "another user's job id is not shown"
    );
    let liked = app
        .call("PUT", &format!("{path}/like"), Some(&grace), None)
        .await;
    assert_eq!(
        (liked.status, liked.json["likes"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let patch = app
        .call(
            "PATCH",
            &path,
            Some(&grace),
            Some(r#"{"visibility":"private"}"#),
        )
        .await;
    assert_eq!(patch.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.call("DELETE", &path, Some(&grace), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.objects(&image).await.len(), 3);
    let download = app
        .call("GET", &format!("{path}/download"), Some(&grace), None)
        .await;
    assert_eq!(download.status, StatusCode::FOUND);
}

#[tokio::test]
async fn tags_and_visibility_change_and_bad_values_are_named() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let image = app.image(ada, Spec::default()).await;
    let path = format!("/images/{}", image.id);
    let answer = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(r#"{"tags":[" Sunset ","sunset","Beach"],"visibility":"public"}"#),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["tags"], json!(["sunset", "beach"]));
    assert_eq!(answer.json["visibility"], "public");
    let share = &answer.json["share"];
    assert_eq!(share["page"], format!("{BASE_URL}/api/i/{}", image.id));
    for network in ["x", "facebook", "pinterest", "reddit"] {
        let link = share[network].as_str().expect("link");
        assert!(
            link.starts_with("https://") && link.contains("artforge.example%2Fapi%2Fi%2F"),
            "{network}: {link}"
        );
    }
    let bad = [
        (r#"{"tags":["two words"]}"#, "tags"),
        (r#"{"tags":"sunset"}"#, "tags"),
        (r#"{"visibility":"friends"}"#, "visibility"),
        (r#"{"owner":"me"}"#, "owner"),
        // Found by schemathesis: an array of the fields was read as the struct (200).
        ("[null, null]", "body"),
        (r#"[["sunset"], "public"]"#, "body"),
    ];
    for (body, field) in bad {
        let answer = app.call("PATCH", &path, Some(&token), Some(body)).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.json["errors"][0]["field"], field, "{body}");
    }
    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let answer = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(&json!({"tags": eleven}).to_string()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let private = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(r#"{"visibility":"private"}"#),
        )
        .await;
    assert_eq!(
        (
            private.json["visibility"].as_str(),
            private.json["share"].is_null()
        ),
        (Some("private"), true)
    );

    app.image(
        ada,
        Spec {
            tags: &["beach", "night"],
            ..Spec::default()
        },
    )
    .await;
    let tags = app.get("/tags", &token).await;
    assert_eq!(
        tags.json["items"],
        json!([{"tag": "beach", "count": 2}, {"tag": "night", "count": 1}, {"tag": "sunset", "count": 1}])
    );
    assert_eq!(app.get("/images?tag=beach", &token).await.ids().len(), 2);
}

#[tokio::test]
async fn a_download_redirects_to_an_attachment_with_a_meaningful_name() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let image = app
        .image(
            ada,
            Spec {
                preset: Preset::Landscape,
                ..Spec::default()
            },
        )
        .await;
    for (variant, name, content_type) in [
        (
            "preset",
            format!(
                "artforge-landscape-{}.jpeg",
                image.id.to_string().to_lowercase()
            ),
            "image/jpeg",
        ),
        (
            "original",
            format!(
                "artforge-landscape-{}-original.png",
                image.id.to_string().to_lowercase()
            ),
            "image/png",
        ),
        (
            "thumbnail",
            format!(
                "artforge-landscape-{}-thumbnail.jpeg",
                image.id.to_string().to_lowercase()
            ),
            "image/jpeg",
        ),
    ] {
        let answer = app
            .get(
                &format!("/images/{}/download?variant={variant}", image.id),
                &token,
            )
            .await;
        assert_eq!(answer.status, StatusCode::FOUND, "{variant}");
        let location = answer.headers[header::LOCATION].to_str().expect("ascii");
        assert!(
            location.contains(&format!("attachment%3B%20filename%3D%22{name}%22")),
            "{location}"
        );
        let (status, headers, body) = fetch(location).await;
        assert_eq!(status, 200);
        assert_eq!(body, format!("{variant} of {}", image.id));
        assert_eq!(headers["content-type"], content_type, "{variant}");
        assert_eq!(
            headers["content-disposition"],
            format!("attachment; filename=\"{name}\"")
        );
    }
    let bad = app
        .get(
            &format!("/images/{}/download?variant=huge", image.id),
            &token,
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
}

#[tokio::test]
async fn delete_removes_metadata_and_every_file_and_a_second_delete_is_not_found() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let (_, grace) = app.user().await;
    let image = app
        .image(
            ada,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await;
    let kept = app.image(ada, Spec::default()).await;
    app.call(
        "PUT",
        &format!("/images/{}/like", image.id),
        Some(&grace),
        None,
    )
    .await;
    let path = format!("/images/{}", image.id);
    assert_eq!(
        app.call("DELETE", &path, Some(&token), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(app.objects(&image).await.is_empty(), "every file is gone");
    assert_eq!(
        app.objects(&kept).await.len(),
        3,
        "other images keep theirs"
    );
    assert_eq!(app.get(&path, &token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.call("DELETE", &path, Some(&token), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/images", &token).await.ids(),
        [kept.id.to_string()]
    );
    assert!(app.call("GET", "/feed", None, None).await.ids().is_empty());
    assert_eq!(
        app.call("GET", &format!("/public/images/{}", image.id), None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.get("/images?liked=true", &grace).await.ids().is_empty(),
        "a deleted image leaves the liked list"
    );
}

#[tokio::test]
async fn the_feed_and_share_pages_show_public_images_to_anyone_without_private_data() {
    let app = App::new().await;
    let (ada, ada_token) = app.user().await;
    let (grace, _) = app.user().await;
    let public_ada = app
        .image(
            ada,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await;
    app.image(ada, Spec::default()).await;
    let public_grace = app
        .image(
            grace,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await;

    let feed = app.call("GET", "/feed", None, None).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.text);
    assert_eq!(
        feed.ids(),
        [public_grace.id.to_string(), public_ada.id.to_string()]
    );
    // The owner's opaque id is part of the files' keys (DESIGN §4), so only the URLs carry it.
    let mut without_urls = feed.json.clone();
    for item in without_urls["items"].as_array_mut().expect("items") {
        item["urls"] = serde_json::Value::Null;
    }
    let text = without_urls.to_string();
    assert!(
        !text.contains("@example.com") && !text.contains(&ada.to_string()),
        "no owner data: {text}"
    );
    assert!(feed.json["items"][0]["jobId"].is_null());

    let page = app
        .call(
            "GET",
            &format!("/public/images/{}", public_ada.id),
            None,
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.json["share"]["x"].as_str().is_some());

    app.call(
        "PATCH",
        &format!("/images/{}", public_ada.id),
        Some(&ada_token),
        Some(r#"{"visibility":"private"}"#),
    )
    .await;
    assert_eq!(
        app.call("GET", "/feed", None, None).await.ids(),
        [public_grace.id.to_string()]
    );
    assert_eq!(
        app.call(
            "GET",
            &format!("/public/images/{}", public_ada.id),
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    let one = app.call("GET", "/feed?limit=1", None, None).await;
    assert!(
        one.json["nextCursor"].is_null(),
        "one public image left: {}",
        one.text
    );
    assert_eq!(
        app.call("GET", "/feed?limit=0", None, None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.call("GET", "/feed?cursor=forged.cursor", None, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_liked_list_is_newest_like_first_and_filterable() {
    let app = App::new().await;
    let (ada, token) = app.user().await;
    let (grace, _) = app.user().await;
    let own = app.image(ada, Spec::default()).await;
    let theirs = app
        .image(
            grace,
            Spec {
                visibility: Visibility::Public,
                preset: Preset::Story,
                ..Spec::default()
            },
        )
        .await;
    let not_liked = app.image(ada, Spec::default()).await;
    for image in [&theirs, &own] {
        let answer = app
            .call(
                "PUT",
                &format!("/images/{}/like", image.id),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    let liked = app.get("/images?liked=true", &token).await;
    assert_eq!(liked.ids(), [own.id.to_string(), theirs.id.to_string()]);
    assert!(
        liked.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["likedByMe"] == true)
    );
    assert_eq!(
        app.get("/images?liked=true&preset=story", &token)
            .await
            .ids(),
        [theirs.id.to_string()]
    );
    let history = app.get("/images", &token).await;
    let flags: Vec<bool> = history.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["likedByMe"] == true)
        .collect();
    assert_eq!(
        history.ids(),
        [not_liked.id.to_string(), own.id.to_string()]
    );
    assert_eq!(flags, [false, true]);
}
