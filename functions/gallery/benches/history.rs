//! History page cost: 1,000 images, pages of 50 with two filters (`model` and `preset`), through
//! the real router and DynamoDB adapter against moto. Prints DynamoDB requests per page, items
//! read per page with an estimate of the read capacity they cost on DynamoDB, and p50/p90 handler
//! time. Run: `cargo bench -p gallery --bench history` (moto from `make setup`).

use std::time::{Duration, Instant};

use artforge_domain::{
    Image, ImageFormat, ImageId, Images, JobId, Preset, Quality, Style, Tags, Tier, Visibility,
};
use artforge_s3::BucketConfig;
use axum::body::Body;
use http::{Request, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "common/meter.rs"]
mod meter;

use meter::Meter;

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test` runs this once, small, as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (images, runs) = if smoke { (60, 1) } else { (1000, 40) };
    let direct = artforge_testkit::sdk_config();
    let meter = Meter {
        stats: std::sync::Arc::default(),
        inner: direct
            .http_client()
            .expect("the SDK configuration's HTTP client"),
    };
    let aws = direct.to_builder().http_client(meter.clone()).build();
    let store = artforge_testkit::fresh_store().await;
    let files = artforge_testkit::fresh_files().await;
    let (owner, token) = artforge_testkit::signed_in_user(&store).await;

    let tiers = [Tier::V2, Tier::V3];
    let presets = Preset::ALL;
    for i in 0..images {
        let preset = presets[i % presets.len()];
        let (width, height) = preset.size().unwrap_or((1024, 1024));
        let image = Image {
            id: ImageId::new(),
            owner,
            job: JobId::new(),
            prompt: format!("a lighthouse at dusk, number {i}, in the style of an old postcard"),
            tier: tiers[(i / 4) % 2],
            style: Style::Vivid,
            preset,
            quality: Quality::Medium,
            width,
            height,
            tags: Tags::parse(&["sea", if i % 3 == 0 { "night" } else { "day" }]).expect("tags"),
            visibility: Visibility::Private,
            likes: 0,
            created_at: time::OffsetDateTime::now_utc(),
            original_format: ImageFormat::Png,
            variant_format: ImageFormat::Jpeg,
            background: artforge_domain::Background::Auto,
            lineage: artforge_domain::edit::Lineage::default(),
        };
        store.add(&image).await.expect("add");
    }

    let config = gallery::Config {
        table_name: store.table().to_owned(),
        bucket: BucketConfig {
            bucket_name: files.bucket().to_owned(),
            force_path_style: true,
            presign_ttl: Duration::from_secs(300),
        },
        session: artforge_testkit::session_config(),
        public_base_url: "https://artforge.example".into(),
        account_queue_url: "http://127.0.0.1:1/unused-queue".into(),
        paid: artforge_domain::PaidLimits::default(),
    };
    let router = gallery::App::build(config, &aws).router();

    let mut times = Vec::new();
    let mut per_page = Vec::new();
    for _ in 0..runs {
        let mut cursor = String::new();
        loop {
            let before = {
                let s = meter.stats.lock().expect("stats");
                (s.requests, s.scanned, s.returned_bytes, s.returned_items)
            };
            let request = Request::get(format!("/images?model=v3&preset=story&limit=50{cursor}"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request");
            let start = Instant::now();
            let response = router.clone().oneshot(request).await.expect("infallible");
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            times.push(start.elapsed());
            let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
            let after = meter.stats.lock().expect("stats");
            per_page.push((
                after.requests - before.0,
                after.scanned - before.1,
                after.returned_bytes - before.2,
                after.returned_items - before.3,
                json["items"].as_array().map_or(0, Vec::len),
            ));
            match json["nextCursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
    }
    times.sort();
    let pages = per_page.len() / runs;
    println!(
        "history page of 50, model=v3&preset=story, over {images} images (one in eight match), {runs} walks of {pages} pages"
    );
    for (page, stats) in per_page.iter().take(pages).enumerate() {
        let (requests, scanned, bytes, items, shown) = *stats;
        let avg = bytes.checked_div(items).unwrap_or(0);
        // Query reads cost 0.5 RCU per 4 KB of items read (eventually consistent), summed per request.
        let rcu = (scanned * avg).div_ceil(4096) as f64 / 2.0;
        println!(
            "  page {}: {shown} images, {requests} DynamoDB requests (the session check is 1), {scanned} items read, ~{avg} B each, ~{rcu} RCU",
            page + 1
        );
    }
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "handler time: p50 {:?}, p90 {:?} over {} pages",
        p(0.5),
        p(0.9),
        times.len()
    );
}
