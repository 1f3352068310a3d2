//! Your data (DESIGN §11): deleting the account, and exporting everything held about it.
//!
//! Deleting (ADR 0150) checks the current password, queues a delayed back-up erasure, closes
//! the account (signed out everywhere at once, the email free, the profile reduced to the
//! wallet the kept ledger needs), then erases its data in this request. When the erasure fails
//! half way the account is closed all the same and the queued run finishes it: the answer then
//! says so (202) instead of 204.

use std::{sync::Arc, time::Duration};

use artforge_domain::{
    AccountTask, AccountTasks, Accounts, Erasure, FileTree, Image, ImageFilter, ImageId, Images,
    Job, Jobs, Ledger, LedgerEntry, Likes, LoginThrottle, Page, PageRequest, Password, Purchase,
    Purchases, RateLimits, Sessions, StoreError, User, UserId, Wallet,
};
use artforge_erasure::{Erased, Eraser};
use time::OffsetDateTime;
use tracing::{error, info};

use crate::usecases::{Identity, Refusal};

/// When the back-up erasure runs: after any job still running has ended (the worker's lease
/// is 150 s) and its last files are written; SQS delays at most 15 minutes.
pub const BACKUP_ERASURE_DELAY: Duration = Duration::from_secs(900);

/// Items read per page while exporting.
const EXPORT_PAGE: u16 = 100;
/// Pages read per list at most (100 000 items): an export is one answer.
const EXPORT_PAGES: usize = 1_000;

/// How a deletion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The account and its data are gone (but the kept ledger and purchases).
    Erased,
    /// The account is closed, and part of its data is still being erased by the queued run.
    Closing,
}

/// Everything the service holds about a user.
#[derive(Debug, Clone)]
pub struct Export {
    pub user: User,
    pub wallet: Wallet,
    pub ledger: Vec<LedgerEntry>,
    pub purchases: Vec<Purchase>,
    pub images: Vec<Image>,
    pub likes: Vec<ImageId>,
    pub jobs: Vec<Job>,
}

/// Deleting and exporting an account.
#[derive(Debug, Clone)]
pub struct Leaving<S, F, Q> {
    pub identity: Arc<Identity<S>>,
    pub eraser: Eraser<S, F>,
    pub tasks: Q,
}

impl<S, F, Q> Leaving<S, F, Q>
where
    S: Accounts
        + Sessions
        + LoginThrottle
        + RateLimits
        + Erasure
        + Ledger
        + Purchases
        + Images
        + Likes
        + Jobs,
    F: FileTree,
    Q: AccountTasks,
{
    /// Deletes `user`'s account if `password` is its current password.
    pub async fn delete(
        &self,
        user: UserId,
        password: Password,
        now: OffsetDateTime,
    ) -> Result<Deleted, Refusal> {
        self.identity.check_password(user, password, now).await?;
        // Queued before anything changes: if this request stops anywhere after, the queued run
        // finishes the erasure (it erases closed accounts only, so a deletion that never
        // closed the account costs it one look).
        self.tasks
            .send(AccountTask::Erase { user }, BACKUP_ERASURE_DELAY)
            .await?;
        self.eraser.store.close(user, now).await?;
        info!(user_id = %user, "account closed; every session revoked");
        match self.eraser.erase(user).await {
            Ok(Erased::Done { .. }) => Ok(Deleted::Erased),
            Ok(Erased::NotClosed) => Err(StoreError::NotFound.into()),
            Err(e) => {
                error!(user_id = %user, error = %e, "erasing a closed account failed; the queued run finishes it");
                Ok(Deleted::Closing)
            }
        }
    }

    /// Everything held about `user`: the account, its wallet, its whole ledger, purchases,
    /// images, the ids of the images it likes, and its jobs.
    pub async fn export(&self, user: UserId) -> Result<Export, Refusal> {
        let store = &self.eraser.store;
        let account = store.get(user).await?.ok_or(Refusal::NoAccount)?;
        let filter = ImageFilter::default();
        Ok(Export {
            wallet: store.wallet(user).await?,
            ledger: all(|page| store.history(user, page)).await?,
            purchases: all(|page| store.purchases(user, page)).await?,
            images: all(|page| store.images(user, &filter, page)).await?,
            likes: all(|page| store.liked(user, &filter, page))
                .await?
                .into_iter()
                .map(|i| i.id)
                .collect(),
            jobs: all(|page| store.jobs(user, page)).await?,
            user: account,
        })
    }
}

