//! Artforge's domain: the types that are valid by construction, the rules that decide how
//! credits move, and the port traits that adapters implement. Nothing here performs I/O or
//! knows about AWS or HTTP.

pub mod account;
pub mod billing;
pub mod catalog;
pub mod credits;
pub mod edit;
pub mod generation;
pub mod ids;
pub mod image;
pub mod leaving;
pub mod lifecycle;
pub mod limits;
pub mod ports;
pub mod preview;
pub mod rate;
pub mod search;
pub mod sets;
pub mod throttle;
pub mod validation;

pub use account::{DisplayName, Email, Password, PasswordHash, User};
pub use billing::{
    Change, Dispute, DisputeStatus, Pack, PackId, Packs, PaidFor, Payment, Purchase,
    PurchaseStatus, Report, refund_share,
};
pub use catalog::{Catalog, RawGeneration};
pub use credits::{
    CreditCause, CreditOverflow, Credits, InsufficientCredits, LedgerEntry, Movement, Refused,
    Settlement, Wallet, settle,
};
pub use generation::{
    GenerationRequest, IdempotencyKey, ImageSpec, Job, JobError, JobErrorCode, JobStatus, Prompt,
    ProviderError, ProviderRequest, Quality, Style,
};
pub use ids::{ArchiveId, ImageId, JobId, UploadId, UserId};
pub use image::{Image, ImageFilter, Preset, Tag, Tags, Tier, Variant, Visibility};
pub use leaving::{
    AccountTask, AccountTasks, Archive, ArchiveStatus, Archives, Erasure, FileTree, Standing,
    ZipEntry, Zipper, archive_name, user_prefixes,
};
pub use lifecycle::{ListedModel, ModelNotice, ModelNotices, ModelStanding, ProviderModels};
pub use limits::{Admission, DailyLimits, LimitReached};
pub use ports::{
    Accounts, CheckoutPage, Claim, Download, FileUploads, Holder, Idempotency, ImageFiles,
    ImageProvider, Images, JobQueue, Jobs, Lease, Ledger, LedgerOutcome, Likes, LoginThrottle,
    NewAccount, Page, PageRequest, PaymentError, Payments, PurchaseSettlement, Purchases,
    QueueError, RateLimits, Remembered, SessionState, Sessions, Settled, StoreError, SubmitRefusal,
};
pub use ports::{FileReads, Peeked, StuckJobs, Unfinished, UnindexedImages, UploadUrls};
pub use preview::{PartialImage, Partials};
pub use rate::{ClientAddress, PaidLimits, PaidRequests, RateKey, RateLimit, Verdict};
pub use search::Search;
pub use sets::{Background, ImageFormat};
pub use throttle::{Attempt, Backoff, Judgement};
pub use validation::FieldError;
