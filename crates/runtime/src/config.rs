//! Reading configuration, once, at init: from the process environment in Lambda, and from the
//! environment over local defaults in the dev server, through the same [`Env`].

use std::{collections::HashMap, str::FromStr};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where configuration values come from: the environment, then optional defaults.
#[derive(Debug, Clone, Default)]
pub struct Env {
    defaults: HashMap<&'static str, String>,
}

impl Env {
    /// The process environment only.
    pub fn process() -> Self {
        Self::default()
    }

    /// The process environment, falling back to `defaults` for unset names.
    pub fn with_defaults(defaults: HashMap<&'static str, String>) -> Self {
        Self { defaults }
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.defaults.get(name).cloned())
            .filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// A required http(s) URL, without a trailing slash (`PUBLIC_BASE_URL`, ...).
    pub fn url(&self, name: &'static str) -> Result<String, ConfigError> {
        let url = self.required(name)?.trim().trim_end_matches('/').to_owned();
        if url.starts_with("https://") || url.starts_with("http://") {
            Ok(url)
        } else {
            Err(ConfigError::Invalid {
                name,
                reason: "must be an http(s) URL".into(),
            })
        }
    }

    pub fn parsed_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_only_what_the_environment_leaves_unset() {
        let env = Env::with_defaults(HashMap::from([
            ("ARTFORGE_TEST_UNSET_NAME", "7".to_owned()),
            ("PATH", "not used".to_owned()),
        ]));
        assert_eq!(
            env.parsed_or("ARTFORGE_TEST_UNSET_NAME", 3u32).ok(),
            Some(7)
        );
        assert_ne!(env.optional("PATH").as_deref(), Some("not used"));
        assert!(matches!(
            env.required("ARTFORGE_TEST_NOT_THERE"),
            Err(ConfigError::Missing(_))
        ));
        assert!(matches!(
            Env::with_defaults(HashMap::from([("ARTFORGE_TEST_BAD", "x".to_owned())]))
                .parsed_or("ARTFORGE_TEST_BAD", 1u8),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn urls_are_http_and_lose_their_trailing_slash() {
        let env = Env::with_defaults(HashMap::from([
            ("ARTFORGE_TEST_URL", "https://artforge.example/".to_owned()),
            ("ARTFORGE_TEST_NOT_URL", "artforge.example".to_owned()),
        ]));
        assert_eq!(
            env.url("ARTFORGE_TEST_URL").ok().as_deref(),
            Some("https://artforge.example")
        );
        assert!(matches!(
            env.url("ARTFORGE_TEST_NOT_URL"),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(matches!(
            env.url("ARTFORGE_TEST_NO_URL"),
            Err(ConfigError::Missing(_))
        ));
    }
}
