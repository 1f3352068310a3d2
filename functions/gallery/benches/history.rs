//! History page cost: 1,000 images, pages of 50 with two filters (`model` and `preset`), through
//! the real router and DynamoDB adapter against moto. Prints DynamoDB requests per page, items
//! read per page with an estimate of the read capacity they cost on DynamoDB, and p50/p90 handler
//! time. Run: `cargo bench -p gallery --bench history` (moto from `make setup`).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use artforge_domain::{Image, ImageId, Images, JobId, Preset, Tags, Tier, Visibility};
use artforge_dynamo::DynamoStore;
use aws_sdk_dynamodb::{
    config::{
        ConfigBag, Intercept, RuntimeComponents,
        interceptors::AfterDeserializationInterceptorContextRef,
    },
    error::BoxError,
    operation::query::QueryOutput,
    types::AttributeValue,
};
use axum::body::Body;
use http::{Request, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Debug, Default)]
struct Stats {
    requests: u64,
    scanned: u64,
    returned_bytes: u64,
    returned_items: u64,
}

/// Counts every DynamoDB request, and what queries read.
#[derive(Debug, Clone, Default)]
struct Meter(Arc<Mutex<Stats>>);

fn size(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len() as u64,
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + size(v)).sum::<u64>(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        _ => 8,
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "meter"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut stats = self.0.lock().map_err(|_| "poisoned")?;
        stats.requests += 1;
        if let Some(Ok(output)) = context.inner().output_or_error()
            && let Some(query) = output.downcast_ref::<QueryOutput>()
        {
            stats.scanned += u64::try_from(query.scanned_count()).unwrap_or(0);
            for item in query.items() {
                stats.returned_items += 1;
                stats.returned_bytes += item
                    .iter()
                    .map(|(k, v)| k.len() as u64 + size(v))
                    .sum::<u64>();
            }
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let aws = artforge_testkit::sdk_config();
    let meter = Meter::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws)
            .interceptor(meter.clone())
            .build(),
    );
    let plain = artforge_testkit::fresh_store().await;
    let store = DynamoStore::new(client, plain.table().to_owned());
    let files = artforge_testkit::fresh_files().await;
    let (owner, token) = artforge_testkit::signed_in_user(&store).await;

    let tiers = [Tier::V2, Tier::V3];
    let presets = Preset::ALL;
    for i in 0..1000usize {
        let preset = presets[i % presets.len()];
        let (width, height) = preset.size();
        let image = Image {
            id: ImageId::new(),
            owner,
            job: JobId::new(),
            prompt: format!("a lighthouse at dusk, number {i}, in the style of an old postcard"),
            tier: tiers[(i / 4) % 2],
            style: "vivid".into(),
            preset,
            quality: "medium".into(),
            width,
            height,
            tags: Tags::parse(&["sea", if i % 3 == 0 { "night" } else { "day" }]).expect("tags"),
            visibility: Visibility::Private,
            likes: 0,
            created_at: time::OffsetDateTime::now_utc(),
            original_ext: "png".into(),
            variant_ext: "jpeg".into(),
        };
        store.add(&image).await.expect("add");
    }

    let config = gallery::Config {
        table_name: store.table().to_owned(),
        bucket_name: files.bucket().to_owned(),
        session: artforge_testkit::session_config(),
        presign_ttl: Duration::from_secs(300),
        public_base_url: "https://artforge.example".into(),
        s3_force_path_style: true,
    };
    let router = gallery::router(gallery::GalleryState::new(&config, store.clone(), files));

    let mut times = Vec::new();
    let mut per_page = Vec::new();
    let runs = 40;
    for _ in 0..runs {
        let mut cursor = String::new();
        loop {
            let before = {
                let s = meter.0.lock().expect("stats");
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
            let after = meter.0.lock().expect("stats");
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
        "history page of 50, model=v3&preset=story, over 1,000 images (125 match), {runs} walks of {pages} pages"
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
