//! The generation API: the catalogue, submitting (validation, pricing, the debit with the job,
//! idempotency, concurrency), and reading jobs, end to end through the worker.

use std::collections::HashSet;

use crate::common::{Stack, body, job_id, keys_of, prompt};
use artforge_domain::{ImageFormat, Preset, Tier, Variant, image::object_key};
use http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_catalogue_is_public_and_hides_the_provider_models() {
    let stack = Stack::new().await;
    let answer = stack.send("GET", "/models", None, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let tiers: Vec<&str> = answer.json["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(tiers, ["v2", "v3"]);
    assert_eq!(answer.json["tiers"][0]["maxImages"], 5);
    assert_eq!(answer.json["tiers"][1]["qualities"][1]["credits"], 3);
    let presets: Vec<(String, u64, u64)> = answer.json["presets"]
        .as_array()
        .expect("presets")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default().to_owned(),
                p["width"].as_u64().unwrap_or_default(),
                p["height"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, u64)> = Preset::ALL
        .iter()
        .filter_map(|p| {
            let (width, height) = p.size()?;
            Some((p.as_str().to_owned(), u64::from(width), u64::from(height)))
        })
        .collect();
    assert_eq!(presets, expected);
    assert!(!answer.text.contains("gpt-image"), "{}", answer.text);
}

#[tokio::test]
async fn a_job_for_every_preset_finishes_with_three_files_at_the_exact_pixels() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(10).await;
    let mut jobs = Vec::new();
    for preset in Preset::ALL.iter().filter(|p| p.size().is_some()) {
        let answer = stack
            .submit(&token, &body(&prompt("a lighthouse"), preset.as_str(), 1))
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        assert_eq!(answer.json["job"]["status"], "queued");
        assert_eq!(answer.json["job"]["cost"], 1);
        let id = job_id(&answer);
        assert_eq!(
            answer
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some(format!("/generations/{id}").as_str())
        );
        jobs.push((*preset, id, answer.json["credits"].as_u64()));
    }
    let balances: Vec<Option<u64>> = jobs.iter().map(|j| j.2).collect();
    assert_eq!(
        balances,
        [
            Some(9),
            Some(8),
            Some(7),
            Some(6),
            Some(5),
            Some(4),
            Some(3)
        ]
    );
    assert_eq!(stack.work().await, 7);

    let mut expected_keys = Vec::new();
    for (preset, id, _) in &jobs {
        let job = stack.job(&token, id).await;
        assert_eq!(job.status, StatusCode::OK, "{}", job.text);
        assert_eq!(job.json["status"], "succeeded", "{}", job.text);
        assert_eq!(job.json["refunded"], 0);
        let image = &job.json["images"][0];
        let (width, height) = preset.size().expect("a named preset");
        assert_eq!(
            (image["width"].as_u64(), image["height"].as_u64()),
            (Some(u64::from(width)), Some(u64::from(height)))
        );
        assert_eq!(image["jobId"].as_str(), Some(id.as_str()));
        for url in ["image", "thumbnail", "original"] {
            assert!(
                image["urls"][url]
                    .as_str()
                    .is_some_and(|u| u.contains("X-Amz-Signature")),
                "{url}"
            );
        }
        let image_id = image["id"].as_str().expect("image id");
        let key =
            |variant, ext| object_key(user, image_id.parse().expect("id"), *preset, variant, ext);
        let (bytes, content_type) = stack.object(&key(Variant::Preset, ImageFormat::Jpeg)).await;
        assert_eq!(content_type, "image/jpeg");
        let decoded = image::load_from_memory(&bytes).expect("a JPEG");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (width, height),
            "{preset}"
        );
        let (bytes, content_type) = stack
            .object(&key(Variant::Thumbnail, ImageFormat::Jpeg))
            .await;
        assert_eq!(content_type, "image/jpeg");
        let thumb = image::load_from_memory(&bytes).expect("a JPEG");
        assert_eq!(thumb.width().max(thumb.height()), 384, "{preset}");
        let (bytes, content_type) = stack
            .object(&key(Variant::Original, ImageFormat::Png))
            .await;
        assert_eq!(content_type, "image/png");
        assert!(image::load_from_memory(&bytes).is_ok());
        expected_keys.extend(keys_of(user, image_id, *preset));
    }
    expected_keys.sort();
    assert_eq!(
        stack.objects(user).await,
        expected_keys,
        "three files an image, nothing else"
    );

    let (balance, sum, reasons) = stack.books(user).await;
    assert_eq!((balance, sum), (3, 3), "credits and ledger agree");
    assert_eq!(reasons.iter().filter(|r| *r == "generation").count(), 7);
    assert!(!reasons.iter().any(|r| r == "generation_refund"));

    let gallery_view = stack.send("GET", "/generations", Some(&token), None).await;
    assert_eq!(gallery_view.ids().len(), 7);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_nothing_written() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let long = "x".repeat(2001);
    let cases = [
        (
            json!({"prompt": "p", "model": "v4", "preset": "square"}),
            vec!["model"],
        ),
        (
            json!({"prompt": "p", "model": "v3", "preset": "square", "style": "anime"}),
            vec!["style"],
        ),
        (
            json!({"prompt": "p", "model": "v2", "preset": "banner"}),
            vec!["preset"],
        ),
        (
            json!({"prompt": "p", "model": "v2", "preset": "square", "quality": "high"}),
            vec!["quality"],
        ),
        (
            json!({"prompt": "p", "model": "v2", "preset": "square", "count": 6}),
            vec!["count"],
        ),
        (
            json!({"prompt": "p", "model": "v3", "preset": "square", "count": 2}),
            vec!["count"],
        ),
        (
            json!({"prompt": "p", "model": "v2", "preset": "square", "count": 0}),
            vec!["count"],
        ),
        (
            json!({"prompt": "   ", "model": "v2", "preset": "square"}),
            vec!["prompt"],
        ),
        (
            json!({"prompt": long, "model": "v2", "preset": "square"}),
            vec!["prompt"],
        ),
        (
            json!({"prompt": "p", "model": "v2", "preset": "square", "tags": ["two words"]}),
            vec!["tags"],
        ),
        (
            json!({"prompt": "p", "model": "v2", "preset": "square", "tags": ["a","b","c","d","e","f","g","h","i","j","k"]}),
            vec!["tags"],
        ),
        (json!({"model": "v2"}), vec!["prompt", "preset"]),
        (
            json!({"prompt": "p", "model": "v2", "preset": "square", "count": "2"}),
            vec!["count"],
        ),
        (
            json!({"prompt": "p", "model": "v2", "preset": "square", "seed": 7}),
            vec!["seed"],
        ),
    ];
    for (request, fields) in cases {
        let answer = stack.submit(&token, &request).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{request} -> {}",
            answer.text
        );
        assert_eq!(answer.code(), "validation_failed", "{request}");
        let named: HashSet<String> = answer.fields().into_iter().collect();
        for field in fields {
            assert!(
                named.contains(field),
                "{request} names {field}: {}",
                answer.text
            );
        }
    }
    let answer = stack
        .send("POST", "/generations", Some(&token), Some("{\"prompt\":"))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    let mut plain = artforge_testkit::http::request("POST", "/generations", Some(&token), None);
    *plain.body_mut() = axum::body::Body::from(body("p", "square", 1).to_string());
    let answer = artforge_testkit::http::send(&stack.router, plain).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = json!({"prompt": "x".repeat(70_000), "model": "v2", "preset": "square"});
    let answer = stack.submit(&token, &huge).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let answer = stack
        .submit_with_key(&token, "has space", &body("p", "square", 1))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    let answer = stack
        .send(
            "POST",
            "/generations",
            None,
            Some(&body("p", "square", 1).to_string()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let (balance, _, reasons) = stack.books(user).await;
    assert_eq!(balance, 3);
    assert_eq!(reasons, ["signup"]);
    let jobs = stack.send("GET", "/generations", Some(&token), None).await;
    assert_eq!(jobs.ids().len(), 0);
    assert_eq!(stack.work().await, 0, "nothing queued");
}

#[tokio::test]
async fn a_job_the_balance_cannot_cover_is_a_402_and_writes_nothing() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let v3_high = json!({"prompt": "p", "model": "v3", "preset": "square", "quality": "high"});
    let answer = stack.submit(&token, &v3_high).await;
    assert_eq!(
        answer.status,
        StatusCode::ACCEPTED,
        "3 credits cover 3: {}",
        answer.text
    );
    assert_eq!(answer.json["credits"], 0);
    let answer = stack.submit(&token, &body("p", "square", 1)).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::PAYMENT_REQUIRED, "insufficient_credits")
    );
    let jobs = stack.send("GET", "/generations", Some(&token), None).await;
    assert_eq!(jobs.ids().len(), 1);
    let (balance, sum, _) = stack.books(user).await;
    assert_eq!((balance, sum), (0, 0));
}

