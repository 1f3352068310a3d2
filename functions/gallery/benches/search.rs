//! Search page cost (docs/decisions/0140-search-index.md): 10,000 images of one user searched in
//! the history (`GET /images?q=`, a filter over the user's partition), and 10,000 public images
//! searched in the feed (`GET /feed?q=`, the stem index in `gsi1`), pages of 50 (at most 5 a
//! query), through the real router and DynamoDB adapter against moto. Prints, per query, the
//! first page and the average page: DynamoDB requests, the items queries read, the items batch
//! reads return, and the read capacity they cost on DynamoDB (estimated from items and sizes).
//! Run: `cargo bench -p gallery --bench search` (moto from `make setup`); `-- --bench feed` or
//! `-- --bench history` for one list.

use std::time::{Duration, Instant};

use artforge_domain::{
    Image, ImageFormat, ImageId, Images, JobId, Preset, Quality, Style, Tags, Tier, UserId,
    Visibility,
};
use artforge_s3::BucketConfig;
use axum::body::Body;
use futures::StreamExt;
use http::{Request, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "common/meter.rs"]
mod meter;

use meter::Meter;

// Ten of each, distinct stems: a colour is one image in ten, a colour and an animal one in a
// hundred, and a place too one in a thousand.
const COLOURS: [&str; 10] = [
    "red", "blue", "green", "amber", "violet", "white", "black", "orange", "silver", "pink",
];
const ANIMALS: [&str; 10] = [
    "fox", "owl", "cat", "deer", "heron", "otter", "wolf", "bear", "crane", "seal",
];
const PLACES: [&str; 10] = [
    "harbour", "forest", "desert", "meadow", "canyon", "glacier", "island", "valley", "city",
    "tundra",
];

struct Walk {
    pages: usize,
    shown: usize,
    requests: u64,
    scanned: u64,
    query_rcu: f64,
    batch_items: u64,
    batch_rcu: f64,
    first: (u64, u64, f64, u64, f64, usize),
    times: Vec<Duration>,
}

