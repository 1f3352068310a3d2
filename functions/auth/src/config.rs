//! The auth function's configuration, read once at init.

use artforge_domain::Credits;
use artforge_http::config::{ConfigError, Env};
use artforge_http::token::Keyring;
use time::Duration;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub keyring: Keyring,
    pub issuer: String,
    pub audience: String,
    pub session_ttl: Duration,
    /// False only for plain-http local development.
    pub cookie_secure: bool,
    pub signup_credits: Credits,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            keyring: Keyring::parse(&env.required("JWT_KEYS")?)?,
            issuer: env
                .optional("JWT_ISSUER")
                .unwrap_or_else(|| "artforge".into()),
            audience: env
                .optional("JWT_AUDIENCE")
                .unwrap_or_else(|| "artforge".into()),
            session_ttl: Duration::seconds(env.parsed_or("SESSION_TTL_SECONDS", 7 * 24 * 3600)?),
            cookie_secure: env.parsed_or("SESSION_COOKIE_SECURE", true)?,
            signup_credits: Credits::new(env.parsed_or("SIGNUP_CREDITS", 3)?),
        })
    }
}
