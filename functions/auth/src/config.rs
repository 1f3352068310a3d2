//! The auth function's configuration, read once at init.

use artforge_domain::{Credits, RateLimit};
use artforge_http::session::SessionConfig;
use artforge_runtime::{ConfigError, Env};
use artforge_s3::BucketConfig;

use crate::usecases::AccountLimits;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// The image bucket: an account's files are erased from it, and an export's images are
    /// presigned in it.
    pub bucket: BucketConfig,
    /// `ACCOUNT_QUEUE_URL`: where a deletion queues its back-up erasure.
    pub account_queue_url: String,
    /// Where share links point (the export's image views carry them).
    pub public_base_url: String,
    pub session: SessionConfig,
    pub signup_credits: Credits,
    pub limits: AccountLimits,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            bucket: BucketConfig::from_env(env)?,
            account_queue_url: env.required("ACCOUNT_QUEUE_URL")?,
            public_base_url: env.url("PUBLIC_BASE_URL")?,
            session: SessionConfig::from_env(env)?,
            signup_credits: Credits::new(env.parsed_or("SIGNUP_CREDITS", 3)?),
            limits: account_limits(env)?,
        })
    }
}

/// `SIGNUPS_PER_ADDRESS_PER_HOUR` (default 10), `LOGINS_PER_ADDRESS_PER_MINUTE` (default 30)
/// and `PASSWORD_CHECKS_PER_USER_PER_HOUR` (default 10); the login back-off is fixed.
pub fn account_limits(env: &Env) -> Result<AccountLimits, ConfigError> {
    let defaults = AccountLimits::default();
    Ok(AccountLimits {
        signups_per_address: RateLimit::per_hour(env.parsed_or(
            "SIGNUPS_PER_ADDRESS_PER_HOUR",
            defaults.signups_per_address.limit,
        )?),
        logins_per_address: RateLimit::per_minute(env.parsed_or(
            "LOGINS_PER_ADDRESS_PER_MINUTE",
            defaults.logins_per_address.limit,
        )?),
        password_checks_per_user: RateLimit::per_hour(env.parsed_or(
            "PASSWORD_CHECKS_PER_USER_PER_HOUR",
            defaults.password_checks_per_user.limit,
        )?),
        backoff: defaults.backoff,
    })
}
