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

/// The suffix of a variable that names where another one's value is kept: `<NAME>_SECRET_ARN`
/// names the Secrets Manager secret holding `<NAME>` (`artforge-secrets` reads it at init).
pub const SECRET_REFERENCE_SUFFIX: &str = "_SECRET_ARN";

/// Where configuration values come from: values read from secrets at init, then the
/// environment, then optional defaults.
#[derive(Clone, Default)]
pub struct Env {
    defaults: HashMap<&'static str, String>,
    resolved: HashMap<String, String>,
}

impl std::fmt::Debug for Env {
    /// Names only: the values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("defaults", &self.defaults.keys().collect::<Vec<_>>())
            .field("resolved", &self.resolved.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// The process environment only.
    pub fn process() -> Self {
        Self::default()
    }

    /// The process environment, falling back to `defaults` for unset names.
    pub fn with_defaults(defaults: HashMap<&'static str, String>) -> Self {
        Self {
            defaults,
            resolved: HashMap::new(),
        }
    }

    /// This environment with `values` (read from secrets at init) over it: a resolved value
    /// wins over a variable of the same name.
    pub fn with_resolved(mut self, values: impl IntoIterator<Item = (String, String)>) -> Self {
        self.resolved.extend(values);
        self
    }

    /// Every `<NAME>_SECRET_ARN` set, in the environment or the defaults, as (`NAME`, what the
    /// variable holds), sorted by name.
    pub fn secret_references(&self) -> Vec<(String, String)> {
        let mut names: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .chain(self.defaults.keys().map(|name| (*name).to_owned()))
            .filter(|name| name.len() > SECRET_REFERENCE_SUFFIX.len())
            .filter(|name| name.ends_with(SECRET_REFERENCE_SUFFIX))
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter_map(|variable| {
                let value = std::env::var(&variable)
                    .ok()
                    .or_else(|| self.defaults.get(variable.as_str()).cloned())
                    .filter(|v| !v.trim().is_empty())?;
                let name = variable.strip_suffix(SECRET_REFERENCE_SUFFIX)?.to_owned();
                Some((name, value.trim().to_owned()))
            })
            .collect()
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.resolved
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
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
    fn resolved_values_win_and_references_are_found_by_their_suffix() {
        let env = Env::with_defaults(HashMap::from([
            ("ARTFORGE_TEST_KEY", "from the defaults".to_owned()),
            (
                "ARTFORGE_TEST_KEY_SECRET_ARN",
                " artforge/test:key ".to_owned(),
            ),
            ("ARTFORGE_TEST_BLANK_SECRET_ARN", " ".to_owned()),
            ("_SECRET_ARN", "no name".to_owned()),
        ]));
        assert_eq!(
            env.secret_references(),
            vec![(
                "ARTFORGE_TEST_KEY".to_owned(),
                "artforge/test:key".to_owned()
            )]
        );
        let env =
            env.with_resolved([("ARTFORGE_TEST_KEY".to_owned(), "from the secret".to_owned())]);
        assert_eq!(
            env.optional("ARTFORGE_TEST_KEY").as_deref(),
            Some("from the secret")
        );
        assert!(
            !format!("{env:?}").contains("from the secret"),
            "names only"
        );
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
