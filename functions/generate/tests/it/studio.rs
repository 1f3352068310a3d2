//! The studio end to end over moto and the provider stand-in (DESIGN §10): transparency kept
//! in every stored file (decoded from S3), exact custom pixels, the refusals of bad studio
//! input, and the model lifecycle from the stand-in's `GET /v1/models` through the sweeper's
//! check to a refused submission and a refunded job.

use artforge_domain::{ModelNotices as _, Preset, Variant, image::object_key};
use http::StatusCode;
use serde_json::json;

use crate::{
    common::{Stack, body, job_id, prompt},
    sweeper::sweeper,
};

fn transparent_pixels(bytes: &[u8]) -> bool {
    let picture = image::load_from_memory(bytes).expect("decodes");
    picture.color().has_alpha() && picture.to_rgba8().pixels().any(|p| p.0[3] == 0)
}

#[tokio::test]
async fn a_transparent_png_keeps_real_alpha_in_the_original_the_sized_image_and_the_thumbnail() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(5).await;
    let mut request = body(&prompt("a fox sticker"), "square", 1);
    request["background"] = json!("transparent");
    request["format"] = json!("png");
    let answer = stack.submit(&token, &request).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["job"]["request"]["background"], "transparent");
    assert_eq!(answer.json["job"]["request"]["format"], "png");
    let id = job_id(&answer);
    assert_eq!(stack.work().await, 1);
    let job = stack.job(&token, &id).await;
    assert_eq!(job.json["status"], "succeeded", "{}", job.text);
    let image = &job.json["images"][0];
    assert_eq!(
        (&image["format"], &image["background"]),
        (&json!("png"), &json!("transparent"))
    );
    let image_id = image["id"].as_str().expect("an id").parse().expect("an id");
    for variant in Variant::ALL {
        let key = object_key(
            user,
            image_id,
            Preset::Square,
            *variant,
            artforge_domain::ImageFormat::Png,
        );
        let (bytes, content_type) = stack.object(&key).await;
        assert_eq!(content_type, "image/png", "{key}");
        assert!(transparent_pixels(&bytes), "{key}: real alpha");
    }
}

#[tokio::test]
async fn a_transparent_webp_keeps_alpha_and_an_opaque_default_stays_jpeg() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(5).await;
    let mut request = body(&prompt("a paper boat sticker"), "story", 1);
    request["background"] = json!("transparent");
    let answer = stack.submit(&token, &request).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json["job"]["request"]["format"], "webp");
    let plain = stack
        .submit(&token, &body(&prompt("a paper boat"), "story", 1))
        .await;
    assert_eq!(plain.json["job"]["request"]["format"], "jpeg");
    assert_eq!(plain.json["job"]["request"]["background"], "auto");
    assert_eq!(stack.work().await, 2);
    let webp = stack.job(&token, &job_id(&answer)).await;
    let image_id = webp.json["images"][0]["id"]
        .as_str()
        .expect("an id")
        .parse()
        .expect("an id");
    for variant in [Variant::Preset, Variant::Thumbnail] {
        let key = object_key(
            user,
            image_id,
            Preset::Story,
            variant,
            artforge_domain::ImageFormat::Webp,
        );
        let (bytes, content_type) = stack.object(&key).await;
        assert_eq!(content_type, "image/webp");
        assert!(transparent_pixels(&bytes), "{key}");
    }
    let jpeg = stack.job(&token, &job_id(&plain)).await;
    let image = &jpeg.json["images"][0];
    assert_eq!(image["format"], "jpeg");
    let image_id = image["id"].as_str().expect("an id").parse().expect("an id");
    let key = object_key(
        user,
        image_id,
        Preset::Story,
        Variant::Preset,
        artforge_domain::ImageFormat::Jpeg,
    );
    let (bytes, content_type) = stack.object(&key).await;
    assert_eq!(content_type, "image/jpeg");
    let decoded = image::load_from_memory(&bytes).expect("a JPEG");
    assert!(!decoded.color().has_alpha());
    assert_eq!((decoded.width(), decoded.height()), (1080, 1920));
}

