//! The gallery function's configuration, read once at init.

use std::time::Duration;

use artforge_http::{
    config::{ConfigError, Env},
    session::SessionConfig,
};

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub bucket_name: String,
    pub session: SessionConfig,
    /// How long presigned image URLs stay valid.
    pub presign_ttl: Duration,
    /// Where share links point: the web client's origin.
    pub public_base_url: String,
    /// Path-style S3 addressing, for S3 stand-ins on loopback.
    pub s3_force_path_style: bool,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let public_base_url = env
            .required("PUBLIC_BASE_URL")?
            .trim_end_matches('/')
            .to_owned();
        if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_BASE_URL",
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            bucket_name: env.required("BUCKET_NAME")?,
            session: SessionConfig::from_env(env)?,
            presign_ttl: Duration::from_secs(env.parsed_or("PRESIGN_TTL_SECONDS", 300)?),
            public_base_url,
            s3_force_path_style: env.parsed_or("S3_FORCE_PATH_STYLE", false)?,
        })
    }
}
