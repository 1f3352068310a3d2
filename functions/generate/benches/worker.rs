//! The worker's own cost per image, the provider excluded: claim, the pipeline (decode, cover +
//! crop to the preset, thumbnail, JPEG q85), three uploads, and the finishing transaction, for
//! jobs of five 1024x1536 images on the story preset, through the real job runner over
//! DynamoDB and S3 on moto.
//! The provider is a stand-in that answers at once with pictures rendered before the clock
//! starts, so nothing of the provider's time is counted. Prints p50/p90 per image of the whole
//! worker and of the pipeline alone (the rest is uploads and writes).
//! Then what live previews add (streaming): the same jobs with a provider that streams two
//! 1024x1536 PNG partial images before answering, and the previews' own work alone (two
//! partial images made 512-pixel JPEGs, stored, listed on the job, and removed at the end).
//! Run: `cargo bench -p generate --bench worker` (moto from `make setup`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use artforge_domain::{
    Catalog, CreditCause, Credits, Job, Ledger, Movement, ProviderError, ProviderRequest,
    RawGeneration,
    ports::{ImageProvider, Jobs},
};
use artforge_imaging::{Pipeline, PipelineConfig};
use generate::usecases::{
    previews::PreviewPolicy,
    run::{JobRunner, Outcome},
};

const JOBS: usize = 12;
const IMAGES: u8 = 5;

/// Answers every request at once with the same pictures.
struct Ready(Vec<Vec<u8>>);

impl ImageProvider for Ready {
    async fn generate(
        &self,
        request: &ProviderRequest,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        Ok(self
            .0
            .iter()
            .take(usize::from(request.count))
            .cloned()
            .map(Ok)
            .collect())
    }
}

/// Answers like [`Ready`], after streaming its partial images when asked for previews.
struct Streaming {
    ready: Ready,
    partials: Vec<Vec<u8>>,
}

impl ImageProvider for Streaming {
    async fn generate(
        &self,
        request: &ProviderRequest,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        self.ready.generate(request).await
    }

    async fn generate_with_previews(
        &self,
        request: &ProviderRequest,
        partials: &artforge_domain::Partials,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        for (index, bytes) in (0..partials.wanted()).zip(&self.partials) {
            partials.send(artforge_domain::PartialImage {
                index,
                bytes: bytes.clone(),
            });
        }
        self.ready.generate(request).await
    }
}

/// A 1024x1536 PNG with gradients and detail, like a provider's answer.
fn picture(seed: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(1024, 1536, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed).wrapping_mul(2_654_435_761);
        image::Rgb([
            ((x * 255 / 1024) as u8).wrapping_add((n >> 28) as u8),
            ((y * 255 / 1536) as u8).wrapping_add((n >> 20) as u8 & 15),
            (((x + y) * 255 / 2560) as u8) ^ ((n >> 24) as u8 & 7),
        ])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    png
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    // `cargo bench` passes `--bench`; `cargo test` runs this once, small, as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (jobs, alone_runs) = if smoke { (2, 1) } else { (JOBS, 20) };
    let store = artforge_testkit::fresh_store().await;
    let files = artforge_testkit::fresh_files().await;
    let catalog =
        Arc::new(Catalog::from_json(generate::config::SHIPPED_CATALOG).expect("catalogue"));
    let pictures: Vec<Vec<u8>> = (0..u32::from(IMAGES)).map(picture).collect();
    let pipeline = Arc::new(Pipeline::new(PipelineConfig::default()));

    // The pipeline alone, one image at a time.
    let mut alone = Vec::new();
    for png in pictures.iter().cycle().take(alone_runs) {
        let started = Instant::now();
        pipeline.process(png, (1080, 1920)).expect("processed");
        alone.push(started.elapsed());
    }
    alone.sort();

    let runner = JobRunner {
        jobs: store.clone(),
        provider: Ready(pictures.clone()),
        files: files.clone(),
        catalog: catalog.clone(),
        pipeline: pipeline.clone(),
        lease: Duration::from_secs(150),
        previews: PreviewPolicy::off(),
    };
    let (user, _) = artforge_testkit::signed_in_user(&store).await;
    store
        .apply(
            user,
            &CreditCause::Purchase {
                checkout_session: "cs_bench".into(),
                step: 1,
                reason: artforge_domain::Change::Paid,
            },
            Movement::Purchase(Credits::new(1000)),
        )
        .await
        .expect("credits");

    let mut per_image = Vec::new();
    for n in 0..jobs {
        let request = catalog
            .validate(RawGeneration {
                prompt: Some(format!("bench {n}")),
                model: Some("v2".into()),
                preset: Some("story".into()),
                count: Some(u64::from(IMAGES)),
                ..RawGeneration::default()
            })
            .expect("valid");
        let job = Job::new(
            user,
            request,
            Credits::new(1),
            time::OffsetDateTime::now_utc(),
        )
        .expect("priced");
        let admission = artforge_domain::Admission {
            spend_micros: 1,
            limits: artforge_domain::DailyLimits {
                images_per_user: u32::MAX,
                spend_cap_micros: u64::MAX,
                free_spend_cap_micros: u64::MAX,
            },
        };
        store
            .submit(&job, None, &admission, time::OffsetDateTime::now_utc())
            .await
            .expect("submitted");
        let started = Instant::now();
        let outcome = runner.run(user, job.id).await;
        let elapsed = started.elapsed();
        assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
        if n > 0 {
            // The first job warms the connections.
            per_image.push(elapsed / u32::from(IMAGES));
        }
    }
    per_image.sort();
    println!(
        "worker per image, provider excluded ({} jobs of {IMAGES} story images, 1024x1536 PNG in): p50 {:.1} ms, p90 {:.1} ms",
        per_image.len(),
        percentile(&per_image, 0.5).as_secs_f64() * 1e3,
        percentile(&per_image, 0.9).as_secs_f64() * 1e3,
    );
    println!(
        "  of which the pipeline alone, one image at a time: p50 {:.1} ms, p90 {:.1} ms (images of a job run concurrently)",
        percentile(&alone, 0.5).as_secs_f64() * 1e3,
        percentile(&alone, 0.9).as_secs_f64() * 1e3,
    );
    streaming(jobs, &store, &files, &catalog, &pipeline, user, &pictures).await;
}

