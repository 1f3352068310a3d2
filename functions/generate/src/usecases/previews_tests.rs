//! Live previews on fakes: partial images stored as small JPEGs and listed while the job runs,
//! the list written by the throttle's rule, and every preview removed on every ending.

use std::{io::Cursor, sync::Arc, time::Duration};

use artforge_domain::{
    Claim, Credits, FileUploads, Job, JobStatus, Jobs, ProviderError, RawGeneration, UploadId,
    edit::{RawInputs, RawSource, upload_key},
    preview::{preview_key, preview_keys},
};
use artforge_fakes::{FakeProvider, MemoryFiles, MemoryQueue, MemoryStore};
use time::OffsetDateTime;

use super::{
    fixture::Fixture,
    previews::{PreviewPolicy, small_jpeg},
    run::{JobRunner, Outcome},
    sweep::{SweepPolicy, Sweeper, Swept},
};

type Runner = JobRunner<MemoryStore, FakeProvider, MemoryFiles>;

fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
    })
    .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
    .expect("encodes");
    bytes
}

/// Three partial images of `width`x`height`, as a provider streams them.
fn partials_of(width: u32, height: u32) -> Vec<Vec<u8>> {
    [10, 90, 170]
        .into_iter()
        .map(|shade| png(width, height, shade))
        .collect()
}

/// Three small partial images (quick to store in a debug build).
fn partials() -> Vec<Vec<u8>> {
    partials_of(96, 144)
}

/// A user with 10 credits and a worker asking for previews as `previews` says.
struct Stage {
    fixture: Fixture,
    runner: Arc<Runner>,
}

impl std::ops::Deref for Stage {
    type Target = Fixture;

    fn deref(&self) -> &Fixture {
        &self.fixture
    }
}

impl Stage {
    async fn new(provider: FakeProvider, previews: PreviewPolicy) -> Self {
        let fixture = Fixture::new(provider, 10).await;
        let runner = Arc::new(fixture.runner(previews));
        Self { fixture, runner }
    }

    /// A stage whose provider streams the partial images, then waits `pause` and answers.
    async fn streaming(pause: Duration) -> Self {
        let provider = FakeProvider::answering(png(64, 96, 200)).streaming(partials(), pause);
        Self::new(provider, PreviewPolicy::default()).await
    }

    async fn submit(&self, count: u64) -> Job {
        let raw = RawGeneration {
            prompt: Some("a forming nebula".into()),
            model: Some("v2".into()),
            preset: Some("story".into()),
            count: Some(count),
            ..RawGeneration::default()
        };
        self.generations()
            .submit(self.user, raw, None, OffsetDateTime::now_utc())
            .await
            .expect("accepted")
            .job
    }

    /// An edit job of one image: an upload of the user's as its source.
    async fn submit_edit(&self) -> Job {
        let upload = UploadId::new();
        FileUploads::put(
            &self.files,
            &upload_key(self.user, upload),
            png(256, 256, 40),
            "image/png",
        )
        .await
        .expect("uploaded");
        let raw = RawGeneration {
            prompt: Some("the nebula, purple".into()),
            model: Some("v2".into()),
            preset: Some("square".into()),
            count: Some(1),
            inputs: RawInputs {
                sources: Some(vec![RawSource::Upload(upload.to_string())]),
                ..RawInputs::default()
            },
            ..RawGeneration::default()
        };
        let job = self
            .generations()
            .submit(self.user, raw, None, OffsetDateTime::now_utc())
            .await
            .expect("accepted")
            .job;
        assert!(job.inputs.edit.is_some(), "an edit job");
        job
    }

    fn previews_stored(&self, job: &Job) -> Vec<String> {
        let prefix = format!("previews/{}/{}/", self.user, job.id);
        self.files
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .collect()
    }

    /// Runs the job in the background; the handle answers its outcome.
    fn run(&self, job: &Job) -> tokio::task::JoinHandle<Outcome> {
        let (runner, user, id) = (self.runner.clone(), self.user, job.id);
        tokio::spawn(async move { runner.run(user, id).await })
    }

