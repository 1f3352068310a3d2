//! Erasing a closed account's data (DESIGN §11, ADR 0150), in an order that is safe to
//! interrupt and to repeat:
//!
//! 1. only a **closed** account is erased (closing signed it out everywhere and freed its
//!    email, so no request of its owner writes to it any more);
//! 2. its **jobs** first: a job still running can then no longer finish into the account (its
//!    finish is refused, and the worker removes the files it stored);
//! 3. every **file** under the user's prefixes (`images/`, `uploads/`, `previews/`,
//!    `archives/`), before the items that name them, so no item is left naming a file that is
//!    gone while files are left that no item names;
//! 4. every other **item** of the user's partition but the records kept for audit (the wallet,
//!    the ledger, purchases), the likes given taken back from their images' counts.
//!
//! Each step deletes what is there and succeeds when nothing is, so a run that stopped half
//! way is finished by the next: `DELETE /me` runs it, and a delayed task runs it again.

use artforge_domain::{Erasure, FileTree, Standing, StoreError, UserId, user_prefixes};
use tracing::info;

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    /// The account is open (or unknown): nothing was erased.
    NotClosed,
    /// Everything but the kept records is gone: `items` and `files` were deleted by this run.
    Done { items: usize, files: usize },
}

/// The erasure of closed accounts over the store and the files.
#[derive(Debug, Clone)]
pub struct Eraser<S, F> {
    pub store: S,
    pub files: F,
}

