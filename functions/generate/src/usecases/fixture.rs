//! The set-up the use-case tests share (compiled for tests only): the shipped catalogue, the
//! use cases wired over the in-memory fakes with generous daily limits, one user with credits
//! ([`Fixture`]), and small pictures the pipeline can read.

use std::{io::Cursor, sync::Arc, time::Duration};

use artforge_domain::{Catalog, DailyLimits, ImageProvider, Job, Jobs, Ledger, UserId};
use artforge_fakes::{FakeProvider, MemoryFiles, MemoryQueue, MemoryStore, contract::account};
use artforge_imaging::{Pipeline, PipelineConfig};
use time::OffsetDateTime;

use super::{previews::PreviewPolicy, run::JobRunner, submit::Generations};

/// The lease a test runner claims jobs for.
pub const LEASE: Duration = Duration::from_secs(60);

pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::from_json(crate::config::SHIPPED_CATALOG).expect("the shipped catalogue"))
}

/// Limits no test reaches unless it means to: 100 images a day, $100 of spend.
pub fn limits() -> DailyLimits {
    DailyLimits {
        images_per_user: 100,
        spend_cap_micros: 100_000_000,
        free_spend_cap_micros: 100_000_000,
    }
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A PNG of `width` x `height` pixels of one colour.
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb(rgb))
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encodes");
    bytes
}

/// Submissions over these fakes, with [`limits`].
pub fn generations(
    store: &MemoryStore,
    queue: &MemoryQueue,
    files: &MemoryFiles,
) -> Generations<MemoryStore, MemoryQueue, MemoryFiles> {
    Generations {
        jobs: store.clone(),
        queue: queue.clone(),
        files: files.clone(),
        catalog: catalog(),
        limits: limits(),
    }
}

/// A worker over these fakes and `provider`: the default pipeline, a lease of [`LEASE`].
pub fn runner<P: ImageProvider>(
    store: &MemoryStore,
    provider: P,
    files: &MemoryFiles,
    previews: PreviewPolicy,
) -> JobRunner<MemoryStore, P, MemoryFiles> {
    JobRunner {
        jobs: store.clone(),
        provider,
        files: files.clone(),
        catalog: catalog(),
        pipeline: Arc::new(Pipeline::new(PipelineConfig::default())),
        lease: LEASE,
        previews,
    }
}

/// One user with credits, the fakes around them, and the use cases over those.
pub struct Fixture {
    pub store: MemoryStore,
    pub files: MemoryFiles,
    pub queue: MemoryQueue,
    pub provider: FakeProvider,
    pub user: UserId,
}

impl Fixture {
    pub async fn new(provider: FakeProvider, credits: u64) -> Self {
        let store = MemoryStore::new();
        let user = account(&store, credits).await;
        Self {
            store,
            files: MemoryFiles::new(),
            queue: MemoryQueue::new(),
            provider,
            user,
        }
    }

    pub fn generations(&self) -> Generations<MemoryStore, MemoryQueue, MemoryFiles> {
        generations(&self.store, &self.queue, &self.files)
    }

    /// A worker over the fixture's provider.
    pub fn runner(
        &self,
        previews: PreviewPolicy,
    ) -> JobRunner<MemoryStore, FakeProvider, MemoryFiles> {
        runner(&self.store, self.provider.clone(), &self.files, previews)
    }

    /// The job as stored now.
    pub async fn job(&self, job: &Job) -> Job {
        self.store
            .job(self.user, job.id)
            .await
            .expect("read")
            .expect("the job")
    }

    pub async fn balance(&self) -> u64 {
        self.store
            .balance(self.user)
            .await
            .expect("a balance")
            .get()
    }
}
