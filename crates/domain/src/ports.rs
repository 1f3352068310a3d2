//! The capabilities the functions need from storage, each a narrow trait that an adapter
//! implements. Handlers name only the ports they use.

use std::future::Future;

use time::OffsetDateTime;

use crate::{
    Admission, CreditCause, Credits, DisplayName, Email, Image, ImageFilter, ImageId,
    InsufficientCredits, LedgerEntry, LimitReached, Movement, Pack, PasswordHash, Payment,
    Purchase, Tag, Tags, User, UserId, Visibility, Wallet,
    credits::{CreditOverflow, Refused},
    generation::{IdempotencyKey, Job, ProviderError, ProviderRequest},
    ids::JobId,
    rate::{ClientAddress, RateKey},
    throttle::Attempt,
};

/// A page of a list, newest first. `after` is the store's own position of the last item seen;
/// the HTTP layer seals it into a tamper-evident cursor before a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u16,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, or `None` when the data is exhausted.
    pub next: Option<String>,
}

/// What can go wrong in a store, in the domain's words. Adapters keep the SDK error as source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the email is already registered")]
    EmailTaken,
    /// An account with signup credits was refused: the email had them before.
    #[error("the email had signup credits before")]
    SignupCreditsUsed,
    #[error(transparent)]
    InsufficientCredits(#[from] InsufficientCredits),
    #[error("no such item")]
    NotFound,
    #[error("a cursor position does not belong to this list")]
    BadPosition,
    #[error("too much contention on one item; gave up after retrying")]
    Contention,
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("an item in the store is malformed: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Overflow(#[from] CreditOverflow),
}

impl From<Refused> for StoreError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Insufficient(e) => Self::InsufficientCredits(e),
            Refused::Overflow(e) => Self::Overflow(e),
        }
    }
}

/// Everything needed to open an account; the signup grant is applied with it, atomically.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: UserId,
    pub email: Email,
    pub name: Option<DisplayName>,
    pub password_hash: PasswordHash,
    pub signup_credits: Credits,
    pub created_at: OffsetDateTime,
}

/// What a ledger movement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerOutcome {
    /// The movement happened, now.
    Applied {
        entry: LedgerEntry,
        shortfall: Credits,
    },
    /// This cause had already moved credits; nothing changed.
    AlreadyApplied { balance: Credits },
}

impl LedgerOutcome {
    pub fn balance(&self) -> Credits {
        match self {
            Self::Applied { entry, .. } => entry.balance_after,
            Self::AlreadyApplied { balance } => *balance,
        }
    }
}

