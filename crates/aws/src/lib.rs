//! The AWS SDK configuration of every function, loaded once at init.
//!
//! The SDK's default HTTPS client reads the whole system certificate store (on Debian a bundle
//! plus ~280 files in `/etc/ssl/certs`) when the first client is built, which was most of our
//! functions' init time (`scripts/bench-coldstart`). Every AWS endpoint we call (DynamoDB, S3,
//! SQS) presents a chain to Amazon Trust Services, so production trusts exactly those roots,
//! compiled in: five certificates to parse instead of a directory to read, and a narrower trust
//! than the whole system store. A non-AWS endpoint (`AWS_ENDPOINT_URL`, e.g. a local stack over
//! https) or `TLS_NATIVE_ROOTS=true` switches back to the system store.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode},
};

/// Amazon Root CA 1-4 and Starfield Services Root G2 (which cross-signs Amazon Root CA 1), as
/// Debian's ca-certificates ships them.
pub const AMAZON_TRUST_SERVICES: &str = include_str!("../amazon-trust-services.pem");

/// Which roots TLS to AWS trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// Amazon Trust Services only, compiled in.
    Amazon,
    /// The system store, read when the first client is built.
    System,
}

impl Roots {
    /// `System` when an endpoint override or `TLS_NATIVE_ROOTS=true` asks for it.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let native = var("TLS_NATIVE_ROOTS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if native || var("AWS_ENDPOINT_URL").is_some_and(|v| !v.trim().is_empty()) {
            Roots::System
        } else {
            Roots::Amazon
        }
    }
}

/// The SDK configuration from Lambda's environment (region, credentials), with the HTTPS
/// client `roots` asks for.
pub async fn load(roots: Roots) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    match roots {
        Roots::System => loader.load().await,
        Roots::Amazon => {
            let trust = TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(AMAZON_TRUST_SERVICES.as_bytes());
            let context = TlsContext::builder()
                .with_trust_store(trust)
                .build()
                // Only fails for an invalid trust store; the compiled-in one is tested.
                .unwrap_or_default();
            let client = Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context)
                .build_https();
            loader.http_client(client).load().await
        }
    }
}

/// [`load`] with the roots the process environment asks for.
pub async fn load_from_env() -> SdkConfig {
    load(Roots::from_env(|name| std::env::var(name).ok())).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_endpoint_override_or_the_switch_uses_the_system_store() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(Roots::from_env(env(&[])), Roots::Amazon);
        assert_eq!(
            Roots::from_env(env(&[("AWS_ENDPOINT_URL", "https://localhost:4566")])),
            Roots::System
        );
        assert_eq!(
            Roots::from_env(env(&[("TLS_NATIVE_ROOTS", "true")])),
            Roots::System
        );
        assert_eq!(
            Roots::from_env(env(&[("TLS_NATIVE_ROOTS", "false")])),
            Roots::Amazon
        );
    }

    #[tokio::test]
    async fn the_sdk_configuration_loads_with_amazons_roots() {
        let config = load(Roots::Amazon).await;
        assert!(config.http_client().is_some());
    }
}
