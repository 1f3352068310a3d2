//! Uploads, edits and remixes end to end: `POST /uploads` answers a presigned PUT that the test
//! follows to moto as a browser would, the edit is checked, charged, run by the worker through
//! the real adapter against the stand-in's `/v1/images/edits`, and its images carry their
//! lineage.

use std::io::Cursor;

use artforge_domain::{ImageId, Images, Visibility};
use serde_json::{Value, json};

use crate::common::{Stack, job_id, prompt};

pub fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let picture = if alpha {
        image::DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            width,
            height,
            image::Rgba([255, 255, 255, 0]),
        ))
    } else {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            width,
            height,
            image::Rgb([30, 90, 160]),
        ))
    };
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encodes");
    bytes
}

/// Asks for an upload of `bytes` as `content_type` and sends them as the answer says; the id.
pub async fn upload(stack: &Stack, token: &str, bytes: Vec<u8>, content_type: &str) -> String {
    let answer = stack
        .send(
            "POST",
            "/uploads",
            Some(token),
            Some(&json!({"contentType": content_type, "size": bytes.len()}).to_string()),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.json["method"], "PUT");
    let url = answer.json["url"].as_str().expect("a URL");
    let mut put = artforge_devstack::http_client()
        .build()
        .expect("a client")
        .put(url)
        .body(bytes);
    for (name, value) in answer.json["headers"].as_object().expect("headers") {
        // reqwest sets the length from the body; the signed value is the same.
        if name != "content-length" {
            put = put.header(name.as_str(), value.as_str().expect("a value"));
        }
    }
    let sent = put.send().await.expect("moto answers");
    assert!(sent.status().is_success(), "{}", sent.status());
    answer.json["id"].as_str().expect("an id").to_owned()
}

async fn finished(stack: &Stack, token: &str, job: &str) -> Value {
    stack.work().await;
    let answer = stack.job(token, job).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json
}

#[tokio::test]
async fn an_uploaded_source_and_mask_are_edited_and_the_image_says_it_was_edited() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(5).await;
    let source = upload(&stack, &token, png(512, 256, false), "image/png").await;
    let mask = upload(&stack, &token, png(512, 256, true), "image/png").await;
    assert!(
        stack
            .object(&format!("uploads/{user}/{source}"))
            .await
            .1
            .starts_with("image/png")
    );
    let words = prompt("paint a moon into the sky");
    let answer = stack
        .submit(
            &token,
            &json!({"prompt": words, "model": "v2", "preset": "square",
                "sources": [{"upload": source}], "mask": {"upload": mask}}),
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(
        answer.json["credits"], 3,
        "an edited image costs 2 (v2 low)"
    );
    assert_eq!(
        answer.json["job"]["request"]["sources"][0]["upload"],
        source
    );
    assert_eq!(answer.json["job"]["request"]["mask"], true);
    let job = finished(&stack, &token, &job_id(&answer)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["images"][0]["edited"], true);
    assert!(
        job["images"][0]["editedFrom"].is_null(),
        "an upload is not shown"
    );
    let seen = stack.openai.edits(&words);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].images, [(512, 256)]);
    assert_eq!(seen[0].mask, Some((512, 256)));
    let (balance, sum, _) = stack.books(user).await;
    assert_eq!((balance, sum), (3, 3));
}

