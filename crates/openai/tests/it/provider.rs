//! The real adapter against the local OpenAI stand-in on loopback: the whole production code
//! path (async-openai, our transport, retries, downloads), steered by prompt directives.

use std::time::{Duration, Instant};

use artforge_devstack::openai::{OpenAiStandIn, serve_openai_stand_in};
use artforge_domain::{ImageProvider, ProviderError, ProviderRequest};
use artforge_openai::{OpenAiProvider, ProviderConfig};
use secrecy::SecretString;

type Answer = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>;

pub async fn stand_in() -> (String, OpenAiStandIn) {
    serve_openai_stand_in()
        .await
        .expect("the stand-in is served")
}

pub fn config(base: &str) -> ProviderConfig {
    ProviderConfig {
        api_base: base.to_owned(),
        deadline: Duration::from_secs(20),
        request_timeout: Duration::from_secs(10),
        ..ProviderConfig::new(SecretString::from("sk-test"))
    }
}

pub fn request(prompt: &str, count: u8, per_request: u8, size: &str) -> ProviderRequest {
    ProviderRequest {
        model: "gpt-image-2.6-flare".into(),
        prompt: prompt.into(),
        size: size.into(),
        quality: "low".into(),
        count,
        images_per_request: per_request,
        output_format: artforge_domain::ImageFormat::Png,
        background: artforge_domain::Background::Auto,
    }
}

/// Runs one job; returns its answer and how long it took.
async fn generate(config: ProviderConfig, request: &ProviderRequest) -> (Answer, Duration) {
    let provider = OpenAiProvider::new(config);
    let started = Instant::now();
    let answer = provider.generate(request).await;
    (answer, started.elapsed())
}

fn images(answer: Answer) -> Vec<Vec<u8>> {
    answer
        .expect("the job succeeds")
        .into_iter()
        .map(|image| image.expect("every image is there"))
        .collect()
}

pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    let picture =
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png).expect("a PNG");
    (picture.width(), picture.height())
}

#[tokio::test]
async fn a_base64_answer_of_three_images_decodes_as_pngs_of_the_size_asked() {
    let (base, stand_in) = stand_in().await;
    let prompt = "three lighthouses at dusk";
    let (answer, _) = generate(config(&base), &request(prompt, 3, 5, "1024x1536")).await;
    let images = images(answer);
    assert_eq!(images.len(), 3);
    for bytes in &images {
        assert_eq!(png_size(bytes), (1024, 1536));
    }
    assert_ne!(images[0], images[1], "each image is its own picture");
    assert_eq!(stand_in.calls(prompt), 1, "one request for all three");
}

#[tokio::test]
async fn more_images_than_one_request_makes_are_asked_for_in_turns() {
    let (base, stand_in) = stand_in().await;
    let prompt = "five foxes in turns";
    let (answer, _) = generate(config(&base), &request(prompt, 5, 2, "256x256")).await;
    let images = images(answer);
    assert_eq!(images.len(), 5);
    assert!(images.iter().all(|bytes| png_size(bytes) == (256, 256)));
    assert_eq!(stand_in.calls(prompt), 3, "2 + 2 + 1");
}