#[tokio::test]
async fn another_users_job_is_not_found() {
    let stack = Stack::new().await;
    let (_, ada) = stack.user().await;
    let (_, grace) = stack.user().await;
    let id = job_id(&stack.submit(&ada, &body("p", "square", 1)).await);
    assert_eq!(stack.job(&ada, &id).await.status, StatusCode::OK);
    let foreign = stack.job(&grace, &id).await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(
        stack.job(&ada, "not-a-job").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        stack
            .send("GET", &format!("/generations/{id}"), None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let listed = stack.send("GET", "/generations", Some(&grace), None).await;
    assert_eq!(listed.ids().len(), 0);
}

#[tokio::test]
async fn twenty_concurrent_submissions_on_one_credit_make_exactly_one_job() {
    let stack = Stack::new().await;
    let (user, token) = stack.user_with(1).await;
    let words = prompt("race");
    let request = body(&words, "story", 1);
    let answers = futures::future::join_all((0..20).map(|_| stack.submit(&token, &request))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 402).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(stack.work().await, 1);
    assert_eq!(stack.openai.calls(&words), 1, "one provider call");
    let (balance, sum, reasons) = stack.books(user).await;
    assert_eq!((balance, sum), (0, 0));
    assert_eq!(reasons.iter().filter(|r| *r == "generation").count(), 1);
}

#[tokio::test]
async fn the_same_idempotency_key_makes_one_job_and_another_body_is_refused() {
    let stack = Stack::new().await;
    let (user, token) = stack.user().await;
    let request = body(&prompt("once"), "square", 2);
    let answers =
        futures::future::join_all((0..8).map(|_| stack.submit_with_key(&token, "key-1", &request)))
            .await;
    let ids: HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
            job_id(a)
        })
        .collect();
    assert_eq!(ids.len(), 1, "one job");
    let replays = answers
        .iter()
        .filter(|a| a.headers.contains_key("idempotent-replayed"))
        .count();
    assert_eq!(replays, 7);
    assert!(answers.iter().all(|a| a.json["credits"] == 1));

    let other = stack
        .submit_with_key(&token, "key-1", &body("another", "square", 1))
        .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    let fresh = stack
        .submit_with_key(&token, "key-2", &body("another", "square", 1))
        .await;
    assert_eq!(fresh.status, StatusCode::ACCEPTED);
    assert_ne!(job_id(&fresh), job_id(&answers[0]));

    let (balance, sum, reasons) = stack.books(user).await;
    assert_eq!((balance, sum), (0, 0));
    assert_eq!(reasons, ["signup", "generation", "generation"]);
    // A replay of a job still queued queues it again (its first request may have failed to);
    // the worker runs each job once whatever the number of messages.
    assert!(stack.work().await >= 2);
    assert_eq!(
        stack
            .openai
            .calls(request["prompt"].as_str().unwrap_or_default()),
        1
    );
    let jobs = stack.send("GET", "/generations", Some(&token), None).await;
    assert!(
        jobs.json["items"]
            .as_array()
            .is_some_and(|jobs| jobs.iter().all(|j| j["status"] == "succeeded")),
        "{}",
        jobs.text
    );
}