impl<S: Erasure, F: FileTree> Eraser<S, F> {
    /// Erases `user`'s data if the account is closed; repeating it is harmless.
    pub async fn erase(&self, user: UserId) -> Result<Erased, StoreError> {
        if !matches!(self.store.standing(user).await?, Standing::Closed(_)) {
            return Ok(Erased::NotClosed);
        }
        let mut items = self.store.erase_jobs(user).await?;
        let mut files = 0;
        for prefix in user_prefixes(user) {
            files += self.files.remove_under(&prefix).await?;
        }
        items += self.store.erase_rest(user).await?;
        info!(user_id = %user, items, files, "closed account erased");
        Ok(Erased::Done { items, files })
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::{
        Accounts, Erasure, FileUploads, Images, Jobs, Ledger, Likes, Preset, Variant, Visibility,
    };
    use artforge_fakes::{
        MemoryFiles, MemoryStore,
        contract::{account, image},
    };
    use time::macros::datetime;

    use super::*;

    const NOW: time::OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    struct Bench {
        store: MemoryStore,
        files: MemoryFiles,
        eraser: Eraser<MemoryStore, MemoryFiles>,
        user: UserId,
        other: UserId,
    }

    impl Bench {
        async fn new() -> Self {
            let (store, files) = (MemoryStore::new(), MemoryFiles::new());
            let user = account(&store, 3).await;
            let other = account(&store, 0).await;
            Self {
                eraser: Eraser {
                    store: store.clone(),
                    files: files.clone(),
                },
                store,
                files,
                user,
                other,
            }
        }

        /// A public image of `owner` with its three files, an upload, a preview and an
        /// archive of the user's, and one file of the other user's.
        async fn data(&self) -> (artforge_domain::Image, artforge_domain::Image) {
            let mine = image(self.user, Preset::Square, &[]);
            let theirs = image(self.other, Preset::Square, &[]);
            for i in [&mine, &theirs] {
                self.store.add(i).await.expect("added");
                self.store
                    .update(i.owner, i.id, None, Some(Visibility::Public))
                    .await
                    .expect("public");
                for v in Variant::ALL {
                    self.put(&i.object_key(*v)).await;
                }
            }
            for folder in ["uploads", "previews", "archives"] {
                self.put(&format!("{folder}/{}/x", self.user)).await;
            }
            self.store.like(self.user, &theirs).await.expect("liked");
            (mine, theirs)
        }

        async fn put(&self, key: &str) {
            self.files
                .put(key, vec![1], "image/png")
                .await
                .expect("put");
        }

        /// A job of the user's, submitted (one credit debited) and not finished.
        async fn running_job(&self) -> artforge_domain::Job {
            let job = artforge_fakes::contract::job(self.user, 1);
            let admission = artforge_domain::Admission {
                spend_micros: 1,
                limits: artforge_domain::DailyLimits {
                    images_per_user: 10,
                    spend_cap_micros: 1_000_000,
                    free_spend_cap_micros: 1_000_000,
                },
            };
            self.store
                .submit(&job, None, &admission, NOW)
                .await
                .expect("submitted");
            job
        }

        /// Whether the store still has the image of `image`'s owner and id.
        async fn has(&self, image: &artforge_domain::Image) -> bool {
            self.store
                .image(image.owner, image.id)
                .await
                .expect("read")
                .is_some()
        }

        async fn has_job(&self, job: &artforge_domain::Job) -> bool {
            self.store
                .job(self.user, job.id)
                .await
                .expect("read")
                .is_some()
        }

        fn users_files(&self) -> Vec<String> {
            let user = self.user.to_string();
            self.files
                .keys()
                .into_iter()
                .filter(|k| k.contains(&user))
                .collect()
        }
    }

    #[tokio::test]
    async fn an_open_account_is_never_erased() {
        let bench = Bench::new().await;
        let (mine, _) = bench.data().await;
        assert_eq!(
            bench.eraser.erase(bench.user).await.expect("ran"),
            Erased::NotClosed
        );
        assert_eq!(
            bench.eraser.erase(UserId::new()).await.expect("ran"),
            Erased::NotClosed
        );
        assert!(bench.has(&mine).await);
        assert_eq!(bench.users_files().len(), 6);
    }

    #[tokio::test]
    async fn a_closed_account_loses_every_file_image_like_and_job_and_keeps_its_ledger() {
        let bench = Bench::new().await;
        let (mine, theirs) = bench.data().await;
        let job = bench.running_job().await;
        bench.store.close(bench.user, NOW).await.expect("closed");
        let erased = bench.eraser.erase(bench.user).await.expect("erased");
        assert_eq!(
            erased,
            Erased::Done { items: 3, files: 6 },
            "job, image, like"
        );
        assert!(bench.users_files().is_empty(), "{:?}", bench.users_files());
        assert_eq!(bench.files.keys().len(), 3, "the other user's files stay");
        assert!(!bench.has(&mine).await);
        assert!(!bench.has_job(&job).await);
        let counted = bench
            .store
            .image(bench.other, theirs.id)
            .await
            .expect("read");
        assert_eq!(counted.map(|i| i.likes), Some(0), "the like is taken back");
        assert_eq!(
            bench.store.balance(bench.user).await.expect("kept"),
            artforge_domain::Credits::new(2)
        );
        assert_eq!(
            bench.store.entries(bench.user).len(),
            2,
            "the ledger is kept"
        );
        assert!(bench.store.get(bench.user).await.expect("read").is_none());
        assert_eq!(
            bench.eraser.erase(bench.user).await.expect("again"),
            Erased::Done { items: 0, files: 0 },
            "a second run finds nothing left"
        );
    }

    #[tokio::test]
    async fn jobs_go_before_any_file_so_a_run_stopped_at_the_files_leaves_no_job_to_finish() {
        let bench = Bench::new().await;
        let (mine, _) = bench.data().await;
        let job = bench.running_job().await;
        bench.store.close(bench.user, NOW).await.expect("closed");
        bench.files.faults.fail_after("remove_under", 1, 1);
        assert!(bench.eraser.erase(bench.user).await.is_err());
        assert!(!bench.has_job(&job).await, "the job went first");
        assert!(
            bench.has(&mine).await,
            "the image still names its files while some remain"
        );
        bench
            .eraser
            .erase(bench.user)
            .await
            .expect("the retry finishes it");
        assert!(bench.users_files().is_empty());
        assert!(!bench.has(&mine).await);
    }
}
