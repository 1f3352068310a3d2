//! The generate functions' configuration, read once at init: the API's ([`Config`]) and the
//! worker's ([`WorkerConfig`]), with the model catalogue both price and run jobs by.

use std::{sync::Arc, time::Duration};

use artforge_domain::{Catalog, DailyLimits, ImageFormat, PaidLimits, Tier};
use artforge_http::{problem::chain, session::SessionConfig};
use artforge_imaging::PipelineConfig;
use artforge_openai::ProviderConfig;
use artforge_runtime::{ConfigError, Env};
use artforge_s3::BucketConfig;
use secrecy::SecretString;

use crate::usecases::{previews::PreviewPolicy, sweep::SweepPolicy};

/// The catalogue shipped with the code, used when `MODEL_CATALOG` is not set.
pub const SHIPPED_CATALOG: &str = include_str!("../../../config/models.json");

/// The catalogue: `MODEL_CATALOG` (inline JSON, or the path of a JSON file) or the shipped
/// `config/models.json`, then `MODEL_ID_V2` / `MODEL_ID_V3` to swap a tier's provider model
/// without touching the file.
pub fn catalog(env: &Env) -> Result<Catalog, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "MODEL_CATALOG",
        reason,
    };
    let raw = match env.optional("MODEL_CATALOG") {
        None => SHIPPED_CATALOG.to_owned(),
        Some(inline) if inline.trim_start().starts_with('{') => inline,
        Some(path) => {
            std::fs::read_to_string(path.trim()).map_err(|e| invalid(format!("{path}: {e}")))?
        }
    };
    let mut catalog = Catalog::from_json(&raw).map_err(|e| invalid(chain(&e)))?;
    for (tier, name) in [(Tier::V2, "MODEL_ID_V2"), (Tier::V3, "MODEL_ID_V3")] {
        if let Some(model) = env.optional(name) {
            catalog = catalog.with_provider_model(tier, &model);
        }
    }
    Ok(catalog)
}

/// The generation API.
#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub queue_url: String,
    pub bucket: BucketConfig,
    pub session: SessionConfig,
    /// The web client's origin: share links of the jobs' images.
    pub public_base_url: String,
    pub catalog: Arc<Catalog>,
    pub limits: DailyLimits,
    /// `PAID_REQUESTS_PER_ADDRESS_PER_MINUTE` and `PAID_REQUESTS_PER_USER_PER_MINUTE`.
    pub paid: PaidLimits,
}

/// Daily limits: `DAILY_IMAGE_QUOTA` images per user (default 100), `DAILY_SPEND_CAP_USD` of
/// estimated provider spend on jobs paid with purchased credits (default 100) and
/// `DAILY_FREE_SPEND_CAP_USD` on jobs paid with free signup credits (default 10), each for the
/// whole service. All always apply: there is no "unlimited" value, and 0 stops that kind of
/// generation.
pub fn daily_limits(env: &Env) -> Result<DailyLimits, ConfigError> {
    let dollars = |name: &'static str, default: &str| {
        let raw = env.optional(name).unwrap_or_else(|| default.into());
        artforge_domain::limits::usd_micros(&raw, 1_000_000).ok_or(ConfigError::Invalid {
            name,
            reason: "a dollar amount such as 250 or 12.50".into(),
        })
    };
    Ok(DailyLimits {
        images_per_user: env.parsed_or("DAILY_IMAGE_QUOTA", 100)?,
        spend_cap_micros: dollars("DAILY_SPEND_CAP_USD", "100")?,
        free_spend_cap_micros: dollars("DAILY_FREE_SPEND_CAP_USD", "10")?,
    })
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            queue_url: env.required("QUEUE_URL")?,
            bucket: BucketConfig::from_env(env)?,
            session: SessionConfig::from_env(env)?,
            public_base_url: env.url("PUBLIC_BASE_URL")?,
            catalog: Arc::new(catalog(env)?),
            limits: daily_limits(env)?,
            paid: artforge_http::client::paid_limits(env)?,
        })
    }
}