#[tokio::test]
async fn a_job_of_no_images_asks_the_provider_nothing() {
    let (base, stand_in) = stand_in().await;
    let (answer, _) = generate(config(&base), &request("nothing at all", 0, 5, "256x256")).await;
    assert!(answer.expect("nothing to fail").is_empty());
    assert_eq!(stand_in.calls("nothing at all"), 0);
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_wait_the_provider_asks_for() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a queue of penguins [fault:429x1]";
    let (answer, took) = generate(config(&base), &request(prompt, 2, 5, "256x256")).await;
    assert_eq!(images(answer).len(), 2);
    assert_eq!(stand_in.calls(prompt), 2);
    assert!(
        took >= Duration::from_millis(990),
        "Retry-After: 1 was not honoured: {took:?}"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_ends_the_job_at_once() {
    // 429 at 0 s (wait 1 s, fits the 1.5 s deadline), 429 at 1 s: waiting 1 s more would end
    // past the deadline, so the job gives up there, without sleeping into the deadline.
    let (base, stand_in) = stand_in().await;
    let prompt = "an endless queue [fault:429x5]";
    let config = ProviderConfig {
        deadline: Duration::from_millis(1500),
        ..config(&base)
    };
    let (answer, took) = generate(config, &request(prompt, 1, 1, "256x256")).await;
    let error = answer.expect_err("still rate limited");
    let ProviderError::Unavailable(source) = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(source.to_string().contains("429"), "{source}");
    assert_eq!(stand_in.calls(prompt), 2);
    assert!(
        took >= Duration::from_millis(990) && took < Duration::from_millis(1400),
        "{took:?}"
    );
}

#[tokio::test]
async fn an_exhausted_quota_fails_at_once_without_retrying() {
    let (base, stand_in) = stand_in().await;
    let prompt = "an expensive castle [fault:quota]";
    let (answer, _) = generate(config(&base), &request(prompt, 1, 1, "256x256")).await;
    let error = answer.expect_err("no quota");
    assert!(
        matches!(&error, ProviderError::QuotaExceeded(m) if m.contains("quota")),
        "{error:?}"
    );
    assert_eq!(stand_in.calls(prompt), 1);
}

#[tokio::test]
async fn a_content_policy_refusal_fails_at_once_without_retrying() {
    let (base, stand_in) = stand_in().await;
    let prompt = "something forbidden [fault:policy]";
    let (answer, _) = generate(config(&base), &request(prompt, 2, 5, "256x256")).await;
    let error = answer.expect_err("refused");
    assert!(
        matches!(&error, ProviderError::ContentPolicy(m) if m.contains("safety system")),
        "{error:?}"
    );
    assert_eq!(stand_in.calls(prompt), 1);
}

#[tokio::test]
async fn a_request_the_provider_rejects_is_not_retried() {
    let (base, stand_in) = stand_in().await;
    let prompt = "an odd size";
    let (answer, _) = generate(config(&base), &request(prompt, 1, 1, "1000x1000")).await;
    let error = answer.expect_err("rejected");
    assert!(
        matches!(&error, ProviderError::Rejected { status: 400, message } if message.contains("1000x1000")),
        "{error:?}"
    );
    assert_eq!(stand_in.calls(prompt), 1);
}

#[tokio::test]
async fn a_missing_api_key_is_rejected_as_unauthorised() {
    let (base, _stand_in) = stand_in().await;
    let config = ProviderConfig {
        api_key: SecretString::from(""),
        ..config(&base)
    };
    let (answer, _) = generate(config, &request("no key", 1, 1, "256x256")).await;
    let error = answer.expect_err("unauthorised");
    assert!(
        matches!(&error, ProviderError::Rejected { status: 401, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_single_server_error_is_retried_and_recovers() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a hiccup [fault:500x1]";
    let (answer, _) = generate(config(&base), &request(prompt, 1, 1, "256x256")).await;
    assert_eq!(images(answer).len(), 1);
    assert_eq!(stand_in.calls(prompt), 2);
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_given_up_by_the_deadline() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a broken server [fault:500]";
    let config = ProviderConfig {
        deadline: Duration::from_secs(3),
        ..config(&base)
    };
    let (answer, took) = generate(config, &request(prompt, 1, 1, "256x256")).await;
    let error = answer.expect_err("never recovers");
    assert!(
        matches!(
            error,
            ProviderError::Unavailable(_) | ProviderError::DeadlineExceeded
        ),
        "{error:?}"
    );
    assert!(stand_in.calls(prompt) >= 2, "retried");
    assert!(took <= Duration::from_millis(3300), "{took:?}");
}

#[tokio::test]
async fn a_provider_slower_than_the_deadline_ends_in_deadline_exceeded() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a very slow painting [fault:slow=3000]";
    let config = ProviderConfig {
        deadline: Duration::from_secs(1),
        ..config(&base)
    };
    let (answer, took) = generate(config, &request(prompt, 1, 1, "256x256")).await;
    let error = answer.expect_err("too slow");
    assert!(
        matches!(error, ProviderError::DeadlineExceeded),
        "{error:?}"
    );
    assert!(
        took >= Duration::from_millis(990) && took < Duration::from_millis(1300),
        "{took:?}"
    );
    assert_eq!(stand_in.calls(prompt), 1);
}

#[tokio::test]
async fn an_attempt_slower_than_the_request_timeout_is_cut_and_retried() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a sluggish sketch [fault:slow=1500]";
    let config = ProviderConfig {
        deadline: Duration::from_millis(2500),
        request_timeout: Duration::from_millis(400),
        ..config(&base)
    };
    let (answer, took) = generate(config, &request(prompt, 1, 1, "256x256")).await;
    let error = answer.expect_err("every attempt times out");
    assert!(
        matches!(
            error,
            ProviderError::Unavailable(_) | ProviderError::DeadlineExceeded
        ),
        "{error:?}"
    );
    assert!(
        stand_in.calls(prompt) >= 2,
        "the timed-out attempt was retried"
    );
    assert!(took < Duration::from_millis(2800), "{took:?}");
}

#[tokio::test]
async fn a_corrupt_image_is_returned_as_given_for_the_pipeline_to_judge() {
    let (base, _stand_in) = stand_in().await;
    let prompt = "a glitch [fault:corrupt=1]";
    let (answer, _) = generate(config(&base), &request(prompt, 3, 5, "256x256")).await;
    let images = images(answer);
    assert_eq!(images.len(), 3);
    assert_eq!(png_size(&images[0]), (256, 256));
    assert!(image::load_from_memory(&images[1]).is_err());
    assert!(
        images[1].starts_with(b"\x89PNG"),
        "the bytes as the provider sent them"
    );
    assert_eq!(png_size(&images[2]), (256, 256));
}

#[tokio::test]
async fn url_answers_are_downloaded() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a parcel of kites [answer:url]";
    let (answer, _) = generate(config(&base), &request(prompt, 2, 5, "512x256")).await;
    let images = images(answer);
    assert_eq!(images.len(), 2);
    assert!(images.iter().all(|bytes| png_size(bytes) == (512, 256)));
    assert_eq!(stand_in.calls(prompt), 1);
}

#[tokio::test]
async fn a_url_on_a_host_not_allowed_fails_that_image_unless_configured() {
    let (base, _stand_in) = stand_in().await;
    // The stand-in's own server, named `localhost` instead of the API's `127.0.0.1`.
    let prompt = "a stranger's gallery [answer:url=localhost]";
    let (answer, _) = generate(config(&base), &request(prompt, 2, 5, "256x256")).await;
    let answer = answer.expect("the request itself succeeds");
    assert_eq!(answer.len(), 2);
    for image in answer {
        let error = image.expect_err("not an allowed host");
        assert!(
            matches!(&error, ProviderError::BadAnswer(m) if m.contains("localhost")),
            "{error:?}"
        );
    }

    let allowed = ProviderConfig {
        download_hosts: vec!["localhost".into()],
        ..config(&base)
    };
    let (answer, _) = generate(allowed, &request(prompt, 2, 5, "256x256")).await;
    assert_eq!(images(answer).len(), 2);
}

#[tokio::test]
async fn a_file_above_the_download_cap_fails_that_image() {
    let (base, _stand_in) = stand_in().await;
    let config = ProviderConfig {
        max_download_bytes: 1024 * 1024,
        ..config(&base)
    };
    let (answer, _) = generate(
        config.clone(),
        &request("a huge mural [answer:url][fault:bigfile]", 1, 1, "256x256"),
    )
    .await;
    let mut answer = answer.expect("the request itself succeeds");
    let error = answer.remove(0).expect_err("too large");
    assert!(
        matches!(&error, ProviderError::BadAnswer(m) if m.contains("larger than 1048576 bytes")),
        "{error:?}"
    );

    // Just under the cap is fine.
    let (answer, _) = generate(
        config,
        &request(
            "a large mural [answer:url][fault:bigfile=1048576]",
            1,
            1,
            "256x256",
        ),
    )
    .await;
    let images = images(answer);
    assert_eq!(images[0].len(), 1024 * 1024);
    assert_eq!(png_size(&images[0]), (256, 256));
}

/// A PNG of `width` x `height`, with an alpha channel when `alpha` (a mask: transparent where
/// to edit).
pub fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let picture = if alpha {
        image::DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            width,
            height,
            image::Rgba([0, 0, 0, 0]),
        ))
    } else {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            width,
            height,
            image::Rgb([200, 40, 40]),
        ))
    };
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encodes");
    bytes
}

