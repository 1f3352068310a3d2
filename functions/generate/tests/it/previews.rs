//! Live previews end to end: the worker streams from the OpenAI stand-in through async-openai,
//! stores the partial images in S3 on moto and lists them on the job in DynamoDB; a client
//! polling `GET /generations/{id}` sees them while the job runs and sees them gone after,
//! for generations and edits alike.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};

use generate::usecases::previews::PreviewPolicy;

use crate::{
    common::{Options, Stack, body, job_id, prompt},
    edits::{png, upload},
};

/// A stack whose worker asks for live previews, as deployed.
async fn stack() -> Stack {
    Stack::with(Options {
        previews: PreviewPolicy::default(),
        ..Options::default()
    })
    .await
}

/// Polls the job until it is final; returns every answer seen while it ran with previews.
async fn watch(stack: &Stack, token: &str, id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let job = stack.job(token, id).await;
        assert_eq!(job.status, StatusCode::OK, "{}", job.text);
        match job.json["status"].as_str() {
            Some("succeeded" | "failed") => return seen,
            Some("running")
                if job.json["previews"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty()) =>
            {
                seen.push(job.json);
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the job did not finish in a minute");
}

fn http() -> reqwest::Client {
    artforge_devstack::http_client()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

#[tokio::test]
async fn previews_are_seen_while_the_job_runs_and_are_gone_after() {
    let stack = stack().await;
    let (user, token) = stack.user().await;
    // Each streamed event, the final image included, comes 1.5 s after the one before.
    let words = prompt("[fault:slow=1500] a forming nebula");
    let answer = stack.submit(&token, &body(&words, "portrait", 1)).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = job_id(&answer);

    let watching = async {
        let seen = watch(&stack, &token, &id).await;
        // The files behind the URLs, fetched while the job still ran.
        let last = seen.last().cloned().unwrap_or_default();
        let mut previews = Vec::new();
        for url in last["previews"].as_array().into_iter().flatten() {
            let url = url.as_str().expect("a URL").to_owned();
            previews.push(url);
        }
        (seen, previews)
    };
    let (worked, (seen, urls)) = tokio::join!(stack.work(), watching);
    assert_eq!(worked, 1);
    assert!(!seen.is_empty(), "the previews were seen while the job ran");
    let counts: Vec<usize> = seen
        .iter()
        .map(|j| j["previews"].as_array().map_or(0, Vec::len))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(
        counts.last(),
        Some(&2),
        "both partial images listed: {counts:?}"
    );
    assert_eq!(urls.len(), 2);

    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["previews"], serde_json::json!([]));
    assert!(
        stack.previews(user).await.is_empty(),
        "the previews' files are removed"
    );
    for url in &urls {
        let gone = http().get(url).send().await.expect("S3 answers");
        assert_eq!(gone.status().as_u16(), 404, "{url}");
    }
}

#[tokio::test]
async fn a_preview_is_a_small_jpeg_behind_a_presigned_url() {
    let stack = stack().await;
    let (_, token) = stack.user().await;
    let words = prompt("[fault:slow=2500] a slowly forming comet");
    let answer = stack.submit(&token, &body(&words, "landscape", 1)).await;
    let id = job_id(&answer);
    let fetching = async {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let job = stack.job(&token, &id).await.json;
            if let Some(url) = job["previews"][0].as_str() {
                let file = http().get(url).send().await.expect("S3 answers");
                assert_eq!(file.status().as_u16(), 200);
                assert_eq!(file.headers()["content-type"], "image/jpeg");
                return file.bytes().await.expect("bytes").to_vec();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no preview appeared");
    };
    let (_, bytes) = tokio::join!(stack.work(), fetching);
    let preview =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("a JPEG");
    // The v2 tier asks 1536x1024 for the landscape preset: 512 on the longest side.
    assert_eq!((preview.width(), preview.height()), (512, 341));
}

#[tokio::test]
async fn a_model_that_does_not_stream_makes_its_images_without_previews() {
    let stack = stack().await;
    let (user, token) = stack.user().await;
    let words = prompt("[answer:nostream] a still life");
    let answer = stack.submit(&token, &body(&words, "square", 2)).await;
    let id = job_id(&answer);
    stack.work().await;
    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["images"].as_array().map(Vec::len), Some(2));
    assert_eq!(job["previews"], serde_json::json!([]));
    assert!(stack.previews(user).await.is_empty());
    assert_eq!(
        stack.openai.calls(&words),
        3,
        "the streamed request refused, asked again plainly, and the second image beside it"
    );
}

#[tokio::test]
async fn an_edit_jobs_previews_are_seen_while_it_runs_and_are_gone_after() {
    let stack = stack().await;
    let (user, token) = stack.user_with(5).await;
    let source = upload(&stack, &token, png(512, 256, false), "image/png").await;
    // Each streamed event of the edit, the final image included, comes 1.5 s after the last.
    let words = prompt("[fault:slow=1500] the nebula, purple");
    let answer = stack
        .submit(
            &token,
            &json!({"prompt": words, "model": "v2", "preset": "square",
                "sources": [{"upload": source}]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = job_id(&answer);
    let (worked, seen) = tokio::join!(stack.work(), watch(&stack, &token, &id));
    assert_eq!(worked, 1);
    let counts: Vec<usize> = seen
        .iter()
        .map(|j| j["previews"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(
        counts.last(),
        Some(&2),
        "both listed while it ran: {counts:?}"
    );
    let urls: Vec<String> = seen
        .last()
        .and_then(|j| j["previews"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect();
    assert_eq!(stack.openai.edits(&words).len(), 1, "one streamed edit");

    let job = stack.job(&token, &id).await.json;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["images"][0]["edited"], true);
    assert_eq!(job["previews"], json!([]));
    assert!(
        stack.previews(user).await.is_empty(),
        "the previews' files are removed"
    );
    for url in &urls {
        let gone = http().get(url).send().await.expect("S3 answers");
        assert_eq!(gone.status().as_u16(), 404, "{url}");
    }
}