#[tokio::test]
async fn jobs_are_listed_newest_first_a_page_at_a_time() {
    let stack = Stack::new().await;
    let (_, token) = stack.user().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(job_id(
            &stack
                .submit(&token, &body(&format!("p{n}"), "square", 1))
                .await,
        ));
    }
    ids.reverse();
    let first = stack
        .send("GET", "/generations?limit=2", Some(&token), None)
        .await;
    assert_eq!(first.ids(), ids[..2]);
    let cursor = first.json["nextCursor"].as_str().expect("more");
    let second = stack
        .send(
            "GET",
            &format!("/generations?limit=2&cursor={cursor}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(second.ids(), ids[2..]);
    assert!(second.json["nextCursor"].is_null());
    let forged = stack
        .send("GET", "/generations?cursor=forged", Some(&token), None)
        .await;
    assert_eq!(
        (forged.status, forged.code()),
        (StatusCode::BAD_REQUEST, "invalid_cursor")
    );
    assert_eq!(
        first.json["items"][0]["request"]["model"],
        Tier::V2.as_str()
    );
}

fn limited(images_per_user: u32, spend_cap_micros: u64) -> crate::common::Options {
    crate::common::Options {
        limits: artforge_domain::DailyLimits {
            images_per_user,
            spend_cap_micros,
            free_spend_cap_micros: spend_cap_micros,
        },
        ..crate::common::Options::default()
    }
}

fn retry_after(answer: &crate::common::Answer) -> u64 {
    answer
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After on {}", answer.text))
}

#[tokio::test]
async fn the_daily_quota_stops_one_user_charges_nothing_and_spares_replays_and_others() {
    let stack = Stack::with(limited(4, u64::MAX)).await;
    let (user, token) = stack.user_with(10).await;
    let first = body(&prompt("quota"), "square", 3);
    let accepted = stack.submit_with_key(&token, "first", &first).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.text);

    // 3 + 2 > 4: refused whole, with when to come back.
    let over = stack.submit(&token, &body("p", "square", 2)).await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::TOO_MANY_REQUESTS, "daily_quota_exceeded"),
        "{}",
        over.text
    );
    assert!((1..=86_400).contains(&retry_after(&over)));
    // A request larger than a whole day is refused the same way.
    let whole_day = stack.submit(&token, &body("p", "square", 5)).await;
    assert_eq!(whole_day.code(), "daily_quota_exceeded");
    // Exactly up to the quota still fits, then nothing more.
    let last = stack.submit(&token, &body("p", "square", 1)).await;
    assert_eq!(last.status, StatusCode::ACCEPTED, "{}", last.text);
    let after = stack.submit(&token, &body("p", "square", 1)).await;
    assert_eq!(after.code(), "daily_quota_exceeded");
    // A replay of an accepted request is not a new request.
    let replay = stack.submit_with_key(&token, "first", &first).await;
    assert_eq!(replay.status, StatusCode::ACCEPTED, "{}", replay.text);
    assert_eq!(replay.json["job"]["id"], accepted.json["job"]["id"]);

    let (balance, sum, reasons) = stack.books(user).await;
    assert_eq!((balance, sum), (6, 6), "charged for 4 images only");
    assert_eq!(reasons.iter().filter(|r| *r == "generation").count(), 2);
    let jobs = stack.send("GET", "/generations", Some(&token), None).await;
    assert_eq!(jobs.ids().len(), 2);
    // Two jobs; the replay of the first, still queued, queued it again.
    assert_eq!(stack.work().await, 3, "only accepted jobs were queued");
    assert_eq!(
        stack
            .openai
            .calls(first["prompt"].as_str().unwrap_or_default()),
        1
    );

    let (_, other) = stack.user().await;
    let theirs = stack.submit(&other, &body("p", "square", 3)).await;
    assert_eq!(
        theirs.status,
        StatusCode::ACCEPTED,
        "another user's quota is their own"
    );
}

