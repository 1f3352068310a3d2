//! ZIP archives end to end over moto: asked for through the router, built by the account
//! worker from the account queue (as Lambda's event source mapping delivers it), read back
//! through the presigned URL and opened as a ZIP.

use std::{io::Read, time::Duration};

use artforge_devstack::event_source::EventSource;
use artforge_domain::{Image, UserId, Variant, archive_name};
use artforge_s3::BucketConfig;
use gallery::{AccountWorker, WorkerConfig};
use http::StatusCode;
use serde_json::json;

use crate::common::{App, Spec};

impl App {
    fn worker(&self) -> AccountWorker {
        AccountWorker::build(
            WorkerConfig {
                table_name: self.store.table().to_owned(),
                bucket: BucketConfig {
                    bucket_name: self.files.bucket().to_owned(),
                    force_path_style: true,
                    presign_ttl: Duration::from_secs(300),
                },
                account_queue_url: self.queue_url.clone(),
            },
            &artforge_testkit::sdk_config(),
        )
    }

    /// Delivers what the account queue holds to the worker, once.
    async fn deliver(&self, worker: &AccountWorker) -> usize {
        let sqs = aws_sdk_sqs::Client::new(&artforge_testkit::sdk_config());
        let source = EventSource::new(sqs, &self.queue_url)
            .await
            .expect("the queue");
        source
            .poll_once(Duration::ZERO, &|event| worker.handle(event))
            .await
            .expect("polled")
    }

    /// An image of `owner` whose three files hold `size` bytes each.
    async fn sized_image(&self, owner: UserId, prompt: &str, size: usize) -> Image {
        let mut image = self.record(owner, Spec::default()).await;
        image.prompt = prompt.to_owned();
        use artforge_domain::Images as _;
        self.store.forget(owner, image.id).await.expect("forget");
        self.store.add(&image).await.expect("re-add");
        for v in Variant::ALL {
            let bytes: Vec<u8> = (0..size)
                .map(|i| (i * 31 + v.as_str().len()) as u8)
                .collect();
            self.files
                .put(&image.object_key(*v), bytes, "image/jpeg")
                .await
                .expect("put");
        }
        image
    }
}

#[tokio::test]
async fn an_archive_is_built_from_the_queue_and_holds_one_named_file_per_image() {
    let app = App::new().await;
    let (user, token) = app.user().await;
    let a = app.sized_image(user, "A lighthouse at dawn", 1_000).await;
    let b = app.sized_image(user, "Sea & sky", 2_000).await;
    let body =
        json!({"ids": [a.id.to_string(), b.id.to_string()], "variant": "original"}).to_string();
    let asked = app
        .call("POST", "/images/archive", Some(&token), Some(&body))
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
    assert_eq!(asked.json["status"], "pending");
    assert_eq!(asked.json["count"], 2);
    let id = asked.json["id"].as_str().expect("an id").to_owned();

    assert_eq!(app.deliver(&app.worker()).await, 1);
    let ready = app.get(&format!("/images/archive/{id}"), &token).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.json["status"], "ready", "{}", ready.text);
    let url = ready.json["url"].as_str().expect("a URL");
    let zip = artforge_devstack::http_client()
        .build()
        .expect("client")
        .get(url)
        .send()
        .await
        .expect("moto")
        .bytes()
        .await
        .expect("body");
    assert_eq!(ready.json["bytes"].as_u64(), Some(zip.len() as u64));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).expect("a ZIP");
    assert_eq!(archive.len(), 2);
    for (image, size) in [(&a, 1_000), (&b, 2_000)] {
        let name = archive_name(image, Variant::Original);
        assert!(
            name.contains(&image.id.to_string().to_lowercase()),
            "{name}"
        );
        let mut file = archive
            .by_name(&name)
            .expect("named from the prompt and the id");
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("read");
        assert_eq!(bytes.len(), size, "{name}");
    }
    assert!(
        app.files
            .client()
            .head_object()
            .bucket(app.files.bucket())
            .key(format!("archives/{user}/{id}.zip"))
            .send()
            .await
            .is_ok()
    );

    let (stranger, theirs) = app.user().await;
    let foreign = app.get(&format!("/images/archive/{id}"), &theirs).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{stranger}");
}

