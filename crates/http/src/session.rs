//! The session settings every function shares: token keys, issuer, audience, lifetime and the
//! cookie's security, read once from the same variables everywhere.

use std::sync::Arc;

use artforge_domain::Sessions;
use time::Duration;

use artforge_runtime::{ConfigError, Env};

use crate::{
    Authenticator,
    cookie::SessionCookie,
    cursor::Cursors,
    token::{Keyring, TokenKeys},
};

#[derive(Debug)]
pub struct SessionConfig {
    pub keyring: Keyring,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
    /// False only for plain-http local development.
    pub cookie_secure: bool,
}

impl SessionConfig {
    /// `JWT_KEYS`, `JWT_ISSUER`, `JWT_AUDIENCE`, `SESSION_TTL_SECONDS`, `SESSION_COOKIE_SECURE`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            keyring: Keyring::parse(&env.required("JWT_KEYS")?)?,
            issuer: env
                .optional("JWT_ISSUER")
                .unwrap_or_else(|| "artforge".into()),
            audience: env
                .optional("JWT_AUDIENCE")
                .unwrap_or_else(|| "artforge".into()),
            ttl: Duration::seconds(env.parsed_or("SESSION_TTL_SECONDS", 7 * 24 * 3600)?),
            cookie_secure: env.parsed_or("SESSION_COOKIE_SECURE", true)?,
        })
    }

    pub fn tokens(&self) -> TokenKeys {
        TokenKeys::new(&self.keyring, &self.issuer, &self.audience, self.ttl)
    }

    pub fn cookie(&self) -> SessionCookie {
        SessionCookie::new(self.cookie_secure)
    }

    pub fn cursors(&self) -> Cursors {
        Cursors::new(&self.keyring)
    }

    /// The request authenticator, checking revocation with `sessions`.
    pub fn authenticator<S: Sessions + 'static>(
        &self,
        tokens: Arc<TokenKeys>,
        sessions: S,
    ) -> Authenticator {
        Authenticator {
            keys: tokens,
            cookie: self.cookie(),
            sessions: Arc::new(sessions),
        }
    }
}
