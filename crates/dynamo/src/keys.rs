//! Key construction for every item of the single table (DESIGN §4).

use artforge_domain::{ArchiveId, ClientAddress, Email, ImageId, JobId, RateKey, UserId};

/// The table's key attributes.
pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// Sort keys of the items a partition holds one of.
pub const PROFILE: &str = "PROFILE";
pub const EMAIL_LOCK_SK: &str = "EMAIL";
pub const SIGNUP_SK: &str = "SIGNUP";
pub const PAYMENT_SK: &str = "PAYMENT";

/// Partition keys of items shared by everyone: the public feed in `gsi1` (by image id, so by
/// time), and the service's provider spend, two items (purchased, free) per UTC day.
pub const FEED: &str = "FEED";
pub const SPEND: &str = "SPEND";

/// Declares each key as its prefix followed by what names the item; a kind a user has many
/// of (listed and paged by prefix) names its prefix as a constant too.
macro_rules! keys {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) = $($kind:ident)? $prefix:literal;)+) => {
        $(
            $(pub const $kind: &str = $prefix;)?
            $(#[$doc])*
            pub fn $name($arg: $ty) -> String {
                format!(concat!($prefix, "{}"), $arg)
            }
        )+
    };
}

keys! {
    user(user: UserId) = "USER#";
    /// What the model-lifecycle check found about one provider model.
    model(id: &str) = "MODEL#";
    email_lock(email: &Email) = "EMAIL#";
    ledger_entry(id: &str) = LEDGER_PREFIX "LEDGER#";
    effect(effect_key: &str) = EFFECT_PREFIX "EFFECT#";
    revoked_token(token_id: &str) = "REVOKED#";
    /// Login attempts at an email, one item per client address.
    login_attempts(email: &Email) = "LOGIN#";
    attempts_from(address: ClientAddress) = "FROM#";
    /// A rate limit's counts, one item per fixed window (by its start, in Unix seconds).
    rate(key: &RateKey) = "RATE#";
    rate_window(start: i64) = "WINDOW#";
    image(id: ImageId) = IMAGE_PREFIX "IMAGE#";
    like(image: ImageId) = LIKE_PREFIX "LIKE#";
    /// A user's likes in `gsi1`, by like time.
    likes_of(user: UserId) = "LIKES#";
    purchase(checkout_session: &str) = PURCHASE_PREFIX "PURCHASE#";
    /// Which purchase a Stripe payment paid for (refunds name the payment, not the session).
    payment(payment_intent: &str) = "PAYMENT#";
    job(id: JobId) = JOB_PREFIX "JOB#";
    /// A user's count of images requested on one UTC day (in the user's partition).
    daily_quota(day: time::Date) = "QUOTA#";
    /// The service's spend of one UTC day on jobs purchased credits paid for.
    spend_day(day: time::Date) = "DAY#";
    /// The service's spend of one UTC day on jobs free (signup) credits paid for.
    free_spend_day(day: time::Date) = "FREE#";
    /// A ZIP archive of some of a user's images (expires with its file).
    archive(id: ArchiveId) = ARCHIVE_PREFIX "ARCHIVE#";
    /// An idempotency key of a user's job submissions.
    idempotency(key: &str) = "IDEMPOTENCY#";
    /// A `gsi1` partition of the feed's search index: public images filed under one stem.
    term(stem: &str) = "TERM#";
}

/// Sort keys of a public image's entries in the search index, in its owner's partition
/// (`POSTING#<imageId>#<stem>`): one per stem, listed together by [`postings_of`].
pub const POSTING_PREFIX: &str = "POSTING#";

/// The sort key of `image`'s entry under `stem`.
pub fn posting(image: ImageId, stem: &str) -> String {
    format!("{POSTING_PREFIX}{image}#{stem}")
}

/// The prefix of every sort key of `image`'s entries.
pub fn postings_of(image: ImageId) -> String {
    format!("{POSTING_PREFIX}{image}#")
}
