//! Secrets read once at init, from AWS Secrets Manager (DESIGN §6; ADR 0090).
//!
//! A function's configuration names its secrets, not their values: `<NAME>_SECRET_ARN` names
//! the secret that holds configuration value `<NAME>` (`JWT_KEYS_SECRET_ARN`,
//! `STRIPE_SECRET_KEY_SECRET_ARN`, `STRIPE_WEBHOOK_SECRET_SECRET_ARN`,
//! `OPENAI_API_KEY_SECRET_ARN`). The reference is the secret's ARN (or name), optionally
//! followed by `:<json-key>` as in ECS's `valueFrom`: with a key, the value is that member of
//! the secret's JSON object; without, the whole secret string. [`resolve`] reads every
//! referenced secret once, concurrently, before the function builds anything, and lays the
//! values over the environment ([`Env::with_resolved`]), so `Config::from_env` reads `<NAME>`
//! as it always did. Without references (local development, tests) nothing is read and the
//! plain variables are used.

use std::{collections::HashMap, time::Duration};

use artforge_aws::SdkConfig;
use artforge_runtime::Env;
use aws_sdk_secretsmanager::{Client, config::timeout::TimeoutConfig};
use tracing::info;

/// The longest one read may take, retries included; a cold start that cannot read its secrets
/// fails instead of waiting out Lambda's init timeout.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a function could not read its secrets. Never carries a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{name}_SECRET_ARN is invalid: {reason}")]
    Reference { name: String, reason: &'static str },
    #[error("reading secret {secret} (for {name}) failed")]
    Read {
        name: String,
        secret: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("secret {secret} (for {name}) has no text value")]
    NotText { name: String, secret: String },
    #[error("secret {secret} (for {name}) is not a JSON object with a string member {key}")]
    Member {
        name: String,
        secret: String,
        key: String,
    },
}

/// One `<NAME>_SECRET_ARN`: which secret, and which member of it, holds `<NAME>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    /// The secret's ARN or name: what `GetSecretValue` takes as `SecretId`.
    pub secret_id: String,
    pub json_key: Option<String>,
}

impl Reference {
    /// `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>[:<json-key>]`, or
    /// `<name>[:<json-key>]` (a secret's name cannot contain `:`).
    pub fn parse(name: &str, value: &str) -> Result<Self, SecretsError> {
        let invalid = |reason| SecretsError::Reference {
            name: name.to_owned(),
            reason,
        };
        let value = value.trim();
        let (secret_id, json_key) = if value.starts_with("arn:") {
            let fields: Vec<&str> = value.split(':').collect();
            match fields.len() {
                7 => (value.to_owned(), None),
                8 => (fields[..7].join(":"), Some(fields[7])),
                _ => return Err(invalid("an ARN is arn:...:secret:<name>, then :<json-key>")),
            }
        } else {
            match value.split_once(':') {
                Some((id, key)) => (id.to_owned(), Some(key)),
                None => (value.to_owned(), None),
            }
        };
        if secret_id.is_empty() || json_key.is_some_and(str::is_empty) {
            return Err(invalid("an empty secret id or JSON key"));
        }
        Ok(Self {
            name: name.to_owned(),
            secret_id,
            json_key: json_key.map(str::to_owned),
        })
    }

    /// This reference's value out of its secret's string.
    fn value_in(&self, secret: &str) -> Result<String, SecretsError> {
        let Some(key) = &self.json_key else {
            return Ok(secret.to_owned());
        };
        let member = serde_json::from_str::<serde_json::Value>(secret)
            .ok()
            .and_then(|json| json.get(key).and_then(|v| v.as_str()).map(str::to_owned));
        member.ok_or_else(|| SecretsError::Member {
            name: self.name.clone(),
            secret: self.secret_id.clone(),
            key: key.clone(),
        })
    }
}

/// Every `<NAME>_SECRET_ARN` of `env`, parsed.
pub fn references(env: &Env) -> Result<Vec<Reference>, SecretsError> {
    env.secret_references()
        .iter()
        .map(|(name, value)| Reference::parse(name, value))
        .collect()
}