/// Every item of a list, page after page.
async fn all<T, Fut>(read: impl Fn(PageRequest) -> Fut) -> Result<Vec<T>, StoreError>
where
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut items = Vec::new();
    let mut after = None;
    for _ in 0..EXPORT_PAGES {
        let page = read(PageRequest {
            limit: EXPORT_PAGE,
            after,
        })
        .await?;
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(items),
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use artforge_domain::{Credits, Email, FileUploads, Preset, Variant, Visibility};
    use artforge_fakes::{MemoryFiles, MemoryStore, MemoryTasks, contract::image};

    use super::*;
    use crate::{password::PasswordHasher, usecases::AccountLimits};

    const NOW: OffsetDateTime = time::macros::datetime!(2026-12-03 12:00 UTC);
    const HOME: &str = "203.0.113.10";

    struct Bench {
        store: MemoryStore,
        files: MemoryFiles,
        tasks: MemoryTasks,
        leaving: Leaving<MemoryStore, MemoryFiles, MemoryTasks>,
    }

    fn password(text: &str) -> Password {
        Password::parse(text.to_owned(), "password").expect("a password")
    }

    impl Bench {
        fn new() -> Self {
            let (store, files, tasks) =
                (MemoryStore::new(), MemoryFiles::new(), MemoryTasks::new());
            let identity = Arc::new(Identity {
                store: store.clone(),
                hasher: Arc::new(PasswordHasher::owasp()),
                signup_credits: Credits::new(3),
                limits: AccountLimits::default(),
            });
            Self {
                leaving: Leaving {
                    identity,
                    eraser: Eraser {
                        store: store.clone(),
                        files: files.clone(),
                    },
                    tasks: tasks.clone(),
                },
                store,
                files,
                tasks,
            }
        }

        async fn register(&self, email: &str) -> User {
            self.leaving
                .identity
                .register(
                    Email::parse(email).expect("an email"),
                    password("correct horse"),
                    None,
                    artforge_domain::ClientAddress::parse(HOME).expect("an address"),
                    NOW,
                )
                .await
                .expect("registered")
        }

        async fn image_with_files(&self, owner: UserId) -> Image {
            let image = image(owner, Preset::Square, &["sea"]);
            self.store.add(&image).await.expect("added");
            for v in Variant::ALL {
                self.files
                    .put(&image.object_key(*v), vec![1], "image/png")
                    .await
                    .expect("put");
            }
            image
        }
    }

    #[tokio::test]
    async fn a_wrong_password_deletes_nothing_and_queues_nothing() {
        let bench = Bench::new();
        let ada = bench.register("ada@example.com").await;
        bench.image_with_files(ada.id).await;
        let refused = bench
            .leaving
            .delete(ada.id, password("wrong horse"), NOW)
            .await;
        assert!(
            matches!(refused, Err(Refusal::WrongCredentials)),
            "{refused:?}"
        );
        assert!(bench.tasks.sent().is_empty());
        assert!(bench.store.get(ada.id).await.expect("read").is_some());
        assert_eq!(bench.files.keys().len(), 3);
    }

    #[tokio::test]
    async fn a_deletion_signs_out_everywhere_removes_every_file_and_keeps_the_ledger() {
        let bench = Bench::new();
        let ada = bench.register("ada@example.com").await;
        let bo = bench.register("bo@example.com").await;
        let theirs = bench.image_with_files(bo.id).await;
        bench
            .store
            .update(bo.id, theirs.id, None, Some(Visibility::Public))
            .await
            .expect("public");
        bench.image_with_files(ada.id).await;
        bench.store.like(ada.id, &theirs).await.expect("liked");
        let deleted = bench
            .leaving
            .delete(ada.id, password("correct horse"), NOW)
            .await
            .expect("deleted");
        assert_eq!(deleted, Deleted::Erased);
        assert!(!bench.store.is_active(ada.id, 0, "t").await.expect("read"));
        assert!(bench.store.get(ada.id).await.expect("read").is_none());
        let left: Vec<String> = bench.files.keys();
        assert!(
            left.iter().all(|k| !k.contains(&ada.id.to_string())),
            "{left:?}"
        );
        let theirs = bench.store.image(bo.id, theirs.id).await.expect("read");
        assert_eq!(theirs.map(|i| i.likes), Some(0));
        assert_eq!(
            bench.store.entries(ada.id).len(),
            1,
            "the signup entry is kept"
        );
        assert_eq!(
            bench.tasks.sent(),
            [(AccountTask::Erase { user: ada.id }, BACKUP_ERASURE_DELAY)],
            "a back-up run is queued"
        );
    }

    #[tokio::test]
    async fn the_email_opens_a_new_account_without_signup_credits() {
        let bench = Bench::new();
        let ada = bench.register("ada@example.com").await;
        bench
            .leaving
            .delete(ada.id, password("correct horse"), NOW)
            .await
            .expect("deleted");
        let again = bench.register("ada@example.com").await;
        assert_ne!(again.id, ada.id);
        assert_eq!(again.credits, Credits::ZERO);
    }

    #[tokio::test]
    async fn an_erasure_failing_half_way_leaves_the_account_closed_for_the_queued_run() {
        let bench = Bench::new();
        let ada = bench.register("ada@example.com").await;
        bench.image_with_files(ada.id).await;
        bench.files.faults.fail("remove_under", 1);
        let deleted = bench
            .leaving
            .delete(ada.id, password("correct horse"), NOW)
            .await
            .expect("closed");
        assert_eq!(deleted, Deleted::Closing);
        assert!(
            bench.store.get(ada.id).await.expect("read").is_none(),
            "closed"
        );
        assert_eq!(bench.files.keys().len(), 3, "files left for the queued run");
        bench
            .leaving
            .eraser
            .erase(ada.id)
            .await
            .expect("the queued run erases");
        assert!(bench.files.keys().is_empty());
    }

    #[tokio::test]
    async fn a_queue_that_is_down_refuses_the_deletion_before_anything_changes() {
        let bench = Bench::new();
        let ada = bench.register("ada@example.com").await;
        bench.tasks.faults.fail("send", 1);
        let refused = bench
            .leaving
            .delete(ada.id, password("correct horse"), NOW)
            .await;
        assert!(matches!(refused, Err(Refusal::Queue(_))), "{refused:?}");
        assert!(bench.store.get(ada.id).await.expect("read").is_some());
    }

    #[tokio::test]
    async fn an_export_holds_the_account_wallet_ledger_images_likes_and_jobs() {
        let bench = Bench::new();
        let ada = bench.register("ada@example.com").await;
        let mine = bench.image_with_files(ada.id).await;
        bench.store.like(ada.id, &mine).await.expect("liked");
        let export = bench.leaving.export(ada.id).await.expect("exported");
        assert_eq!(export.user.id, ada.id);
        assert_eq!(export.wallet.balance, Credits::new(3));
        assert_eq!(export.ledger.len(), 1);
        assert_eq!(
            export.images.iter().map(|i| i.id).collect::<Vec<_>>(),
            [mine.id]
        );
        assert_eq!(export.likes, [mine.id]);
        assert!(export.jobs.is_empty() && export.purchases.is_empty());
    }
}
