//! The gallery function's configuration, read once at init.

use artforge_http::session::SessionConfig;
use artforge_runtime::{ConfigError, Env};
use artforge_s3::BucketConfig;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub bucket: BucketConfig,
    pub session: SessionConfig,
    /// Where share links point: the web client's origin.
    pub public_base_url: String,
    /// `ACCOUNT_QUEUE_URL`: where archives to build are queued.
    pub account_queue_url: String,
    /// `PAID_REQUESTS_PER_ADDRESS_PER_MINUTE` and `PAID_REQUESTS_PER_USER_PER_MINUTE`: an
    /// archive is a paid request.
    pub paid: artforge_domain::PaidLimits,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            bucket: BucketConfig::from_env(env)?,
            session: SessionConfig::from_env(env)?,
            public_base_url: env.url("PUBLIC_BASE_URL")?,
            account_queue_url: env.required("ACCOUNT_QUEUE_URL")?,
            paid: artforge_http::client::paid_limits(env)?,
        })
    }
}

/// The account worker's configuration (bin `gallery-worker`).
#[derive(Debug)]
pub struct WorkerConfig {
    pub table_name: String,
    pub bucket: BucketConfig,
    pub account_queue_url: String,
}

impl WorkerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            bucket: BucketConfig::from_env(env)?,
            account_queue_url: env.required("ACCOUNT_QUEUE_URL")?,
        })
    }
}