/// User accounts and their credentials.
pub trait Accounts: Send + Sync {
    /// Opens an account with its signup credits (free credits) in one atomic step;
    /// `EmailTaken` when the address is in use, in any case; `SignupCreditsUsed` when it asks
    /// for signup credits and the email had them before (an email gets them once).
    fn create(&self, account: NewAccount) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// The account and its password hash, for a login.
    fn credentials(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<(User, PasswordHash)>, StoreError>> + Send;

    /// The account and its password hash, for a password change.
    fn credentials_of(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Option<(User, PasswordHash)>, StoreError>> + Send;

    fn get(&self, user: UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    fn rename(
        &self,
        user: UserId,
        name: &DisplayName,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Replaces the password hash and raises the token version (revoking every token issued
    /// before), only if the version is still `expected_version`.
    fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        expected_version: u64,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Raises the token version, revoking every token of the user.
    fn revoke_all_tokens(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Whether an issued token may still be used.
pub trait Sessions: Send + Sync {
    /// True when the user exists, `token_version` is current and the token was not revoked.
    fn is_active(
        &self,
        user: UserId,
        token_version: u64,
        token_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes one token until it would have expired anyway.
    fn revoke(
        &self,
        user: UserId,
        token_id: &str,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Login attempts per (email, client address), for the back-off (`throttle`).
pub trait LoginThrottle: Send + Sync {
    /// Counts one attempt at `email` from `from`, unless attempts there are held past `now`
    /// (then counts nothing). The count is kept until `keep` after `now`, and is forgotten
    /// once that passes. Concurrent attempts each get their own number.
    fn begin_attempt(
        &self,
        email: &Email,
        from: ClientAddress,
        now: OffsetDateTime,
        keep: time::Duration,
    ) -> impl Future<Output = Result<Attempt, StoreError>> + Send;

    /// Holds attempts at `email` from `from` until `until`, when attempt number `turn` may go
    /// on; a hold is only ever moved later, never earlier.
    fn hold(
        &self,
        email: &Email,
        from: ClientAddress,
        turn: u32,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the attempts at `email` from `from` (after a success).
    fn clear(
        &self,
        email: &Email,
        from: ClientAddress,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Request counters in fixed windows, for rate limits (`rate`).
pub trait RateLimits: Send + Sync {
    /// Counts one request for `key` in the window that started at `window_start` (kept until
    /// `window_end`, then forgotten): the window's count, this request included. Atomic:
    /// concurrent requests each count.
    fn count(
        &self,
        key: &RateKey,
        window_start: OffsetDateTime,
        window_end: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The credit ledger: every change of a balance goes through `apply`.
pub trait Ledger: Send + Sync {
    /// Moves credits for `cause` at most once: balance update, effect guard and ledger entry in
    /// one atomic step. A debit the balance cannot cover fails with `InsufficientCredits`.
    fn apply(
        &self,
        user: UserId,
        cause: &CreditCause,
        movement: Movement,
    ) -> impl Future<Output = Result<LedgerOutcome, StoreError>> + Send;

    /// The user's balance now.
    fn balance(&self, user: UserId) -> impl Future<Output = Result<Credits, StoreError>> + Send;

    /// The user's whole wallet now: balance, free credits, debt.
    fn wallet(&self, user: UserId) -> impl Future<Output = Result<Wallet, StoreError>> + Send;

    /// The user's ledger entries, newest first.
    fn history(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<LedgerEntry>, StoreError>> + Send;
}

/// Image metadata: a user's history, one image, its tags and visibility, the public feed.
pub trait Images: Send + Sync {
    /// Records a finished image whose files are already stored.
    fn add(&self, image: &Image) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One image of `owner`.
    fn image(
        &self,
        owner: UserId,
        id: ImageId,
    ) -> impl Future<Output = Result<Option<Image>, StoreError>> + Send;

    /// `owner`'s live images among `ids`, in the order of `ids` (missing ones left out).
    fn images_by_id(
        &self,
        owner: UserId,
        ids: &[ImageId],
    ) -> impl Future<Output = Result<Vec<Image>, StoreError>> + Send;

    /// One public image of anybody.
    fn public_image(
        &self,
        id: ImageId,
    ) -> impl Future<Output = Result<Option<Image>, StoreError>> + Send;

    /// `owner`'s images that pass `filter`, newest first; a page is full unless they run out.
    fn images(
        &self,
        owner: UserId,
        filter: &ImageFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Image>, StoreError>> + Send;

    /// Replaces the tags and/or the visibility of one of `owner`'s images.
    fn update(
        &self,
        owner: UserId,
        id: ImageId,
        tags: Option<&Tags>,
        visibility: Option<Visibility>,
    ) -> impl Future<Output = Result<Image, StoreError>> + Send;

    /// Hides an image from every list while its files are being deleted.
    fn retire(
        &self,
        owner: UserId,
        id: ImageId,
    ) -> impl Future<Output = Result<Option<Image>, StoreError>> + Send;

    /// Forgets a retired image's metadata.
    fn forget(
        &self,
        owner: UserId,
        id: ImageId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every tag of `owner`'s images with how many images carry it.
    fn tag_counts(
        &self,
        owner: UserId,
    ) -> impl Future<Output = Result<Vec<(Tag, u64)>, StoreError>> + Send;

    /// Public images of everyone, newest first.
    fn feed(
        &self,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Image>, StoreError>> + Send;

    /// Public images of everyone whose prompt and tags match `search`, newest first; a page
    /// is full unless they run out. Positions are those of [`Images::feed`].
    fn search_feed(
        &self,
        search: &crate::Search,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Image>, StoreError>> + Send;
}

/// The walk of the one-off search backfill (ADR 0140): images written before search have no
/// words and no index entries, and are found here to be re-filed through [`Images::update`].
pub trait UnindexedImages: Send + Sync {
    /// The live images without search words among the next `limit` stored items after
    /// `after` (the `next` of the page before; `None`: from the start), and where the walk
    /// goes on (`None`: it is over). Items read are not all images, so a page may be empty
    /// and still have a `next`. An `after` this store did not answer is
    /// [`StoreError::BadPosition`].
    fn unindexed_images(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Image>, StoreError>> + Send;
}

/// Likes: one per user and image, with an exact count on the image.
pub trait Likes: Send + Sync {
    /// Likes `image` (own or public) once; liking again changes nothing. The image's count.
    fn like(
        &self,
        user: UserId,
        image: &Image,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Takes a like back; without one, changes nothing. The image's count.
    fn unlike(
        &self,
        user: UserId,
        image: &Image,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Which of `ids` `user` likes.
    fn liked_among(
        &self,
        user: UserId,
        ids: &[ImageId],
    ) -> impl Future<Output = Result<std::collections::HashSet<ImageId>, StoreError>> + Send;

    /// The images `user` likes and may still see, that pass `filter`, newest like first.
    fn liked(
        &self,
        user: UserId,
        filter: &ImageFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Image>, StoreError>> + Send;
}

/// How a file should arrive when it is downloaded rather than shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub file_name: String,
    pub content_type: String,
}

/// The image files: short-lived read URLs, and removal.
pub trait ImageFiles: Send + Sync {
    /// A presigned GET URL for `key`; with `download`, the response is an attachment.
    fn url(
        &self,
        key: &str,
        download: Option<&Download>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// Removes the files; absent ones are no error.
    fn remove(&self, keys: &[String]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a settlement writes about the purchase a payment paid for: the purchase as it is
/// after it, and the credits it moves (none when the payment's worth did not change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseSettlement {
    pub purchase: Purchase,
    pub movement: Option<(CreditCause, Movement)>,
}

/// What settling a payment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Written; `shortfall` credits could not be taken back (now the user's debt).
    Written { shortfall: Credits },
    /// The payment changed since it was read; nothing was written.
    Raced,
}

/// Credit purchases through Stripe Checkout, and what Stripe reports about their payments.
pub trait Purchases: Send + Sync {
    /// Records a started Checkout Session as a pending purchase, unless the session is
    /// recorded already (the webhook may have got there first).
    fn start(&self, purchase: &Purchase) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user's purchases, newest first.
    fn purchases(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Purchase>, StoreError>> + Send;

    /// One purchase of the user's.
    fn purchase(
        &self,
        user: UserId,
        checkout_session: &str,
    ) -> impl Future<Output = Result<Option<Purchase>, StoreError>> + Send;

    /// Writes `purchase` (its status as given) only if the session is unknown or still
    /// pending; otherwise changes nothing.
    fn settle_pending(
        &self,
        purchase: &Purchase,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What is known of a payment, if anything.
    fn payment(&self, id: &str)
    -> impl Future<Output = Result<Option<Payment>, StoreError>> + Send;

    /// Writes `payment` (at its version, only if the stored one is the version before it) and,
    /// when it paid for a purchase, the purchase and its credit movement, in one atomic step.
    /// A shortfall of the movement is added to the purchase's.
    fn settle(
        &self,
        payment: &Payment,
        purchase: Option<&PurchaseSettlement>,
    ) -> impl Future<Output = Result<Settled, StoreError>> + Send;
}

/// A hosted checkout page for one pack, opened for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutPage {
    pub session_id: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment provider is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the payment provider answered without a checkout page")]
    NoPage,
}

/// A Checkout Session as the payment provider reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub id: String,
    pub paid: bool,
    pub payment_intent: Option<String>,
    pub amount_total: Option<u64>,
    pub currency: Option<String>,
    /// The user and the pack the session was opened for (its metadata).
    pub user: Option<String>,
    pub pack: Option<String>,
}

/// The payment provider: opens checkout pages and says how a session stands.
pub trait Payments: Send + Sync {
    fn checkout(
        &self,
        user: &User,
        pack: &Pack,
    ) -> impl Future<Output = Result<CheckoutPage, PaymentError>> + Send;

    /// The session as it stands now; `None` when the provider does not know it.
    fn session(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SessionState>, PaymentError>> + Send;
}

/// An idempotent submission: the client's key and what the request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub fingerprint: String,
}

/// What an unexpired idempotency key stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    pub job: JobId,
    pub fingerprint: String,
}

/// Why a submission wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum SubmitRefusal {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Insufficient(#[from] InsufficientCredits),
    /// The idempotency key is held by another submission.
    #[error("the idempotency key is taken")]
    KeyTaken,
    /// A daily limit has no room for this submission.
    #[error(transparent)]
    Limit(#[from] LimitReached),
}

impl From<Refused> for SubmitRefusal {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Insufficient(e) => Self::Insufficient(e),
            Refused::Overflow(e) => Self::Store(e.into()),
        }
    }
}

/// A worker's hold on a running job: only its holder may finish it, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub token: String,
    pub until: OffsetDateTime,
}

/// What claiming a job for work found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The job is this worker's to run until the lease ends.
    Claimed(Job, Lease),
    /// The job is not claimable (final, or running under an unexpired lease): as it is; `None`
    /// when there is no such job.
    Refused(Option<Job>),
}

/// Who may finish a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    /// The worker holding this lease, while the job runs under it.
    Lease(&'a Lease),
    /// Anyone, while the job is not final (a dead letter, or a job that could not be queued).
    Anyone,
    /// The sweeper, while the job is still queued: no worker has claimed it.
    Unclaimed,
    /// The sweeper, while the job runs under a lease that ended by this time: its worker is
    /// gone and no other took it over.
    Lapsed(OffsetDateTime),
}

/// Generation jobs, with the credits they cost and give back.
pub trait Jobs: Send + Sync {
    /// Debits the job's cost (cause: the job's debit), writes the job, the idempotency record
    /// (unless an unexpired one holds the key) and counts the job against the day's limits,
    /// all in one atomic step, answering the balance after. Nothing is written when any part
    /// is refused.
    fn submit(
        &self,
        job: &Job,
        idempotency: Option<&Idempotency>,
        admission: &Admission,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Credits, SubmitRefusal>> + Send;

    /// What an idempotency key stands for, unless it is unknown or expired at `now`.
    fn remembered(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Remembered>, StoreError>> + Send;

    fn job(
        &self,
        owner: UserId,
        id: JobId,
    ) -> impl Future<Output = Result<Option<Job>, StoreError>> + Send;

    /// The user's jobs, newest first.
    fn jobs(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Job>, StoreError>> + Send;

    /// Takes a queued job, or a running one whose lease expired by `now`, until `now + lease`.
    fn claim(
        &self,
        owner: UserId,
        id: JobId,
        lease: std::time::Duration,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Stores `job` as finished (its status, images, refund and error as given), the
    /// `images`' metadata, and gives back `job.refunded` credits (cause: the job's refund, at
    /// most once), in one atomic step; only while `holder` may finish it. `false`: it may not
    /// (another worker holds it, or it is final); nothing was written.
    fn finish(
        &self,
        job: &Job,
        holder: Holder<'_>,
        images: &[Image],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Lists `previews` partial images on the running job, only while `lease` holds it (a
    /// finished job lists none). `false`: it does not (finished, or taken over); nothing was
    /// written.
    fn list_previews(
        &self,
        owner: UserId,
        id: JobId,
        lease: &Lease,
        previews: u8,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A job that is not finished, as the sweeper finds it: with its worker's lease, if one
/// claimed it, and when the sweeper sent it to the queue again, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub job: Job,
    pub lease_until: Option<OffsetDateTime>,
    pub resent_at: Option<OffsetDateTime>,
}

/// Finding the jobs that are debited but may be stuck, for the sweeper: from an index of
/// unfinished jobs, never by scanning every job.
pub trait StuckJobs: Send + Sync {
    /// Up to `limit` jobs that are not finished and were submitted before `before`, oldest
    /// first.
    fn unfinished(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Unfinished>, StoreError>> + Send;

    /// Records that a queued job is sent to the queue again at `now`, once: `false` when it is
    /// no longer queued or was sent again before (nothing was written).
    fn mark_resent(
        &self,
        owner: UserId,
        id: JobId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("the job queue is unavailable")]
pub struct QueueError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Where submitted jobs wait for a worker.
pub trait JobQueue: Send + Sync {
    fn enqueue(
        &self,
        owner: UserId,
        job: JobId,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// The image provider. Retries and the job's deadline are the adapter's business; what it
/// answers is final. One entry per image asked for, each usable bytes or why not.
pub trait ImageProvider: Send + Sync {
    fn generate(
        &self,
        request: &ProviderRequest,
    ) -> impl Future<Output = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>> + Send;

    /// The same, asking the provider to stream `partials.wanted()` partial images of the first
    /// image and handing each to `partials` as it arrives. A provider or model that does not
    /// stream answers as [`ImageProvider::generate`] does and sends none (the default).
    fn generate_with_previews(
        &self,
        request: &ProviderRequest,
        _partials: &crate::Partials,
    ) -> impl Future<Output = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>> + Send
    {
        self.generate(request)
    }

    /// Edits `files.sources` (the first, under `files.mask` if any; the others are
    /// references) as `request` says, answering as [`ImageProvider::generate`] does. A provider
    /// that makes no edits refuses before sending.
    fn edit(
        &self,
        request: &ProviderRequest,
        files: &crate::edit::EditFiles,
    ) -> impl Future<Output = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>> + Send
    {
        let _ = (request, files);
        async {
            Err(ProviderError::Rejected {
                status: 0,
                message: "not sent: this provider makes no edits".into(),
            })
        }
    }

    /// The same edit, asking the provider to stream `partials.wanted()` partial images of the
    /// first image as [`ImageProvider::generate_with_previews`] does. A provider or model that
    /// does not stream answers as [`ImageProvider::edit`] does and sends none (the default).
    fn edit_with_previews(
        &self,
        request: &ProviderRequest,
        files: &crate::edit::EditFiles,
        _partials: &crate::Partials,
    ) -> impl Future<Output = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>> + Send
    {
        self.edit(request, files)
    }
}

/// Writing image files (the worker).
pub trait FileUploads: Send + Sync {
    fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The head of a stored file: its whole length, the type it was stored with, and its first
/// bytes (all of them when it is no longer than asked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    pub size: u64,
    pub content_type: Option<String>,
    pub head: Vec<u8>,
}

impl Peeked {
    /// Whether `head` is the whole file.
    pub fn is_whole(&self) -> bool {
        u64::try_from(self.head.len()).is_ok_and(|n| n >= self.size)
    }
}

/// Reading stored files: uploads to check, sources to send to the provider.
pub trait FileReads: Send + Sync {
    /// Up to `limit` first bytes of `key`, with its length and type; `None` when absent.
    fn peek(
        &self,
        key: &str,
        limit: u64,
    ) -> impl Future<Output = Result<Option<Peeked>, StoreError>> + Send;
}

/// Presigned uploads: a URL through which a client writes one file of the declared type and
/// length under `key`, until `ttl` has passed.
pub trait UploadUrls: Send + Sync {
    fn presign_upload(
        &self,
        key: &str,
        request: &crate::edit::UploadRequest,
        ttl: std::time::Duration,
    ) -> impl Future<Output = Result<crate::edit::PresignedUpload, StoreError>> + Send;
}