/// `env` with every referenced secret read (each secret once, all at once) and laid over it.
/// Without references it is `env` as it was, and no client is built.
pub async fn resolve(env: Env, aws: &SdkConfig) -> Result<Env, SecretsError> {
    let references = references(&env)?;
    if references.is_empty() {
        return Ok(env);
    }
    let client = Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(aws)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(artforge_aws::CONNECT_TIMEOUT)
                    .operation_timeout(READ_TIMEOUT)
                    .build(),
            )
            .build(),
    );
    let mut first_reference: HashMap<&str, &Reference> = HashMap::new();
    for reference in &references {
        first_reference
            .entry(reference.secret_id.as_str())
            .or_insert(reference);
    }
    let reads = first_reference.into_values().map(|reference| {
        let client = client.clone();
        async move {
            let out = client
                .get_secret_value()
                .secret_id(&reference.secret_id)
                .send()
                .await
                .map_err(|e| SecretsError::Read {
                    name: reference.name.clone(),
                    secret: reference.secret_id.clone(),
                    source: Box::new(e),
                })?;
            let text = out
                .secret_string()
                .ok_or_else(|| SecretsError::NotText {
                    name: reference.name.clone(),
                    secret: reference.secret_id.clone(),
                })?
                .to_owned();
            Ok::<_, SecretsError>((reference.secret_id.clone(), text))
        }
    });
    let secrets: HashMap<String, String> = futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect();
    let mut values = Vec::with_capacity(references.len());
    for reference in &references {
        // Every secret id was read above.
        let secret = secrets.get(&reference.secret_id).map_or("", String::as_str);
        values.push((reference.name.clone(), reference.value_in(secret)?));
    }
    info!(
        names = ?references.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        secrets = secrets.len(),
        "configuration read from Secrets Manager"
    );
    Ok(env.with_resolved(values))
}

/// What every function's `from_env` starts from: the SDK configuration from Lambda's
/// environment, and the process environment with its secrets read through it.
pub async fn process_env() -> Result<(Env, SdkConfig), Box<dyn std::error::Error + Send + Sync>> {
    let aws = artforge_aws::load_from_env()?;
    let env = resolve(Env::process(), &aws).await?;
    Ok((env, aws))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:artforge/stripe-AbCdEf";

    #[test]
    fn a_reference_is_an_arn_or_a_name_with_an_optional_json_key() {
        let parse = |value: &str| Reference::parse("STRIPE_SECRET_KEY", value);
        let whole = parse(ARN).expect("an ARN");
        assert_eq!((whole.secret_id.as_str(), whole.json_key), (ARN, None));
        let member = parse(&format!("{ARN}:secretKey")).expect("an ARN and a key");
        assert_eq!(member.secret_id, ARN);
        assert_eq!(member.json_key.as_deref(), Some("secretKey"));
        let named = parse("artforge/openai:apiKey").expect("a name and a key");
        assert_eq!(named.secret_id, "artforge/openai");
        assert_eq!(named.json_key.as_deref(), Some("apiKey"));
        assert_eq!(parse("artforge/openai").expect("a name").json_key, None);
        for bad in [
            "arn:aws:secretsmanager:eu-west-1",
            &format!("{ARN}:key:extra"),
            &format!("{ARN}:"),
            ":apiKey",
        ] {
            assert!(
                matches!(parse(bad), Err(SecretsError::Reference { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_json_key_takes_its_string_member_and_an_error_never_shows_the_secret() {
        let reference = Reference::parse("OPENAI_API_KEY", "artforge/openai:apiKey").expect("ok");
        assert_eq!(
            reference.value_in(r#"{"apiKey": "sk-1"}"#).ok().as_deref(),
            Some("sk-1")
        );
        for secret in [r#"{"other": "sk-2"}"#, r#"{"apiKey": 2}"#, "sk-2"] {
            let err = reference.value_in(secret).expect_err(secret);
            assert!(!err.to_string().contains("sk-2"), "{err}");
        }
        let whole = Reference::parse("JWT_KEYS", "artforge/jwt").expect("ok");
        assert_eq!(whole.value_in("k1:abc").ok().as_deref(), Some("k1:abc"));
    }
}
