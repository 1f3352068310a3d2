//! ZIP archives of own images (DESIGN §11): asked for in a request, built by the account
//! worker from the queue, polled until ready. Up to 100 own images, each file named from the
//! prompt with the full image id; a foreign or unknown id fails the whole request. The ZIP
//! (`archives/<userId>/<archiveId>.zip`) and its record expire after a day.

use std::time::Duration;

use artforge_domain::{
    AccountTask, AccountTasks, Archive, ArchiveId, ArchiveStatus, Archives, ClientAddress,
    Download, ImageFiles, ImageId, Images, PaidRequests, QueueError, RateLimits, StoreError,
    UserId, Variant, Verdict, ZipEntry, Zipper, archive_name,
};
use time::OffsetDateTime;
use tracing::{info, warn};

/// The most images in one archive.
pub const MAX_IMAGES: usize = 100;

/// Why an archive was not started.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// More than [`MAX_IMAGES`] ids (checked before any look-up).
    #[error("an archive holds at most {MAX_IMAGES} images; {0} were asked for")]
    TooLarge(usize),
    #[error("an archive needs at least one image")]
    Empty,
    /// Past the paid requests' limit of the user or of the client address (DESIGN §9).
    #[error("too many paid requests; try again in {retry_after}")]
    RateLimited { retry_after: time::Duration },
    /// An id that is not one of the caller's images (or no archive of the caller's).
    #[error("no such image")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What a worker's build of an archive did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Built {
    Ready {
        bytes: u64,
    },
    /// Nothing could be archived; the archive is failed (the user may ask again).
    Failed,
    /// No pending archive: built before, expired, or erased with its account.
    Nothing,
}

/// The archives' use cases over the store, the files and the account queue.
#[derive(Debug, Clone)]
pub struct Archiving<S, F, Q> {
    pub store: S,
    pub files: F,
    pub tasks: Q,
}

