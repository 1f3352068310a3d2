//! The billing function's configuration, read once at init.

use artforge_domain::Packs;
use artforge_http::{
    config::{ConfigError, Env},
    session::SessionConfig,
};

use crate::signature::WebhookSecrets;

/// 50 credits for $10, 300 for $30, 500 for $50 (Stripe Price ids are placeholders until
/// `CREDIT_PACKS` names real ones).
pub const DEFAULT_PACKS: &str = "starter:50:1000:usd:price_starter,creator:300:3000:usd:price_creator,studio:500:5000:usd:price_studio";

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub session: SessionConfig,
    pub packs: Packs,
    pub webhook_secrets: WebhookSecrets,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let packs = env
            .optional("CREDIT_PACKS")
            .unwrap_or_else(|| DEFAULT_PACKS.to_owned());
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            session: SessionConfig::from_env(env)?,
            packs: Packs::parse(&packs).map_err(|reason| ConfigError::Invalid {
                name: "CREDIT_PACKS",
                reason,
            })?,
            webhook_secrets: WebhookSecrets::parse(&env.required("STRIPE_WEBHOOK_SECRET")?),
        })
    }
}
