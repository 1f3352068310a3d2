//! The AWS SDK configuration of every function, built once at init from Lambda's environment.
//!
//! Lambda hands a function everything the SDK needs in environment variables: the region
//! (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). So the configuration is built from those
//! directly instead of through `aws-config`'s provider chains (profile files, SSO, web identity
//! through STS, ECS, IMDS), which read `~/.aws` on every cold start, fault in their code, and
//! link an STS client and an XML parser into every binary (`scripts/bench-coldstart`). The tests
//! and the local stack build theirs here too, with moto's endpoint and dummy keys, so the
//! production path is the one they run.
//!
//! The SDK's default HTTPS client reads the whole system certificate store (on Debian a bundle
//! plus ~280 files in `/etc/ssl/certs`) when the first client is built. Every AWS endpoint we
//! call (DynamoDB, S3, SQS) presents a chain to Amazon Trust Services, so production trusts
//! exactly those roots, compiled in: five certificates to parse instead of a directory to read,
//! and a narrower trust than the whole system store. A non-AWS endpoint (`AWS_ENDPOINT_URL`,
//! e.g. a local stack over https) or `TLS_NATIVE_ROOTS=true` switches back to the system store.

use std::time::Duration;

pub use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::{rt::sleep::TokioSleep, time::SystemTimeSource};
use aws_smithy_http_client::{
    Builder,
    tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_types::{retry::RetryConfig, timeout::TimeoutConfig};
pub use aws_types::SdkConfig;
use aws_types::region::Region;

/// Amazon Root CA 1-4 and Starfield Services Root G2 (which cross-signs Amazon Root CA 1), as
/// Debian's ca-certificates ships them.
pub const AMAZON_TRUST_SERVICES: &str = include_str!("../amazon-trust-services.pem");

/// How long to wait for a TCP and TLS connection to AWS (what `aws-config` sets by default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// How long one attempt of a call may take, connection included: a stalled attempt is cut and,
/// like any transient failure, retried. DynamoDB, SQS and S3 answer in milliseconds; the largest
/// upload (a provider's original, a few MB) takes well under a second inside the region.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);

/// How long one call may take in all, every attempt and backoff included: under the API
/// functions' 10 s Lambda timeout, so a stalled dependency is an error the function answers
/// (a 503, a retried message) rather than a Lambda timeout that answers nothing.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(9);

/// The time limits of every SDK call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: CONNECT_TIMEOUT,
            attempt: ATTEMPT_TIMEOUT,
            operation: OPERATION_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// The limits for a stand-in named by `AWS_ENDPOINT_URL` (moto on loopback): one Python
    /// process serving a whole local stack, seconds slow when a soak or a build loads the
    /// machine. A stalled stand-in is still cut, at a minute; AWS keeps the tight limits.
    pub const STAND_IN: Self = Self {
        connect: CONNECT_TIMEOUT,
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(60),
    };

    fn config(self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// Which roots TLS to AWS trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// Amazon Trust Services only, compiled in.
    Amazon,
    /// The system store, read when the first client is built.
    System,
}

/// A variable the SDK configuration needs is missing or empty.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0} is not set: the AWS SDK needs it (Lambda sets it; set it to run a function locally)")]
pub struct MissingVariable(pub &'static str);

/// What the SDK needs to know to reach AWS (or a stand-in).
#[derive(Debug, Clone)]
pub struct Environment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (optional).
    pub credentials: Credentials,
    /// `AWS_ENDPOINT_URL`: every service at one address (the local stack).
    pub endpoint_url: Option<String>,
    /// [`Roots::System`] with an endpoint override or `TLS_NATIVE_ROOTS=true`.
    pub roots: Roots,
}

impl Environment {
    /// Reads the environment through `var` (empty values count as unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, MissingVariable> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| var(name).ok_or(MissingVariable(name));
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .ok_or(MissingVariable("AWS_REGION"))?;
        let credentials = Credentials::new(
            required("AWS_ACCESS_KEY_ID")?,
            required("AWS_SECRET_ACCESS_KEY")?,
            var("AWS_SESSION_TOKEN"),
            None,
            "environment",
        );
        let endpoint_url = var("AWS_ENDPOINT_URL");
        let native = var("TLS_NATIVE_ROOTS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let roots = if native || endpoint_url.is_some() {
            Roots::System
        } else {
            Roots::Amazon
        };
        Ok(Self {
            region,
            credentials,
            endpoint_url,
            roots,
        })
    }

    /// The SDK configuration: these credentials (static, as Lambda's are for the life of an
    /// execution environment), the SDK's standard retries (3 attempts with backoff), the
    /// default [`Timeouts`] (3.1 s to connect, 4 s an attempt, 9 s a call), Tokio's timer, and
    /// an HTTPS client trusting [`Environment::roots`].
    /// With `AWS_ENDPOINT_URL` (a local stand-in), [`Timeouts::STAND_IN`] instead.
    pub fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_with(if self.endpoint_url.is_some() {
            Timeouts::STAND_IN
        } else {
            Timeouts::default()
        })
    }

    /// [`Environment::sdk_config`] with other time limits.
    pub fn sdk_config_with(&self, timeouts: Timeouts) -> SdkConfig {
        let mut config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(SharedCredentialsProvider::new(self.credentials.clone()))
            .retry_config(RetryConfig::standard())
            .timeout_config(timeouts.config())
            .sleep_impl(TokioSleep::new())
            .time_source(SystemTimeSource::new())
            .http_client(https_client(self.roots));
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        config.build()
    }
}