#[tokio::test]
async fn concurrent_submissions_of_many_users_never_overshoot_the_spend_cap() {
    // v2 low costs 0.016 USD an image in the shipped catalogue: room for exactly five.
    let stack = Stack::with(limited(100, 5 * 16_000)).await;
    let mut users = Vec::new();
    for _ in 0..8 {
        users.push(stack.user().await);
    }
    let request = json!({"prompt": "budget", "model": "v2", "preset": "square", "quality": "low"});
    let answers =
        futures::future::join_all(users.iter().map(|(_, token)| stack.submit(token, &request)))
            .await;
    let accepted = answers.iter().filter(|a| a.status == StatusCode::ACCEPTED);
    assert_eq!(
        accepted.count(),
        5,
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    for answer in answers.iter().filter(|a| a.status != StatusCode::ACCEPTED) {
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "generation_paused"),
            "{}",
            answer.text
        );
        assert!(retry_after(answer) >= 1);
    }
    let mut spent = 0;
    for (user, _) in &users {
        let (balance, sum, _) = stack.books(*user).await;
        assert_eq!(balance as i64, sum, "balance equals the ledger");
        assert!(balance == 2 || balance == 3, "debited once or not at all");
        spent += 3 - balance;
    }
    assert_eq!(spent, 5);
    // A medium image (0.063) does not fit what is left (nothing): still refused.
    let (_, token) = stack.user().await;
    let medium = stack.submit(&token, &body("p", "square", 1)).await;
    assert_eq!(medium.code(), "generation_paused");
}