#[tokio::test]
async fn more_than_a_hundred_ids_or_one_foreign_id_fail_the_whole_request() {
    let app = App::new().await;
    let (user, token) = app.user().await;
    let (other, _) = app.user().await;
    let mine = app.sized_image(user, "mine", 10).await;
    let theirs = app.sized_image(other, "theirs", 10).await;
    let many: Vec<String> = (0..101).map(|_| mine.id.to_string()).collect();
    let too_many = app
        .call(
            "POST",
            "/images/archive",
            Some(&token),
            Some(&json!({"ids": many}).to_string()),
        )
        .await;
    assert_eq!(
        too_many.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_many.text
    );
    assert_eq!(too_many.json["code"], "archive_too_large");
    for ids in [
        json!([mine.id.to_string(), theirs.id.to_string()]),
        json!([mine.id.to_string(), "not-an-id"]),
    ] {
        let refused = app
            .call(
                "POST",
                "/images/archive",
                Some(&token),
                Some(&json!({"ids": ids}).to_string()),
            )
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    }
    let none = app
        .call(
            "POST",
            "/images/archive",
            Some(&token),
            Some(r#"{"ids": []}"#),
        )
        .await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        none.text
    );
    assert_eq!(app.deliver(&app.worker()).await, 0, "nothing queued");
}

#[tokio::test]
async fn archives_past_the_users_paid_limit_are_429_and_queue_nothing_while_status_reads_go_on() {
    let app = App::new().await;
    let router = gallery::App::build(
        gallery::Config {
            paid: artforge_domain::PaidLimits {
                per_address: artforge_domain::RateLimit::per_minute(60),
                per_user: artforge_domain::RateLimit::per_minute(2),
            },
            ..crate::common::config(&app.store, &app.files, &app.queue_url)
        },
        &artforge_testkit::sdk_config(),
    )
    .router();
    let (user, token) = app.user().await;
    let image = app.sized_image(user, "mine", 10).await;
    let body = json!({"ids": [image.id.to_string()]}).to_string();
    let ask = || {
        let request =
            artforge_testkit::http::request("POST", "/images/archive", Some(&token), Some(&body));
        artforge_testkit::http::send(
            &router,
            artforge_testkit::http::from_address(request, "203.0.113.20"),
        )
    };
    // Two a minute for this user; a minute may turn once in the loop.
    let mut admitted = Vec::new();
    let limited = loop {
        let answer = ask().await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            break answer;
        }
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        admitted.push(answer.json["id"].as_str().expect("an id").to_owned());
        assert!(admitted.len() <= 4, "never limited");
    };
    assert!(admitted.len() >= 2, "limited after {}", admitted.len());
    assert_eq!(limited.code(), "rate_limited", "{}", limited.text);
    assert_eq!(
        limited.headers[http::header::CONTENT_TYPE],
        "application/problem+json"
    );
    let wait: u64 = limited.headers[http::header::RETRY_AFTER]
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    for id in &admitted {
        for _ in 0..5 {
            let status = artforge_testkit::http::send(
                &router,
                artforge_testkit::http::request(
                    "GET",
                    &format!("/images/archive/{id}"),
                    Some(&token),
                    None,
                ),
            )
            .await;
            assert_eq!(status.status, StatusCode::OK, "reads are not limited");
        }
    }
    assert_eq!(
        app.deliver(&app.worker()).await,
        admitted.len(),
        "the refused archive queued nothing"
    );
}