/// Walks every page of `path` (at most `max_pages`), metering each.
async fn walk(
    router: &axum::Router,
    meter: &Meter,
    path: &str,
    token: Option<&str>,
    max_pages: usize,
) -> Walk {
    let mut walk = Walk {
        pages: 0,
        shown: 0,
        requests: 0,
        scanned: 0,
        query_rcu: 0.0,
        batch_items: 0,
        batch_rcu: 0.0,
        first: (0, 0, 0.0, 0, 0.0, 0),
        times: Vec::new(),
    };
    let mut cursor = String::new();
    while walk.pages < max_pages {
        let before = snapshot(meter);
        let mut request = Request::get(format!("{path}&limit=50{cursor}"));
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let start = Instant::now();
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        walk.times.push(start.elapsed());
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let after = snapshot(meter);
        let (requests, scanned, bytes, items, batch_items, batch_rcu) = (
            after.0 - before.0,
            after.1 - before.1,
            after.2 - before.2,
            after.3 - before.3,
            after.4 - before.4,
            after.5 - before.5,
        );
        // Query reads cost 0.5 RCU per 4 KB of items read (eventually consistent), summed per
        // request; the items filtered out are of the size of those returned.
        let avg = bytes.checked_div(items).unwrap_or(0);
        let query_rcu = (scanned * avg).div_ceil(4096) as f64 / 2.0;
        let shown = json["items"].as_array().map_or(0, Vec::len);
        if walk.pages == 0 {
            walk.first = (requests, scanned, query_rcu, batch_items, batch_rcu, shown);
        }
        walk.pages += 1;
        walk.shown += shown;
        walk.requests += requests;
        walk.scanned += scanned;
        walk.query_rcu += query_rcu;
        walk.batch_items += batch_items;
        walk.batch_rcu += batch_rcu;
        match json["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    walk
}

fn snapshot(meter: &Meter) -> (u64, u64, u64, u64, u64, f64) {
    let s = meter.stats.lock().expect("stats");
    (
        s.requests,
        s.scanned,
        s.returned_bytes,
        s.returned_items,
        s.batch_items,
        s.batch_rcu,
    )
}

/// The `i`th image of the set: one in ten has each colour, one in a hundred each colour and
/// animal, one in a thousand each colour, animal and place.
fn bench_image(i: usize, owner: UserId, visibility: Visibility) -> Image {
    let preset = Preset::ALL[i % Preset::ALL.len()];
    let (width, height) = preset.size().unwrap_or((1024, 1024));
    let (colour, animal, place) = (
        COLOURS[i % 10],
        ANIMALS[(i / 10) % 10],
        PLACES[(i / 100) % 10],
    );
    Image {
        id: ImageId::new(),
        owner,
        job: JobId::new(),
        prompt: format!("a {colour} {animal} near the {place} at dusk, in soft light, number {i}"),
        tier: [Tier::V2, Tier::V3][(i / 4) % 2],
        style: Style::Vivid,
        preset,
        quality: Quality::Medium,
        width,
        height,
        tags: Tags::parse(&["bench"]).expect("tags"),
        visibility,
        likes: 0,
        created_at: time::OffsetDateTime::now_utc(),
        original_format: ImageFormat::Png,
        variant_format: ImageFormat::Jpeg,
        background: artforge_domain::Background::Auto,
        lineage: artforge_domain::edit::Lineage::default(),
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test` runs this once, small, as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let images = if smoke { 200 } else { 10_000 };
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

    // The history: one user's private images. The feed: as many public images of a hundred
    // other users (moto scans a whole partition per query, so one user's history and the
    // index entries of as many public images would make moto, not the bench, the subject).
    // `-- --bench feed` (or `history`): that list only.
    let only = std::env::args().find(|a| a == "feed" || a == "history");
    let seeding = Instant::now();
    let publishers: Vec<UserId> = (0..100).map(|_| UserId::new()).collect();
    let made: Vec<Image> = (0..images)
        .filter(|_| only.as_deref() != Some("feed"))
        .map(|i| bench_image(i, owner, Visibility::Private))
        .chain(
            (0..images)
                .filter(|_| only.as_deref() != Some("history"))
                .map(|i| bench_image(i, publishers[i % 100], Visibility::Public)),
        )
        .collect();
    futures::stream::iter(made.iter().map(|image| store.add(image)))
        .buffer_unordered(8)
        .for_each(|added| async move { added.expect("added") })
        .await;
    let public = made
        .iter()
        .filter(|i| i.visibility == Visibility::Public)
        .count();
    println!(
        "{} private images of one user and {public} public images of 100 others seeded (image items and index entries) in {:?}",
        made.len() - public,
        seeding.elapsed()
    );

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

    println!(
        "pages of 50; requests include the session check (history) and the likedByMe batch read"
    );
    println!(
        "| list | q | matches | pages | first page: requests, items queried, query RCU, items batch-read, batch RCU | per page on average: requests, items queried, RCU | handler p50 |"
    );
    println!("|---|---|---|---|---|---|---|");
    let max_pages = if smoke { 3 } else { 5 };
    for (list, path, q, signed_in) in [
        ("history", "/images?", "red", true),
        ("history", "/images?", "red%20fox", true),
        ("history", "/images?", "red%20fox%20harb", true),
        ("feed", "/feed?", "red", false),
        ("feed", "/feed?", "red%20fox", false),
        ("feed", "/feed?", "red%20fox%20harb", false),
        ("feed", "/feed?", "re", false),
    ] {
        if only.as_deref().is_some_and(|only| only != list) {
            continue;
        }
        let path = format!("{path}q={q}");
        let mut walk = walk(
            &router,
            &meter,
            &path,
            signed_in.then_some(token.as_str()),
            max_pages,
        )
        .await;
        walk.times.sort();
        let p50 = walk.times[walk.times.len() / 2];
        let pages = walk.pages as f64;
        let (requests, scanned, query_rcu, batch_items, batch_rcu, _) = walk.first;
        println!(
            "| {list} | `{}` | {}{} | {} | {requests}, {scanned}, {query_rcu}, {batch_items}, {batch_rcu} | {:.1}, {:.0}, {:.1} | {p50:?} |",
            q.replace("%20", " "),
            walk.shown,
            if walk.pages == max_pages { "+" } else { "" },
            walk.pages,
            walk.requests as f64 / pages,
            walk.scanned as f64 / pages,
            (walk.query_rcu + walk.batch_rcu) / pages,
        );
    }
}