/// A priced, submitted job of `count` story images for `user`.
async fn submitted(
    store: &artforge_dynamo::DynamoStore,
    catalog: &Catalog,
    user: artforge_domain::UserId,
    prompt: String,
    model: &str,
    count: u8,
) -> Job {
    let request = catalog
        .validate(RawGeneration {
            prompt: Some(prompt),
            model: Some(model.into()),
            preset: Some("story".into()),
            count: Some(u64::from(count)),
            ..RawGeneration::default()
        })
        .expect("valid");
    let job = Job::new(
        user,
        request,
        Credits::new(1),
        time::OffsetDateTime::now_utc(),
    )
    .expect("priced");
    let admission = artforge_domain::Admission {
        spend_micros: 1,
        limits: artforge_domain::DailyLimits {
            images_per_user: u32::MAX,
            spend_cap_micros: u64::MAX,
            free_spend_cap_micros: u64::MAX,
        },
    };
    store
        .submit(&job, None, &admission, time::OffsetDateTime::now_utc())
        .await
        .expect("submitted");
    job
}

/// What streaming adds: whole jobs with previews on (two partial images each), and the
/// previews' own work alone per job (made, stored, listed twice, removed).
async fn streaming(
    jobs: usize,
    store: &artforge_dynamo::DynamoStore,
    files: &artforge_s3::S3Files,
    catalog: &Arc<Catalog>,
    pipeline: &Arc<Pipeline>,
    user: artforge_domain::UserId,
    pictures: &[Vec<u8>],
) {
    let partials: Vec<Vec<u8>> = (100..102).map(picture).collect();
    let policy = PreviewPolicy {
        // Every partial image listed, as when they come seconds apart.
        write_interval: Duration::ZERO,
        ..PreviewPolicy::default()
    };
    let runner = JobRunner {
        jobs: store.clone(),
        provider: Streaming {
            ready: Ready(pictures.to_vec()),
            partials: partials.clone(),
        },
        files: files.clone(),
        catalog: catalog.clone(),
        pipeline: pipeline.clone(),
        lease: Duration::from_secs(150),
        previews: policy,
    };
    let mut per_image = Vec::new();
    for n in 0..jobs {
        let job = submitted(store, catalog, user, format!("stream {n}"), "v2", IMAGES).await;
        let started = Instant::now();
        let outcome = runner.run(user, job.id).await;
        let elapsed = started.elapsed();
        assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
        if n > 0 {
            per_image.push(elapsed / u32::from(IMAGES));
        }
    }
    per_image.sort();
    println!(
        "worker per image with previews on (2 partial 1024x1536 PNGs streamed per job, at once): p50 {:.1} ms, p90 {:.1} ms",
        percentile(&per_image, 0.5).as_secs_f64() * 1e3,
        percentile(&per_image, 0.9).as_secs_f64() * 1e3,
    );

    // The previews' own work for one job, alone: what a one-image (v3) job adds per image.
    let mut alone = Vec::new();
    for n in 0..jobs {
        let job = submitted(store, catalog, user, format!("previews {n}"), "v3", 1).await;
        let now = time::OffsetDateTime::now_utc();
        let artforge_domain::Claim::Claimed(job, lease) = store
            .claim(user, job.id, Duration::from_secs(150), now)
            .await
            .expect("claim")
        else {
            panic!("a queued job is claimed");
        };
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        for (index, bytes) in (0..).zip(&partials) {
            sender
                .send(artforge_domain::PartialImage {
                    index,
                    bytes: bytes.clone(),
                })
                .expect("sent");
        }
        drop(sender);
        let started = Instant::now();
        let stored =
            generate::usecases::previews::record(store, files, &job, &lease, &policy, receiver)
                .await;
        artforge_domain::ImageFiles::remove(
            files,
            &artforge_domain::preview::preview_keys(user, job.id),
        )
        .await
        .expect("removed");
        let elapsed = started.elapsed();
        assert_eq!(stored, 2);
        if n > 0 {
            alone.push(elapsed);
        }
    }
    alone.sort();
    println!(
        "  the previews' own work per job (2 partial images: 512-px JPEG, put, listed; removed at the end): p50 {:.1} ms, p90 {:.1} ms",
        percentile(&alone, 0.5).as_secs_f64() * 1e3,
        percentile(&alone, 0.9).as_secs_f64() * 1e3,
    );
}