    /// The job as first seen running with `previews` listed.
    async fn seen_with_previews(&self, job: &Job, previews: u8) -> Job {
        for _ in 0..1000 {
            let now = self.job(job).await;
            if now.status == JobStatus::Running && now.previews == previews {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the job never listed {previews} previews while running");
    }
}

#[tokio::test]
async fn partial_images_are_stored_as_small_jpegs_and_listed_while_the_job_runs() {
    let provider = FakeProvider::answering(png(64, 96, 200))
        .streaming(partials_of(768, 1152), Duration::from_millis(1500));
    let stage = Stage::new(provider, PreviewPolicy::default()).await;
    let job = stage.submit(1).await;
    let running = stage.run(&job);
    let seen = stage.seen_with_previews(&job, 2).await;
    assert_eq!(seen.status, JobStatus::Running);
    for n in 0..2 {
        let (bytes, content_type) = stage
            .files
            .get(&preview_key(stage.user, job.id, n))
            .expect("the preview is stored");
        assert_eq!(content_type, "image/jpeg");
        assert_eq!(
            image::guess_format(&bytes).ok(),
            Some(image::ImageFormat::Jpeg)
        );
        let preview = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!(
            (preview.width(), preview.height()),
            (341, 512),
            "small, same aspect"
        );
    }
    assert_eq!(
        stage.provider.partials_asked(),
        [2],
        "the worker asks for two"
    );
    let outcome = running.await.expect("the run ends");
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let done = stage.job(&job).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.previews, 0, "a finished job lists no previews");
    assert!(
        stage.previews_stored(&job).is_empty(),
        "{:?}",
        stage.files.keys()
    );
}

#[tokio::test]
async fn an_edit_jobs_partial_images_are_listed_while_it_runs_and_removed_when_it_ends() {
    let provider = FakeProvider::answering(png(64, 64, 200))
        .streaming(partials_of(256, 256), Duration::from_millis(1500));
    let stage = Stage::new(provider, PreviewPolicy::default()).await;
    let job = stage.submit_edit().await;
    let running = stage.run(&job);
    let seen = stage.seen_with_previews(&job, 2).await;
    assert_eq!(seen.status, JobStatus::Running);
    assert_eq!(stage.previews_stored(&job).len(), 2);
    let outcome = running.await.expect("the run ends");
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert_eq!(stage.provider.edits().len(), 1, "asked as an edit");
    assert_eq!(stage.provider.partials_asked(), [2]);
    let done = stage.job(&job).await;
    assert_eq!((done.status, done.previews), (JobStatus::Succeeded, 0));
    assert!(
        stage.previews_stored(&job).is_empty(),
        "{:?}",
        stage.files.keys()
    );
}

#[tokio::test]
async fn an_edit_with_previews_turned_off_asks_for_no_stream() {
    let provider = FakeProvider::answering(png(64, 64, 200)).streaming(partials(), Duration::ZERO);
    let stage = Stage::new(provider, PreviewPolicy::off()).await;
    let job = stage.submit_edit().await;
    let outcome = stage.runner.run(stage.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert_eq!(stage.provider.edits().len(), 1);
    assert!(stage.provider.partials_asked().is_empty());
    assert_eq!(stage.store.faults.calls("list_previews"), 0);
}

#[tokio::test]
async fn a_burst_of_partial_images_is_listed_by_one_write_at_the_end_of_the_interval() {
    // Small partial images, so that storing the burst takes far less than the interval.
    let burst = vec![png(32, 48, 1), png(32, 48, 2), png(32, 48, 3)];
    let provider =
        FakeProvider::answering(png(64, 96, 200)).streaming(burst, Duration::from_millis(2500));
    let policy = PreviewPolicy {
        partial_images: 3,
        write_interval: Duration::from_millis(1500),
        ..PreviewPolicy::default()
    };
    let stage = Stage::new(provider, policy).await;
    let job = stage.submit(1).await;
    let running = stage.run(&job);
    stage.seen_with_previews(&job, 3).await;
    let outcome = running.await.expect("the run ends");
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert_eq!(
        stage.store.faults.calls("list_previews"),
        2,
        "the first at once, the other two of the burst in one write an interval later"
    );
}

#[tokio::test]
async fn partial_images_arriving_after_the_answer_are_not_listed() {
    // A long interval: the burst's trailing write would come after the provider answered.
    let policy = PreviewPolicy {
        write_interval: Duration::from_secs(30),
        ..PreviewPolicy::default()
    };
    let provider =
        FakeProvider::answering(png(64, 96, 200)).streaming(partials(), Duration::from_millis(50));
    let stage = Stage::new(provider, policy).await;
    let job = stage.submit(1).await;
    let outcome = stage.runner.run(stage.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert_eq!(stage.store.faults.calls("list_previews"), 1);
    assert!(stage.previews_stored(&job).is_empty());
}

#[tokio::test]
async fn previews_are_removed_when_the_provider_fails_the_job_and_it_is_refunded() {
    let stage = Stage::streaming(Duration::from_millis(50)).await;
    stage
        .provider
        .then(Err(ProviderError::ContentPolicy("refused".into())));
    let job = stage.submit(2).await;
    let outcome = stage.runner.run(stage.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let done = stage.job(&job).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.refunded, Credits::new(2));
    assert_eq!(done.previews, 0);
    assert!(
        stage.previews_stored(&job).is_empty(),
        "{:?}",
        stage.files.keys()
    );
}

#[tokio::test]
async fn previews_are_removed_when_an_image_fails_and_is_refunded() {
    let stage = Stage::streaming(Duration::from_millis(50)).await;
    stage.provider.then(Ok(vec![
        Ok(png(64, 96, 200)),
        Err(ProviderError::BadAnswer("no image".into())),
    ]));
    let job = stage.submit(2).await;
    let outcome = stage.runner.run(stage.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let done = stage.job(&job).await;
    assert_eq!(
        (done.status, done.refunded),
        (JobStatus::Succeeded, Credits::new(1))
    );
    assert!(
        stage.previews_stored(&job).is_empty(),
        "{:?}",
        stage.files.keys()
    );
}

#[tokio::test]
async fn previews_a_removal_could_not_remove_are_removed_by_the_next_delivery() {
    let stage = Stage::streaming(Duration::from_millis(50)).await;
    let job = stage.submit(1).await;
    stage.files.faults.fail("remove", 1);
    let first = stage.runner.run(stage.user, job.id).await;
    assert!(first.retry(), "{first:?}");
    assert_eq!(stage.job(&job).await.status, JobStatus::Succeeded);
    assert_eq!(stage.previews_stored(&job).len(), 2);
    let again = stage.runner.run(stage.user, job.id).await;
    assert!(matches!(again, Outcome::Skipped), "{again:?}");
    assert!(stage.previews_stored(&job).is_empty());
}

#[tokio::test]
async fn previews_are_removed_when_a_dead_job_is_failed_and_refunded() {
    let stage = Stage::streaming(Duration::from_millis(50)).await;
    let job = stage.submit(1).await;
    // Finishing keeps failing: the job stays running with its previews listed.
    stage.store.faults.fail("finish", 1);
    let first = stage.runner.run(stage.user, job.id).await;
    assert!(first.retry(), "{first:?}");
    let stuck = stage.job(&job).await;
    // The burst's first partial image was listed at once; the answer came within the interval.
    assert_eq!((stuck.status, stuck.previews), (JobStatus::Running, 1));
    assert_eq!(stage.previews_stored(&job).len(), 2);
    let dead = stage.runner.dead_letter(stage.user, job.id).await;
    assert!(matches!(dead, Outcome::Finished), "{dead:?}");
    let done = stage.job(&job).await;
    assert_eq!(
        (done.status, done.refunded, done.previews),
        (JobStatus::Failed, Credits::new(1), 0)
    );
    assert!(
        stage.previews_stored(&job).is_empty(),
        "{:?}",
        stage.files.keys()
    );
}

#[tokio::test]
async fn previews_are_removed_when_the_sweeper_fails_an_abandoned_job() {
    let stage = Stage::streaming(Duration::from_millis(50)).await;
    let job = stage.submit(1).await;
    let now = OffsetDateTime::now_utc();
    let Claim::Claimed(_, lease) = stage
        .store
        .claim(stage.user, job.id, Duration::from_secs(1), now)
        .await
        .expect("claimed")
    else {
        panic!("a queued job is claimed");
    };
    // The worker stored and listed previews, then vanished.
    for key in preview_keys(stage.user, job.id).into_iter().take(2) {
        artforge_domain::FileUploads::put(&stage.files, &key, vec![1], "image/jpeg")
            .await
            .expect("stored");
    }
    assert!(
        stage
            .store
            .list_previews(stage.user, job.id, &lease, 2)
            .await
            .expect("listed")
    );
    let sweeper = Sweeper {
        jobs: stage.store.clone(),
        queue: MemoryQueue::new(),
        files: stage.files.clone(),
        format: artforge_domain::ImageFormat::Jpeg,
        policy: SweepPolicy::default(),
    };
    let later = now + time::Duration::hours(1);
    let stuck = artforge_domain::StuckJobs::unfinished(&stage.store, later, 10)
        .await
        .expect("listed");
    let swept = sweeper.settle(&stuck[0], later).await.expect("settled");
    assert_eq!(swept, Some(Swept::Abandoned));
    let done = stage.job(&job).await;
    assert_eq!((done.status, done.previews), (JobStatus::Failed, 0));
    assert!(
        stage.previews_stored(&job).is_empty(),
        "{:?}",
        stage.files.keys()
    );
}

#[tokio::test]
async fn a_provider_that_does_not_stream_yields_no_previews_and_no_removal() {
    let stage = Stage::new(
        FakeProvider::answering(png(64, 96, 200)),
        PreviewPolicy::default(),
    )
    .await;
    let job = stage.submit(2).await;
    let outcome = stage.runner.run(stage.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert_eq!(stage.job(&job).await.status, JobStatus::Succeeded);
    assert_eq!(
        stage.provider.partials_asked(),
        [2],
        "asked, but nothing came"
    );
    assert_eq!(stage.store.faults.calls("list_previews"), 0);
    assert_eq!(stage.files.faults.calls("remove"), 0, "nothing to remove");
    assert!(stage.previews_stored(&job).is_empty());
}

#[tokio::test]
async fn previews_turned_off_ask_the_provider_for_no_stream() {
    let provider = FakeProvider::answering(png(64, 96, 200)).streaming(partials(), Duration::ZERO);
    let stage = Stage::new(provider, PreviewPolicy::off()).await;
    let job = stage.submit(1).await;
    let outcome = stage.runner.run(stage.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert!(stage.provider.partials_asked().is_empty());
    assert_eq!(stage.provider.requests().len(), 1);
    assert!(stage.previews_stored(&job).is_empty());
}

#[tokio::test]
async fn a_partial_image_that_cannot_be_read_is_skipped_and_the_job_still_succeeds() {
    let provider = FakeProvider::answering(png(64, 96, 200)).streaming(
        vec![b"not a picture".to_vec(), png(256, 256, 1)],
        Duration::from_millis(800),
    );
    let stage = Stage::new(provider, PreviewPolicy::default()).await;
    let job = stage.submit(1).await;
    let running = stage.run(&job);
    let seen = stage.seen_with_previews(&job, 2).await;
    assert_eq!(seen.previews, 2, "listed up to the highest stored index");
    assert_eq!(
        stage.previews_stored(&job),
        [preview_key(stage.user, job.id, 1)]
    );
    let outcome = running.await.expect("the run ends");
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert_eq!(stage.job(&job).await.status, JobStatus::Succeeded);
}

#[test]
fn a_preview_is_at_most_512_pixels_on_its_longest_side_and_never_enlarged() {
    let small = small_jpeg(&png(1536, 1024, 5), 512, 70).expect("made");
    let small = image::load_from_memory(&small).expect("decodes");
    assert_eq!((small.width(), small.height()), (512, 341));
    let tiny = small_jpeg(&png(100, 50, 5), 512, 70).expect("made");
    let tiny = image::load_from_memory(&tiny).expect("decodes");
    assert_eq!((tiny.width(), tiny.height()), (100, 50));
}