/// The SDK's hyper client on rustls with ring, trusting `roots`.
fn https_client(roots: Roots) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let trust = match roots {
        Roots::System => TrustStore::default(),
        Roots::Amazon => TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AMAZON_TRUST_SERVICES.as_bytes()),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        // Only fails for an invalid trust store; the compiled-in one is tested.
        .unwrap_or_default();
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// The SDK configuration from the process environment.
pub fn load_from_env() -> Result<SdkConfig, MissingVariable> {
    Environment::from_vars(|name| std::env::var(name).ok()).map(|env| env.sdk_config())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[test]
    fn the_compiled_in_roots_are_amazons_five_and_parse() {
        assert_eq!(
            AMAZON_TRUST_SERVICES.matches("BEGIN CERTIFICATE").count(),
            5
        );
        let built = TlsContext::builder()
            .with_trust_store(
                TrustStore::empty()
                    .with_native_roots(false)
                    .with_pem_certificate(AMAZON_TRUST_SERVICES.as_bytes()),
            )
            .build();
        assert!(built.is_ok());
    }

    #[test]
    fn lambdas_environment_gives_the_region_and_the_roles_credentials() {
        let env = Environment::from_vars(vars(LAMBDA)).expect("complete");
        assert_eq!(env.region, "eu-west-1", "AWS_REGION wins");
        assert_eq!(env.credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(env.credentials.secret_access_key(), "secret");
        assert_eq!(env.credentials.session_token(), Some("token"));
        assert_eq!((env.endpoint_url, env.roots), (None, Roots::Amazon));
    }

    /// Lambda's variables with `name` unset (`blank`: set to spaces).
    fn lambda_but(name: &'static str, blank: bool) -> impl Fn(&str) -> Option<String> {
        move |n| match n == name {
            true => blank.then(|| " ".into()),
            false => vars(LAMBDA)(n),
        }
    }

    #[test]
    fn a_missing_or_empty_variable_is_named() {
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            for blank in [false, true] {
                let err = Environment::from_vars(lambda_but(name, blank)).expect_err(name);
                assert_eq!(err, MissingVariable(name));
            }
        }
        let fallback = Environment::from_vars(lambda_but("AWS_REGION", false)).expect("region");
        assert_eq!(fallback.region, "us-east-1", "AWS_DEFAULT_REGION");
        let neither = Environment::from_vars(|n: &str| {
            (!n.ends_with("REGION")).then(|| vars(LAMBDA)(n)).flatten()
        });
        assert_eq!(
            neither.map(|e| e.region),
            Err(MissingVariable("AWS_REGION"))
        );
        // A session token is optional (long-term keys, the local stack).
        let local = Environment::from_vars(lambda_but("AWS_SESSION_TOKEN", false)).expect("keys");
        assert_eq!(local.credentials.session_token(), None);
    }

    #[test]
    fn an_endpoint_override_or_the_switch_uses_the_system_store() {
        let roots = |extra: &'static [(&'static str, &'static str)]| {
            Environment::from_vars(move |n| vars(extra)(n).or_else(|| vars(LAMBDA)(n)))
                .expect("complete")
                .roots
        };
        assert_eq!(roots(&[]), Roots::Amazon);
        assert_eq!(
            roots(&[("AWS_ENDPOINT_URL", "https://localhost:4566")]),
            Roots::System
        );
        assert_eq!(roots(&[("TLS_NATIVE_ROOTS", "true")]), Roots::System);
        assert_eq!(roots(&[("TLS_NATIVE_ROOTS", "false")]), Roots::Amazon);
    }

    #[test]
    fn the_sdk_configuration_carries_what_the_clients_need() {
        let config = Environment::from_vars(vars(LAMBDA))
            .expect("complete")
            .sdk_config();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(config.credentials_provider().is_some());
        assert!(config.http_client().is_some());
        assert!(config.sleep_impl().is_some(), "retries need a timer");
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(3));
        let timeouts = config.timeout_config().expect("timeouts");
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(ATTEMPT_TIMEOUT),
            "every attempt has a limit"
        );
        assert_eq!(
            timeouts.operation_timeout(),
            Some(OPERATION_TIMEOUT),
            "every call has a limit"
        );
        assert!(ATTEMPT_TIMEOUT < OPERATION_TIMEOUT);
        assert_eq!(config.endpoint_url(), None);

        let local = Environment::from_vars(|n| {
            (n == "AWS_ENDPOINT_URL")
                .then(|| "http://127.0.0.1:5000".to_owned())
                .or_else(|| vars(LAMBDA)(n))
        })
        .expect("complete")
        .sdk_config();
        let timeouts = local.timeout_config().expect("timeouts");
        assert_eq!(
            timeouts.operation_timeout(),
            Some(Timeouts::STAND_IN.operation),
            "a stand-in is given longer, still limited"
        );
    }

    /// A TCP server that accepts connections and never answers.
    async fn stalled_endpoint() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn a_call_to_an_endpoint_that_never_answers_times_out_instead_of_hanging() {
        let endpoint = stalled_endpoint().await;
        let env = Environment::from_vars(move |n| {
            (n == "AWS_ENDPOINT_URL")
                .then(|| endpoint.clone())
                .or_else(|| vars(LAMBDA)(n))
        })
        .expect("complete");
        let timeouts = Timeouts {
            attempt: Duration::from_millis(200),
            operation: Duration::from_millis(700),
            ..Timeouts::default()
        };
        let client = aws_sdk_dynamodb::Client::new(&env.sdk_config_with(timeouts));
        let started = std::time::Instant::now();
        let call = client.get_item().table_name("t").send();
        // The test's own bound: without the SDK's limits the call would hang until this.
        let answer = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("the SDK gave up by itself");
        let elapsed = started.elapsed();
        let err = answer.expect_err("nothing answers");
        assert!(
            matches!(err, aws_sdk_dynamodb::error::SdkError::TimeoutError(_)),
            "{err:?}"
        );
        assert!(
            elapsed >= timeouts.operation && elapsed < Duration::from_secs(3),
            "cut at the operation timeout: {elapsed:?}"
        );
    }
}
