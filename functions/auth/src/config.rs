//! The auth function's configuration, read once at init.

use artforge_domain::Credits;
use artforge_http::session::SessionConfig;
use artforge_runtime::{ConfigError, Env};

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub session: SessionConfig,
    pub signup_credits: Credits,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            session: SessionConfig::from_env(env)?,
            signup_credits: Credits::new(env.parsed_or("SIGNUP_CREDITS", 3)?),
        })
    }
}