#[tokio::test]
async fn bad_archive_requests_answer_a_4xx_problem_and_queue_nothing() {
    let app = App::new().await;
    let (user, token) = app.user().await;
    let (other, theirs) = app.user().await;
    let mine = app.sized_image(user, "mine", 10).await;
    let foreign = app.sized_image(other, "theirs", 10).await;
    let asked = app
        .call(
            "POST",
            "/images/archive",
            Some(&theirs),
            Some(&json!({"ids": [foreign.id.to_string()]}).to_string()),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
    let their_archive = asked.json["id"].as_str().expect("an id").to_owned();
    let expired = {
        let ring = artforge_http::token::Keyring::parse(artforge_testkit::JWT_KEYS).expect("keys");
        artforge_http::token::TokenKeys::new(
            &ring,
            artforge_testkit::JWT_ISSUER,
            artforge_testkit::JWT_AUDIENCE,
            time::Duration::hours(1),
        )
        .issue(
            user,
            0,
            time::OffsetDateTime::now_utc() - time::Duration::hours(2),
        )
        .expect("issued")
        .token
    };
    let id = mine.id.to_string();
    let oversize = json!({"ids": vec![id.clone(); 5_000]}).to_string();
    let one = format!(r#"{{"ids": ["{id}"]}}"#);
    let ours = Some(token.as_str());
    // (method, path, body, bearer, status, code)
    let cases = [
        (
            "POST",
            None,
            r#"{"ids": ["#.to_owned(),
            ours,
            400,
            "invalid_json",
        ),
        (
            "POST",
            None,
            format!("{one} and more"),
            ours,
            400,
            "invalid_json",
        ),
        (
            "POST",
            None,
            "null".to_owned(),
            ours,
            422,
            "validation_failed",
        ),
        (
            "POST",
            None,
            r#"{"ids": "x"}"#.to_owned(),
            ours,
            422,
            "validation_failed",
        ),
        (
            "POST",
            None,
            r#"{"ids": [1, 2]}"#.to_owned(),
            ours,
            422,
            "validation_failed",
        ),
        (
            "POST",
            None,
            format!(r#"{{"ids": ["{id}"], "variant": 5}}"#),
            ours,
            422,
            "validation_failed",
        ),
        (
            "POST",
            None,
            format!(r#"{{"ids": ["{id}"], "variant": "huge"}}"#),
            ours,
            422,
            "validation_failed",
        ),
        (
            "POST",
            None,
            format!(r#"{{"ids": ["{id}"], "zip": true}}"#),
            ours,
            422,
            "validation_failed",
        ),
        ("POST", None, oversize, ours, 413, "payload_too_large"),
        (
            "POST",
            None,
            format!(r#"{{"ids": ["{}"]}}"#, foreign.id),
            ours,
            404,
            "not_found",
        ),
        (
            "POST",
            None,
            one.clone(),
            Some(expired.as_str()),
            401,
            "token_expired",
        ),
        ("POST", None, one.clone(), None, 401, "unauthorized"),
        (
            "GET",
            Some(their_archive.as_str()),
            String::new(),
            ours,
            404,
            "not_found",
        ),
        ("GET", Some("%2e%2e"), String::new(), ours, 404, "not_found"),
        (
            "GET",
            Some(their_archive.as_str()),
            String::new(),
            Some(expired.as_str()),
            401,
            "token_expired",
        ),
    ];
    for (method, archive, body, bearer, status, code) in cases {
        let path = archive.map_or_else(
            || "/images/archive".to_owned(),
            |a| format!("/images/archive/{a}"),
        );
        let answer = app
            .call(
                method,
                &path,
                bearer,
                (!body.is_empty()).then_some(body.as_str()),
            )
            .await;
        let what = format!(
            "{method} {path} {}",
            body.chars().take(60).collect::<String>()
        );
        assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.text);
        assert_eq!(answer.code(), code, "{what}");
        assert_eq!(
            answer.headers[http::header::CONTENT_TYPE],
            "application/problem+json",
            "{what}"
        );
    }
    assert_eq!(
        app.deliver(&app.worker()).await,
        1,
        "only the other user's archive was queued"
    );
}

/// The memory figure in docs/performance.md: run alone, it prints how far the test process's
/// resident memory rose while the worker built a ZIP of 100 images of 1 MiB each (100 MiB of
/// files read and written).
/// `cargo test -p gallery --test it -- --ignored --test-threads=1 archive_memory --nocapture`
#[tokio::test]
#[ignore = "a measurement: run alone (see docs/performance.md)"]
async fn archive_memory_for_a_hundred_images_stays_near_one_part() {
    let app = App::new().await;
    let (user, token) = app.user().await;
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(
            app.sized_image(user, &format!("image {n}"), 1 << 20)
                .await
                .id
                .to_string(),
        );
    }
    let body = json!({"ids": ids, "variant": "original"}).to_string();
    let asked = app
        .call("POST", "/images/archive", Some(&token), Some(&body))
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text);
    let worker = app.worker();
    let before = crate::rss::reset().expect("Linux's /proc");
    let started = std::time::Instant::now();
    assert_eq!(app.deliver(&worker).await, 1);
    let elapsed = started.elapsed();
    let peak = crate::rss::peak().expect("Linux's /proc");
    let id = asked.json["id"].as_str().expect("id");
    let ready = app.get(&format!("/images/archive/{id}"), &token).await;
    assert_eq!(ready.json["status"], "ready", "{}", ready.text);
    let bytes = ready.json["bytes"].as_u64().unwrap_or(0);
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "archive of 100 images: {:.1} MiB written in {:.1} s; resident {:.1} MiB before, peak {:.1} MiB (+{:.1} MiB)",
        mib(bytes),
        elapsed.as_secs_f64(),
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before))
    );
    assert!(bytes > 100 << 20);
    assert!(
        peak.saturating_sub(before) < 48 << 20,
        "the build held far less than the 100 MiB it archived"
    );
}