/// The job worker.
#[derive(Debug)]
pub struct WorkerConfig {
    pub table_name: String,
    pub bucket: BucketConfig,
    /// Messages from this queue are jobs that exhausted their retries: fail and refund them.
    pub dead_letter_queue_arn: Option<String>,
    /// How long a claimed job is the worker's alone: the worker's own timeout.
    pub lease: Duration,
    pub catalog: Arc<Catalog>,
    pub provider: ProviderConfig,
    pub pipeline: PipelineConfig,
    /// `PREVIEW_PARTIAL_IMAGES` (0-3, default 2; 0 turns live previews off).
    pub previews: PreviewPolicy,
}

impl WorkerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let format: ImageFormat = env.parsed_or("IMAGE_FORMAT", ImageFormat::Jpeg)?;
        let quality: u8 = env.parsed_or("IMAGE_QUALITY", 83)?;
        if !(1..=100).contains(&quality) {
            return Err(ConfigError::Invalid {
                name: "IMAGE_QUALITY",
                reason: "must be 1 to 100".into(),
            });
        }
        let provider = provider_config(env)?;
        let partial_images: u8 = env.parsed_or("PREVIEW_PARTIAL_IMAGES", 2)?;
        if partial_images > artforge_domain::preview::MAX_PREVIEWS {
            return Err(ConfigError::Invalid {
                name: "PREVIEW_PARTIAL_IMAGES",
                reason: "must be 0 to 3".into(),
            });
        }
        Ok(Self {
            previews: PreviewPolicy {
                partial_images,
                ..PreviewPolicy::default()
            },
            table_name: env.required("TABLE_NAME")?,
            bucket: BucketConfig::from_env(env)?,
            dead_letter_queue_arn: env.optional("DEAD_LETTER_QUEUE_ARN"),
            lease: Duration::from_secs(env.parsed_or("JOB_LEASE_SECONDS", 300)?),
            catalog: Arc::new(catalog(env)?),
            provider,
            pipeline: PipelineConfig {
                format,
                quality,
                ..PipelineConfig::default()
            },
        })
    }
}

/// The image provider: `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `GENERATION_DEADLINE_SECONDS`,
/// `OPENAI_DOWNLOAD_HOSTS`.
pub fn provider_config(env: &Env) -> Result<ProviderConfig, ConfigError> {
    let mut provider = ProviderConfig::new(SecretString::from(
        env.optional("OPENAI_API_KEY").unwrap_or_default(),
    ));
    if let Some(base) = env.optional("OPENAI_BASE_URL") {
        provider.api_base = base;
    }
    provider.deadline = Duration::from_secs(
        env.parsed_or("GENERATION_DEADLINE_SECONDS", provider.deadline.as_secs())?,
    );
    if let Some(hosts) = env.optional("OPENAI_DOWNLOAD_HOSTS") {
        provider.download_hosts = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
    }
    Ok(provider)
}

/// The stuck-job sweeper, and the model-lifecycle check it runs on the same schedule.
#[derive(Debug)]
pub struct SweeperConfig {
    pub table_name: String,
    pub queue_url: String,
    pub bucket: BucketConfig,
    /// The worker's rendition format (`IMAGE_FORMAT`): where a failed job's files may be.
    pub format: ImageFormat,
    /// `SWEEP_AFTER_SECONDS` (default 600): how long a job may wait in the queue, or stay
    /// running past its lease, before it is swept; `SWEEP_BATCH` (default 500): the most jobs
    /// one sweep looks at.
    pub policy: SweepPolicy,
    /// The configured provider models the lifecycle check looks up.
    pub catalog: Arc<Catalog>,
    /// Where the provider's model list is read (`GET /v1/models`).
    pub provider: ProviderConfig,
}