#[tokio::test]
async fn a_spent_free_budget_pauses_free_credits_only_and_says_so() {
    // Room for one free v2 low image a day; purchased credits have a budget of their own.
    let stack = Stack::with(crate::common::Options {
        limits: artforge_domain::DailyLimits {
            images_per_user: 100,
            spend_cap_micros: 1_000_000,
            free_spend_cap_micros: 16_000,
        },
        ..crate::common::Options::default()
    })
    .await;
    let request = json!({"prompt": "free", "model": "v2", "preset": "square", "quality": "low"});
    let (_, first) = stack.user().await;
    assert_eq!(
        stack.submit(&first, &request).await.status,
        StatusCode::ACCEPTED
    );
    let (free, second) = stack.user().await;
    let paused = stack.submit(&second, &request).await;
    assert_eq!(
        (paused.status, paused.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "generation_paused"),
        "{}",
        paused.text
    );
    assert!(paused.text.contains("free credits"), "{}", paused.text);
    assert!(retry_after(&paused) >= 1);
    assert_eq!(stack.books(free).await.0, 3, "nothing charged");

    // A paying user (no free credits left, 5 bought) generates all the same.
    let (paying, token) = stack.user_with(0).await;
    let cause = artforge_domain::CreditCause::Purchase {
        checkout_session: format!("cs_paying_{paying}"),
        step: 1,
        reason: artforge_domain::Change::Paid,
    };
    artforge_domain::Ledger::apply(
        &stack.store,
        paying,
        &cause,
        artforge_domain::Movement::Purchase(artforge_domain::Credits::new(5)),
    )
    .await
    .expect("bought");
    let accepted = stack.submit(&token, &request).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.text);
}

#[tokio::test]
async fn paid_requests_past_the_limit_of_one_client_address_are_rate_limited_whoever_asks() {
    let stack = crate::common::Stack::with(crate::common::Options {
        paid: artforge_domain::PaidLimits {
            per_address: artforge_domain::RateLimit::per_minute(2),
            per_user: artforge_domain::RateLimit::per_minute(30),
        },
        ..Default::default()
    })
    .await;
    let submit_from = |from: &'static str, token: String| {
        let stack = &stack;
        async move {
            let request = artforge_testkit::http::request(
                "POST",
                "/generations",
                Some(&token),
                Some(&body(&prompt("a lighthouse"), "square", 1).to_string()),
            );
            artforge_testkit::http::send(
                &stack.router,
                artforge_testkit::http::from_address(request, from),
            )
            .await
        }
    };
    // Two a minute from 203.0.113.9, whoever asks; a minute may turn once in the loop.
    let mut admitted = 0;
    let limited = loop {
        let (_, token) = stack.user_with(10).await;
        let answer = submit_from("203.0.113.9", token).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            break answer;
        }
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        admitted += 1;
        assert!(admitted <= 4, "never limited");
    };
    assert!(admitted >= 2, "limited after {admitted}");
    assert_eq!(limited.code(), "rate_limited", "{}", limited.text);
    assert!(limited.headers.contains_key(http::header::RETRY_AFTER));
    let (_, token) = stack.user_with(10).await;
    let elsewhere = submit_from("198.51.100.9", token).await;
    assert_eq!(elsewhere.status, StatusCode::ACCEPTED, "{}", elsewhere.text);
}
