//! Key construction for every item of the single table (DESIGN §4).

use artforge_domain::{Email, UserId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";

pub fn user(user: UserId) -> String {
    format!("USER#{user}")
}

pub const PROFILE: &str = "PROFILE";

pub fn email_lock(email: &Email) -> String {
    format!("EMAIL#{email}")
}

pub const EMAIL_LOCK_SK: &str = "EMAIL";

pub const LEDGER_PREFIX: &str = "LEDGER#";

pub fn ledger_entry(id: &str) -> String {
    format!("{LEDGER_PREFIX}{id}")
}

pub fn effect(effect_key: &str) -> String {
    format!("EFFECT#{effect_key}")
}

pub fn revoked_token(token_id: &str) -> String {
    format!("REVOKED#{token_id}")
}

pub fn login_failures(email: &Email) -> String {
    format!("LOGIN#{email}")
}

pub const LOGIN_FAILURES_SK: &str = "FAILURES";

pub const IMAGE_PREFIX: &str = "IMAGE#";

pub fn image(id: artforge_domain::ImageId) -> String {
    format!("{IMAGE_PREFIX}{id}")
}

pub const LIKE_PREFIX: &str = "LIKE#";

pub fn like(image: artforge_domain::ImageId) -> String {
    format!("{LIKE_PREFIX}{image}")
}

/// The feed's partition of `gsi1`: public images, by image id (time-ordered).
pub const FEED: &str = "FEED";

/// A user's likes in `gsi1`, by like time.
pub fn likes_of(user: UserId) -> String {
    format!("LIKES#{user}")
}

pub const PURCHASE_PREFIX: &str = "PURCHASE#";

pub fn purchase(checkout_session: &str) -> String {
    format!("{PURCHASE_PREFIX}{checkout_session}")
}

/// Which purchase a Stripe payment paid for (refunds name the payment, not the session).
pub fn payment(payment_intent: &str) -> String {
    format!("PAYMENT#{payment_intent}")
}

pub const PAYMENT_SK: &str = "PAYMENT";

pub const JOB_PREFIX: &str = "JOB#";

pub fn job(id: artforge_domain::JobId) -> String {
    format!("{JOB_PREFIX}{id}")
}

/// A user's count of images requested on one UTC day (in the user's partition).
pub fn daily_quota(day: time::Date) -> String {
    format!("QUOTA#{day}")
}

/// The service's estimated provider spend, one item per UTC day.
pub const SPEND: &str = "SPEND";

pub fn spend_day(day: time::Date) -> String {
    format!("DAY#{day}")
}

/// An idempotency key of a user's job submissions.
pub fn idempotency(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}
