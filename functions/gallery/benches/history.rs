//! History page cost: 1,000 images, pages of 50 with two filters (`model` and `preset`), through
//! the real router and DynamoDB adapter against moto. Prints DynamoDB requests per page, items
//! read per page with an estimate of the read capacity they cost on DynamoDB, and p50/p90 handler
//! time. Run: `cargo bench -p gallery --bench history` (moto from `make setup`).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use artforge_domain::{
    Image, ImageFormat, ImageId, Images, JobId, Preset, Quality, Style, Tags, Tier, Visibility,
};
use artforge_s3::BucketConfig;
use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use aws_smithy_types::{body::SdkBody, byte_stream::ByteStream};
use axum::body::Body;
use http::{Request, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

#[derive(Debug, Default)]
struct Stats {
    requests: u64,
    scanned: u64,
    returned_bytes: u64,
    returned_items: u64,
}

/// Counts every DynamoDB request, and what queries read. It sits in the SDK configuration's HTTP
/// client, the one place the gallery's wiring (`gallery::App::build`) takes from outside, so
/// it reads DynamoDB's JSON answers rather than the SDK's decoded outputs.
#[derive(Debug, Clone)]
struct Meter {
    stats: Arc<Mutex<Stats>>,
    inner: SharedHttpClient,
}

/// An attribute value's size as DynamoDB's wire JSON carries it (`{"S": "..."}`, ...).
fn size(value: &Value) -> u64 {
    match value.as_object().and_then(|typed| typed.iter().next()) {
        Some((kind, Value::String(s))) if kind == "S" || kind == "N" => s.len() as u64,
        Some((kind, Value::Array(list))) if kind == "L" => {
            3 + list.iter().map(|v| 1 + size(v)).sum::<u64>()
        }
        Some((kind, _)) if kind == "BOOL" || kind == "NULL" => 1,
        _ => 8,
    }
}

impl Meter {
    fn count(&self, query: Option<&Value>) -> Result<(), &'static str> {
        let mut stats = self.stats.lock().map_err(|_| "poisoned")?;
        stats.requests += 1;
        if let Some(query) = query {
            stats.scanned += query["ScannedCount"].as_u64().unwrap_or(0);
            for item in query["Items"].as_array().into_iter().flatten() {
                stats.returned_items += 1;
                stats.returned_bytes += item
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| k.len() as u64 + size(v))
                    .sum::<u64>();
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Metered {
    meter: Meter,
    inner: SharedHttpConnector,
}

impl HttpClient for Meter {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Metered {
            meter: self.clone(),
            inner: self.inner.http_connector(settings, components),
        })
    }
}

impl HttpConnector for Metered {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(target) = request
            .headers()
            .get("x-amz-target")
            .filter(|t| t.starts_with("DynamoDB_"))
            .map(str::to_owned)
        else {
            return self.inner.call(request);
        };
        let (meter, answer) = (self.meter.clone(), self.inner.call(request));
        HttpConnectorFuture::new(async move {
            let mut response = answer.await?;
            let mut query = None;
            if target.ends_with(".Query") {
                let bytes = ByteStream::new(response.take_body())
                    .collect()
                    .await
                    .map_err(|e| ConnectorError::io(e.into()))?
                    .into_bytes();
                query = serde_json::from_slice::<Value>(&bytes).ok();
                *response.body_mut() = SdkBody::from(bytes);
            }
            meter
                .count(query.as_ref())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            Ok(response)
        })
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test` runs this once, small, as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (images, runs) = if smoke { (60, 1) } else { (1000, 40) };
    let direct = artforge_testkit::sdk_config();
    let meter = Meter {
        stats: Arc::default(),
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