#[tokio::test]
async fn a_custom_size_gives_exactly_those_pixels() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(5).await;
    let mut request = body(&prompt("a banner of hills"), "custom", 1);
    request["width"] = json!(2400);
    request["height"] = json!(800);
    let answer = stack.submit(&token, &request).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(
        (
            &answer.json["job"]["request"]["width"],
            &answer.json["job"]["request"]["height"]
        ),
        (&json!(2400), &json!(800))
    );
    stack.work().await;
    let job = stack.job(&token, &job_id(&answer)).await;
    assert_eq!(job.json["status"], "succeeded", "{}", job.text);
    let image = &job.json["images"][0];
    assert_eq!(
        (&image["width"], &image["height"]),
        (&json!(2400), &json!(800))
    );
    assert_eq!(image["preset"], "custom");
    let image_id = image["id"].as_str().expect("an id").parse().expect("an id");
    let key = object_key(
        user,
        image_id,
        Preset::Custom,
        Variant::Preset,
        artforge_domain::ImageFormat::Jpeg,
    );
    let (bytes, _) = stack.object(&key).await;
    let decoded = image::load_from_memory(&bytes).expect("a JPEG");
    assert_eq!((decoded.width(), decoded.height()), (2400, 800));
    let original = object_key(
        user,
        image_id,
        Preset::Custom,
        Variant::Original,
        artforge_domain::ImageFormat::Png,
    );
    let (bytes, _) = stack.object(&original).await;
    let asked = image::load_from_memory(&bytes).expect("a PNG");
    assert_eq!(
        (asked.width(), asked.height()),
        (2400, 800),
        "the provider was asked for the same aspect"
    );
}

#[tokio::test]
async fn bad_studio_input_is_a_422_naming_the_field_and_charges_nothing() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(5).await;
    let cases = [
        (
            json!({"background": "transparent", "format": "jpeg"}),
            "background",
        ),
        (json!({"background": "clear"}), "background"),
        (json!({"format": "gif"}), "format"),
        (
            json!({"preset": "custom", "width": 3841, "height": 2000}),
            "width",
        ),
        (
            json!({"preset": "custom", "width": 300, "height": 901}),
            "width",
        ),
        (json!({"preset": "custom", "width": 800}), "height"),
        (json!({"width": 800, "height": 800}), "width"),
    ];
    for (extra, field) in cases {
        let mut request = body(&prompt("a fox"), "square", 1);
        for (k, v) in extra.as_object().expect("an object") {
            request[k] = v.clone();
        }
        let answer = stack.submit(&token, &request).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{extra}: {}",
            answer.text
        );
        let named: Vec<&str> = answer.json["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(named.contains(&field), "{extra}: {named:?}");
    }
    let (balance, _, _) = stack.books(user).await;
    assert_eq!(balance, 5);
}

#[tokio::test]
async fn the_sweepers_check_raises_shutdowns_and_a_retired_model_is_refused_or_refunded() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(10).await;
    let today = time::OffsetDateTime::now_utc().date();
    let sweeper = sweeper(&stack);

    // Ten days ahead: recorded and counted for the alarm; submissions go on.
    stack.openai.announce(
        "gpt-image-2.6-flare",
        Some(today + time::Duration::days(10)),
    );
    let report = sweeper.check_models().await.expect("checked");
    assert_eq!(report.needing_attention(), 1);
    let notice = stack
        .store
        .notice("gpt-image-2.6-flare")
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(notice.shutdown, Some(today + time::Duration::days(10)));
    let queued = stack
        .submit(&token, &body(&prompt("a lighthouse"), "square", 2))
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);

    // The provider shuts it down: the queued job fails with a full refund and says why.
    stack.openai.announce("gpt-image-2.6-flare", Some(today));
    stack.work().await;
    let failed = stack.job(&token, &job_id(&queued)).await;
    assert_eq!(failed.json["status"], "failed", "{}", failed.text);
    assert_eq!(failed.json["error"]["code"], "model_retired");
    assert_eq!(failed.json["refunded"], 2);

    // Once the check has seen the date pass, submissions are refused uncharged.
    sweeper.check_models().await.expect("checked");
    let refused = stack
        .submit(&token, &body(&prompt("a lighthouse"), "square", 1))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.json["errors"][0]["field"], "model");
    let (balance, sum, _) = stack.books(user).await;
    assert_eq!((balance, sum), (10, 10), "everything given back");
    let mut v3 = body(&prompt("a lighthouse"), "square", 1);
    v3["model"] = json!("v3");
    assert_eq!(stack.submit(&token, &v3).await.status, StatusCode::ACCEPTED);
}