impl SweeperConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = SweepPolicy::default();
        let after: u32 = env.parsed_or(
            "SWEEP_AFTER_SECONDS",
            u32::try_from(defaults.after.whole_seconds()).unwrap_or(600),
        )?;
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            queue_url: env.required("QUEUE_URL")?,
            bucket: BucketConfig::from_env(env)?,
            format: env.parsed_or("IMAGE_FORMAT", ImageFormat::Jpeg)?,
            policy: SweepPolicy {
                after: time::Duration::seconds(i64::from(after)),
                batch: env.parsed_or("SWEEP_BATCH", defaults.batch)?,
            },
            catalog: Arc::new(catalog(env)?),
            provider: provider_config(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn spend_caps_are_read_exactly_and_nonsense_stops_init() {
        let env = Env::with_defaults(HashMap::from([("DAILY_SPEND_CAP_USD", "12.5".to_owned())]));
        assert_eq!(
            daily_limits(&env).map(|l| l.spend_cap_micros).ok(),
            Some(12_500_000)
        );
        let env = Env::with_defaults(HashMap::from([("DAILY_SPEND_CAP_USD", "lots".to_owned())]));
        assert!(matches!(
            daily_limits(&env),
            Err(ConfigError::Invalid { .. })
        ));
        let env = Env::with_defaults(HashMap::from([("DAILY_IMAGE_QUOTA", "-3".to_owned())]));
        assert!(daily_limits(&env).is_err());
        let limits = daily_limits(&Env::with_defaults(HashMap::new())).expect("defaults");
        assert_eq!(limits.images_per_user, 100);
        assert_eq!(limits.spend_cap_micros, 100_000_000);
    }

    #[test]
    fn a_tier_model_id_is_swapped_by_configuration_alone() {
        let env = Env::with_defaults(HashMap::from([(
            "MODEL_ID_V3",
            "gpt-image-3-preview".to_owned(),
        )]));
        let catalog = catalog(&env).expect("shipped catalogue");
        let v3 = catalog.tier(Tier::V3).expect("v3");
        assert_eq!(v3.provider_model, "gpt-image-3-preview");
        let v2 = catalog.tier(Tier::V2).expect("v2");
        assert_eq!(v2.provider_model, "gpt-image-2.6-flare");
    }

    #[test]
    fn the_catalogue_can_come_inline_or_from_a_file_and_a_bad_one_stops_init() {
        let inline = SHIPPED_CATALOG.replace("gpt-image-2.6-flare", "inline-model");
        let env = Env::with_defaults(HashMap::from([("MODEL_CATALOG", inline.clone())]));
        let from_inline = catalog(&env).expect("inline");
        assert_eq!(
            from_inline
                .tier(Tier::V2)
                .map(|t| t.provider_model.as_str()),
            Some("inline-model")
        );

        let path = std::env::temp_dir().join(format!("models-{}.json", std::process::id()));
        std::fs::write(&path, inline).expect("write");
        let env = Env::with_defaults(HashMap::from([(
            "MODEL_CATALOG",
            path.display().to_string(),
        )]));
        assert!(catalog(&env).is_ok());
        std::fs::remove_file(&path).ok();

        let env = Env::with_defaults(HashMap::from([(
            "MODEL_CATALOG",
            "{\"tiers\": []}".to_owned(),
        )]));
        assert!(matches!(catalog(&env), Err(ConfigError::Invalid { .. })));
        let env = Env::with_defaults(HashMap::from([(
            "MODEL_CATALOG",
            "/no/such/catalogue.json".to_owned(),
        )]));
        assert!(matches!(catalog(&env), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn the_worker_asks_for_two_partial_images_unless_told_otherwise_and_at_most_three() {
        let worker = |value: Option<&str>| {
            let mut vars = HashMap::from([
                ("TABLE_NAME", "t".to_owned()),
                ("BUCKET_NAME", "b".to_owned()),
            ]);
            if let Some(value) = value {
                vars.insert("PREVIEW_PARTIAL_IMAGES", value.to_owned());
            }
            WorkerConfig::from_env(&Env::with_defaults(vars)).map(|c| c.previews.partial_images)
        };
        assert_eq!(worker(None).ok(), Some(2));
        assert_eq!(worker(Some("0")).ok(), Some(0));
        assert!(matches!(
            worker(Some("4")),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