#[tokio::test]
async fn a_mask_of_another_size_or_an_upload_that_lies_is_422_naming_the_field_and_uncharged() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(5).await;
    let source = upload(&stack, &token, png(512, 256, false), "image/png").await;
    let mask = upload(&stack, &token, png(256, 256, true), "image/png").await;
    let answer = stack
        .submit(
            &token,
            &json!({"prompt": "a moon", "model": "v2", "preset": "square",
                "sources": [{"upload": source}], "mask": {"upload": mask}}),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.json["code"], "mask_mismatch");
    assert_eq!(answer.json["errors"][0]["field"], "mask");

    let text = upload(
        &stack,
        &token,
        b"not a picture at all".to_vec(),
        "image/png",
    )
    .await;
    let answer = stack
        .submit(
            &token,
            &json!({"prompt": "a moon", "model": "v2", "preset": "square",
                "sources": [{"upload": source}, {"upload": text}]}),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.json["code"], "upload_invalid");
    assert_eq!(answer.json["errors"][0]["field"], "sources[1].upload");

    let too_big = stack
        .send(
            "POST",
            "/uploads",
            Some(&token),
            Some(r#"{"contentType":"image/png","size":20971521}"#),
        )
        .await;
    assert_eq!(too_big.status, 422, "{}", too_big.text);
    assert_eq!(too_big.json["errors"][0]["field"], "size");
    let (balance, _, _) = stack.books(user).await;
    assert_eq!(balance, 5, "nothing was charged");
}

#[tokio::test]
async fn a_remix_of_a_public_image_carries_its_lineage_and_of_a_private_one_of_another_is_404() {
    let stack = Stack::new().await;
    let (owner, owner_token) = stack.user_with(5).await;
    let first = stack
        .submit(
            &owner_token,
            &json!({"prompt": prompt("a red kite"), "model": "v2", "preset": "square"}),
        )
        .await;
    let first = finished(&stack, &owner_token, &job_id(&first)).await;
    let original = first["images"][0]["id"]
        .as_str()
        .expect("an image")
        .to_owned();

    let (_, token) = stack.user_with(5).await;
    let remix = json!({"prompt": prompt("a blue kite"), "model": "v2", "preset": "square",
        "remixOf": original});
    let hidden = stack.submit(&token, &remix).await;
    assert_eq!(hidden.status, 404, "{}", hidden.text);
    assert_eq!(hidden.json["code"], "not_found");
    let as_source = stack
        .submit(
            &token,
            &json!({"prompt": "x", "model": "v2", "preset": "square",
                "sources": [{"image": original}]}),
        )
        .await;
    assert_eq!(as_source.status, 404, "{}", as_source.text);

    let id: ImageId = original.parse().expect("an id");
    stack
        .store
        .update(owner, id, None, Some(Visibility::Public))
        .await
        .expect("made public");
    let answer = stack.submit(&token, &remix).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let job = finished(&stack, &token, &job_id(&answer)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["request"]["remixOf"], original.as_str());
    assert_eq!(job["images"][0]["remixOf"], original.as_str());
    assert_eq!(job["images"][0]["edited"], false);

    // An edit of the public image: its original is sent, and the new image names it.
    let words = prompt("the kite at night");
    let answer = stack
        .submit(
            &token,
            &json!({"prompt": words, "model": "v2", "preset": "square",
                "sources": [{"image": original}]}),
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let job = finished(&stack, &token, &job_id(&answer)).await;
    assert_eq!(job["images"][0]["editedFrom"], original.as_str(), "{job}");
    assert_eq!(stack.openai.edits(&words).len(), 1);
}

#[tokio::test]
async fn uploads_count_against_the_users_paid_request_limit() {
    let stack = Stack::with(crate::common::Options {
        paid: artforge_domain::PaidLimits {
            per_address: artforge_domain::RateLimit::per_minute(60),
            per_user: artforge_domain::RateLimit::per_minute(2),
        },
        ..Default::default()
    })
    .await;
    let (_, token) = stack.user_with(5).await;
    // Two a minute; a minute may turn once in the loop.
    let mut admitted = 0;
    let limited = loop {
        let answer = stack
            .send(
                "POST",
                "/uploads",
                Some(&token),
                Some(r#"{"contentType":"image/webp","size":100}"#),
            )
            .await;
        if answer.status == 429 {
            break answer;
        }
        assert_eq!(answer.status, 201, "{}", answer.text);
        admitted += 1;
        assert!(admitted <= 4, "never limited");
    };
    assert_eq!(limited.json["code"], "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
}
