//! The billing function's configuration, read once at init.

use artforge_domain::Packs;
use artforge_http::session::SessionConfig;
use artforge_runtime::{ConfigError, Env};

use secrecy::{ExposeSecret, SecretString};

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
    pub stripe: StripeConfig,
    /// `PAID_REQUESTS_PER_ADDRESS_PER_MINUTE` and `PAID_REQUESTS_PER_USER_PER_MINUTE`.
    pub paid: artforge_domain::PaidLimits,
}

/// Where and how Checkout Sessions are created.
pub struct StripeConfig {
    pub secret_key: SecretString,
    /// Ends in `/`: `https://api.stripe.com/`, or the local stand-in.
    pub api_base: String,
    pub success_url: String,
    pub cancel_url: String,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl StripeConfig {
    /// Whether the key is a live one (`sk_live_`/`rk_live_`) or a test one (`sk_test_`/
    /// `rk_test_`); `None` for any other key (the local stand-in's), which checks no mode.
    pub fn livemode(&self) -> Option<bool> {
        let key = self.secret_key.expose_secret();
        if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
            Some(true)
        } else if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
            Some(false)
        } else {
            None
        }
    }

    /// The Stripe client for this configuration.
    pub fn checkout(
        &self,
    ) -> Result<crate::checkout::StripeCheckout, crate::checkout::ClientError> {
        crate::checkout::StripeCheckout::new(
            self.secret_key.expose_secret(),
            &self.api_base,
            self.success_url.clone(),
            self.cancel_url.clone(),
        )
    }
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let packs = env
            .optional("CREDIT_PACKS")
            .unwrap_or_else(|| DEFAULT_PACKS.to_owned());
        Ok(Self {
            paid: artforge_http::client::paid_limits(env)?,
            table_name: env.required("TABLE_NAME")?,
            session: SessionConfig::from_env(env)?,
            packs: Packs::parse(&packs).map_err(|reason| ConfigError::Invalid {
                name: "CREDIT_PACKS",
                reason,
            })?,
            webhook_secrets: WebhookSecrets::parse(&env.required("STRIPE_WEBHOOK_SECRET")?),
            stripe: StripeConfig {
                secret_key: SecretString::from(env.required("STRIPE_SECRET_KEY")?),
                api_base: {
                    let base = env
                        .optional("STRIPE_API_BASE")
                        .unwrap_or_else(|| "https://api.stripe.com/".into());
                    if base.ends_with('/') {
                        base
                    } else {
                        format!("{base}/")
                    }
                },
                success_url: env.required("CHECKOUT_SUCCESS_URL")?,
                cancel_url: env.required("CHECKOUT_CANCEL_URL")?,
            },
        })
    }
}