async fn edit(
    config: ProviderConfig,
    request: &ProviderRequest,
    files: &artforge_domain::edit::EditFiles,
) -> Answer {
    OpenAiProvider::new(config).edit(request, files).await
}

#[tokio::test]
async fn an_edit_sends_its_sources_and_mask_as_a_multipart_form_and_gets_its_images() {
    let (base, stand_in) = stand_in().await;
    let prompt = "an edit with three sources";
    let files = artforge_domain::edit::EditFiles {
        sources: vec![
            (artforge_domain::ImageFormat::Png, png(512, 256, false)),
            (artforge_domain::ImageFormat::Png, png(300, 300, false)),
            (artforge_domain::ImageFormat::Png, png(256, 256, false)),
        ],
        mask: Some(png(512, 256, true)),
    };
    let answer = edit(config(&base), &request(prompt, 2, 1, "1024x1024"), &files).await;
    let images = images(answer);
    assert_eq!(images.len(), 2, "asked for in two turns");
    assert_eq!(png_size(&images[0]), (1024, 1024));
    let seen = stand_in.edits(prompt);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].images, [(512, 256), (300, 300), (256, 256)]);
    assert_eq!(seen[0].mask, Some((512, 256)));
}

#[tokio::test]
async fn an_edit_with_a_mask_of_another_size_is_rejected_and_a_transient_failure_retried() {
    let (base, stand_in) = stand_in().await;
    let files = |mask| artforge_domain::edit::EditFiles {
        sources: vec![(artforge_domain::ImageFormat::Png, png(512, 256, false))],
        mask,
    };
    let refused = edit(
        config(&base),
        &request("a mask too small", 1, 1, "1024x1024"),
        &files(Some(png(256, 256, true))),
    )
    .await;
    assert!(
        matches!(&refused, Err(ProviderError::Rejected { status: 400, message }) if message.contains("mask")),
        "{refused:?}"
    );
    let prompt = "an edit once refused [fault:500x1]";
    let answer = edit(
        config(&base),
        &request(prompt, 1, 1, "1024x1024"),
        &files(None),
    )
    .await;
    assert_eq!(images(answer).len(), 1);
    assert_eq!(stand_in.calls(prompt), 2, "the 500 was retried");
}