impl<S, F, Q> Archiving<S, F, Q>
where
    S: Images + Archives,
    F: ImageFiles + Zipper,
    Q: AccountTasks,
{
    /// Starts an archive of `ids` (own images, in this order, repeats dropped) in `variant`,
    /// asked for by `owner` from `from`. An archive is a paid request: it is admitted under
    /// `paid`'s limits once its ids are known to be few enough, before any look-up or write of
    /// its own (ADR 0152).
    pub async fn request<R: RateLimits>(
        &self,
        paid: &PaidRequests<R>,
        owner: UserId,
        from: ClientAddress,
        ids: &[ImageId],
        variant: Variant,
        now: OffsetDateTime,
    ) -> Result<Archive, Refusal> {
        if ids.len() > MAX_IMAGES {
            return Err(Refusal::TooLarge(ids.len()));
        }
        let mut unique = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        if unique.is_empty() {
            return Err(Refusal::Empty);
        }
        if let Verdict::Refused { retry_after } = paid.admit(owner, from, now).await? {
            return Err(Refusal::RateLimited { retry_after });
        }
        let found = self.store.images_by_id(owner, &unique).await?;
        if found.len() != unique.len() {
            return Err(Refusal::NotFound);
        }
        let archive = Archive {
            id: ArchiveId::new(),
            owner,
            images: unique,
            variant,
            status: ArchiveStatus::Pending,
            bytes: None,
            created_at: now,
        };
        self.store.add_archive(&archive).await?;
        let task = AccountTask::Archive {
            owner,
            id: archive.id,
        };
        if let Err(e) = self.tasks.send(task, Duration::ZERO).await {
            // Never left pending with nobody to build it.
            self.store
                .finish_archive(owner, archive.id, ArchiveStatus::Failed, None)
                .await?;
            return Err(e.into());
        }
        info!(archive_id = %archive.id, images = archive.images.len(), "archive asked for");
        Ok(archive)
    }

    /// An archive of the caller's and, once ready, a short-lived URL of its ZIP.
    pub async fn status(
        &self,
        owner: UserId,
        id: ArchiveId,
    ) -> Result<(Archive, Option<String>), Refusal> {
        let archive = self
            .store
            .archive(owner, id)
            .await?
            .ok_or(Refusal::NotFound)?;
        let url = match archive.status {
            ArchiveStatus::Ready => {
                let download = Download {
                    file_name: format!(
                        "artforge-{}-images-{}.zip",
                        archive.images.len(),
                        archive.id.to_string().to_lowercase()
                    ),
                    content_type: "application/zip".to_owned(),
                };
                Some(
                    self.files
                        .url(&archive.object_key(), Some(&download))
                        .await?,
                )
            }
            ArchiveStatus::Pending | ArchiveStatus::Failed => None,
        };
        Ok((archive, url))
    }

    /// Builds a pending archive (the worker). Images deleted since they were asked for are
    /// left out. A ZIP whose record is gone by the time it is written (the account was erased
    /// meanwhile) is removed again, so no file outlives its record.
    pub async fn build(&self, owner: UserId, id: ArchiveId) -> Result<Built, StoreError> {
        let Some(archive) = self.store.archive(owner, id).await? else {
            return Ok(Built::Nothing);
        };
        if archive.status != ArchiveStatus::Pending {
            return Ok(Built::Nothing);
        }
        let images = self.store.images_by_id(owner, &archive.images).await?;
        if images.is_empty() {
            warn!(archive_id = %id, "every image of the archive is gone");
            self.store
                .finish_archive(owner, id, ArchiveStatus::Failed, None)
                .await?;
            return Ok(Built::Failed);
        }
        let entries: Vec<ZipEntry> = images
            .iter()
            .map(|image| ZipEntry {
                key: image.object_key(archive.variant),
                name: archive_name(image, archive.variant),
            })
            .collect();
        let key = archive.object_key();
        match self.files.zip(&key, &entries).await {
            Ok(bytes) => {
                if self
                    .store
                    .finish_archive(owner, id, ArchiveStatus::Ready, Some(bytes))
                    .await?
                {
                    info!(archive_id = %id, bytes, files = entries.len(), "archive ready");
                    Ok(Built::Ready { bytes })
                } else {
                    self.files.remove(&[key]).await?;
                    Ok(Built::Nothing)
                }
            }
            Err(e) => {
                warn!(archive_id = %id, error = %e, "building the archive failed");
                self.store
                    .finish_archive(owner, id, ArchiveStatus::Failed, None)
                    .await?;
                Ok(Built::Failed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::{Erasure, FileUploads, Image, PaidLimits, Preset, RateLimit};
    use artforge_fakes::{
        MemoryFiles, MemoryStore, MemoryTasks,
        contract::{account, image},
    };

    use super::*;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-12-03 12:00 UTC);
    const FROM: ClientAddress = ClientAddress::Unknown;

    struct Bench {
        store: MemoryStore,
        files: MemoryFiles,
        tasks: MemoryTasks,
        archiving: Archiving<MemoryStore, MemoryFiles, MemoryTasks>,
        paid: PaidRequests<MemoryStore>,
        owner: UserId,
    }

    impl Bench {
        async fn new() -> Self {
            let (store, files, tasks) =
                (MemoryStore::new(), MemoryFiles::new(), MemoryTasks::new());
            let owner = account(&store, 0).await;
            Self {
                archiving: Archiving {
                    store: store.clone(),
                    files: files.clone(),
                    tasks: tasks.clone(),
                },
                paid: PaidRequests {
                    store: store.clone(),
                    limits: PaidLimits::default(),
                },
                store,
                files,
                tasks,
                owner,
            }
        }

        async fn image(&self, owner: UserId, prompt: &str) -> Image {
            let mut image = image(owner, Preset::Square, &[]);
            image.prompt = prompt.into();
            self.store.add(&image).await.expect("added");
            for v in Variant::ALL {
                self.files
                    .put(&image.object_key(*v), vec![0; 10], "image/jpeg")
                    .await
                    .expect("put");
            }
            image
        }
    }

    #[tokio::test]
    async fn more_than_a_hundred_ids_are_refused_before_any_look_up() {
        let bench = Bench::new().await;
        let ids: Vec<ImageId> = (0..101).map(|_| ImageId::new()).collect();
        bench.store.faults.fail("images_by_id", 1);
        let refused = bench
            .archiving
            .request(&bench.paid, bench.owner, FROM, &ids, Variant::Preset, NOW)
            .await;
        assert!(
            matches!(refused, Err(Refusal::TooLarge(101))),
            "{refused:?}"
        );
        assert_eq!(bench.store.faults.calls("images_by_id"), 0, "no look-up");
    }

    #[tokio::test]
    async fn an_archive_past_the_users_paid_limit_is_refused_and_nothing_is_written_or_queued() {
        let mut bench = Bench::new().await;
        bench.paid.limits = PaidLimits {
            per_address: RateLimit::per_minute(60),
            per_user: RateLimit::per_minute(2),
        };
        let a = bench.image(bench.owner, "x").await;
        for _ in 0..2 {
            bench
                .archiving
                .request(
                    &bench.paid,
                    bench.owner,
                    FROM,
                    &[a.id],
                    Variant::Preset,
                    NOW,
                )
                .await
                .expect("within the limit");
        }
        let (looked_up, archives) = (
            bench.store.faults.calls("images_by_id"),
            bench.store.faults.calls("add_archive"),
        );
        let refused = bench
            .archiving
            .request(
                &bench.paid,
                bench.owner,
                FROM,
                &[a.id],
                Variant::Preset,
                NOW,
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(Refusal::RateLimited { retry_after }) if retry_after == time::Duration::MINUTE
            ),
            "{refused:?}"
        );
        assert_eq!(
            bench.store.faults.calls("images_by_id"),
            looked_up,
            "no look-up"
        );
        assert_eq!(
            bench.store.faults.calls("add_archive"),
            archives,
            "no archive"
        );
        assert_eq!(bench.tasks.sent().len(), 2, "nothing more queued");
        let other = account(&bench.store, 0).await;
        let b = bench.image(other, "y").await;
        bench
            .archiving
            .request(&bench.paid, other, FROM, &[b.id], Variant::Preset, NOW)
            .await
            .expect("another user is not held back");
    }

    #[tokio::test]
    async fn an_archive_from_an_address_past_its_paid_limit_is_refused_whoever_asks() {
        let mut bench = Bench::new().await;
        bench.paid.limits = PaidLimits {
            per_address: RateLimit::per_minute(1),
            per_user: RateLimit::per_minute(30),
        };
        let from = ClientAddress::parse("203.0.113.7").expect("an address");
        let a = bench.image(bench.owner, "x").await;
        bench
            .archiving
            .request(
                &bench.paid,
                bench.owner,
                from,
                &[a.id],
                Variant::Preset,
                NOW,
            )
            .await
            .expect("the first");
        let other = account(&bench.store, 0).await;
        let b = bench.image(other, "y").await;
        let refused = bench
            .archiving
            .request(&bench.paid, other, from, &[b.id], Variant::Preset, NOW)
            .await;
        assert!(
            matches!(refused, Err(Refusal::RateLimited { .. })),
            "{refused:?}"
        );
        assert_eq!(bench.tasks.sent().len(), 1, "one archive queued");
    }

    #[tokio::test]
    async fn too_many_ids_are_refused_without_counting_against_the_paid_limit() {
        let mut bench = Bench::new().await;
        bench.paid.limits.per_user = RateLimit::per_minute(1);
        let ids: Vec<ImageId> = (0..101).map(|_| ImageId::new()).collect();
        for _ in 0..3 {
            let refused = bench
                .archiving
                .request(&bench.paid, bench.owner, FROM, &ids, Variant::Preset, NOW)
                .await;
            assert!(
                matches!(refused, Err(Refusal::TooLarge(101))),
                "{refused:?}"
            );
        }
        let a = bench.image(bench.owner, "x").await;
        bench
            .archiving
            .request(
                &bench.paid,
                bench.owner,
                FROM,
                &[a.id],
                Variant::Preset,
                NOW,
            )
            .await
            .expect("the limit is whole");
    }

    #[tokio::test]
    async fn one_foreign_or_unknown_id_fails_the_whole_request() {
        let bench = Bench::new().await;
        let other = account(&bench.store, 0).await;
        let mine = bench.image(bench.owner, "mine").await;
        let theirs = bench.image(other, "theirs").await;
        for ids in [vec![mine.id, theirs.id], vec![mine.id, ImageId::new()]] {
            let refused = bench
                .archiving
                .request(&bench.paid, bench.owner, FROM, &ids, Variant::Preset, NOW)
                .await;
            assert!(matches!(refused, Err(Refusal::NotFound)), "{refused:?}");
        }
        assert!(bench.tasks.sent().is_empty(), "nothing queued");
    }

    #[tokio::test]
    async fn an_archive_is_queued_built_with_one_named_file_per_image_and_served_when_ready() {
        let bench = Bench::new().await;
        let a = bench.image(bench.owner, "A lighthouse at dawn").await;
        let b = bench.image(bench.owner, "Sea").await;
        let archive = bench
            .archiving
            .request(
                &bench.paid,
                bench.owner,
                FROM,
                &[a.id, b.id, a.id],
                Variant::Original,
                NOW,
            )
            .await
            .expect("asked");
        assert_eq!(archive.images, [a.id, b.id], "repeats dropped");
        assert_eq!(
            bench.tasks.sent(),
            [(
                AccountTask::Archive {
                    owner: bench.owner,
                    id: archive.id
                },
                Duration::ZERO
            )]
        );
        let (pending, url) = bench
            .archiving
            .status(bench.owner, archive.id)
            .await
            .expect("found");
        assert_eq!((pending.status, url), (ArchiveStatus::Pending, None));

        let built = bench
            .archiving
            .build(bench.owner, archive.id)
            .await
            .expect("built");
        assert!(matches!(built, Built::Ready { .. }), "{built:?}");
        let (zip, _) = bench.files.get(&archive.object_key()).expect("the zip");
        let manifest = String::from_utf8(zip).expect("text");
        let names: Vec<&str> = manifest
            .lines()
            .map(|l| l.split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            [
                archive_name(&a, Variant::Original),
                archive_name(&b, Variant::Original)
            ]
        );
        assert!(names[0].starts_with("a-lighthouse-at-dawn-"));
        assert!(
            archive
                .object_key()
                .starts_with(&format!("archives/{}/", bench.owner))
        );
        let (ready, url) = bench
            .archiving
            .status(bench.owner, archive.id)
            .await
            .expect("found");
        assert_eq!(ready.status, ArchiveStatus::Ready);
        assert!(url.is_some_and(|u| u.contains(".zip")));
        assert_eq!(
            bench
                .archiving
                .build(bench.owner, archive.id)
                .await
                .expect("again"),
            Built::Nothing,
            "a repeated message builds nothing"
        );
        let stranger = account(&bench.store, 0).await;
        assert!(matches!(
            bench.archiving.status(stranger, archive.id).await,
            Err(Refusal::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_failed_build_marks_the_archive_failed() {
        let bench = Bench::new().await;
        let a = bench.image(bench.owner, "x").await;
        let archive = bench
            .archiving
            .request(
                &bench.paid,
                bench.owner,
                FROM,
                &[a.id],
                Variant::Preset,
                NOW,
            )
            .await
            .expect("asked");
        bench.files.faults.fail("zip", 1);
        assert_eq!(
            bench
                .archiving
                .build(bench.owner, archive.id)
                .await
                .expect("ran"),
            Built::Failed
        );
        let (failed, url) = bench
            .archiving
            .status(bench.owner, archive.id)
            .await
            .expect("found");
        assert_eq!((failed.status, url), (ArchiveStatus::Failed, None));
    }

    #[tokio::test]
    async fn a_queue_that_is_down_leaves_no_pending_archive() {
        let bench = Bench::new().await;
        let a = bench.image(bench.owner, "x").await;
        bench.tasks.faults.fail("send", 1);
        let refused = bench
            .archiving
            .request(
                &bench.paid,
                bench.owner,
                FROM,
                &[a.id],
                Variant::Preset,
                NOW,
            )
            .await;
        assert!(matches!(refused, Err(Refusal::Queue(_))), "{refused:?}");
    }

    #[tokio::test]
    async fn an_archive_erased_with_its_account_is_never_built() {
        let bench = Bench::new().await;
        let a = bench.image(bench.owner, "x").await;
        let archive = bench
            .archiving
            .request(
                &bench.paid,
                bench.owner,
                FROM,
                &[a.id],
                Variant::Preset,
                NOW,
            )
            .await
            .expect("asked");
        bench.store.close(bench.owner, NOW).await.expect("closed");
        bench.store.erase_rest(bench.owner).await.expect("erased");
        assert_eq!(
            bench
                .archiving
                .build(bench.owner, archive.id)
                .await
                .expect("ran"),
            Built::Nothing
        );
        assert!(bench.files.get(&archive.object_key()).is_none());
    }
}
