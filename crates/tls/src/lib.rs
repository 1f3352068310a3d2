//! The TLS configuration of the reqwest clients that call a public API (OpenAI's) and of the
//! local stand-ins' clients: rustls on ring (the workspace's one crypto library) trusting
//! Mozilla's roots as compiled into `webpki-roots`. reqwest's default would read the system
//! certificate store once per client at init (~290 files on Debian); this reads none. The AWS
//! SDK has its own (`artforge-aws`: Amazon's roots only). Stripe's client (`async-stripe`)
//! builds its own connector and takes no configuration; its features give it the same trust
//! and provider: `webpki-roots` and ring (docs/decisions/0080).

use std::sync::Arc;

/// A client configuration trusting the compiled-in roots. Build it once per process and share
/// it between clients (`reqwest::ClientBuilder::use_preconfigured_tls`).
pub fn client_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("the TLS configuration cannot be built: {e}"))
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    #[test]
    fn trusts_the_compiled_in_roots_on_ring() {
        let config = super::client_config();
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        assert!(!config.crypto_provider().cipher_suites.is_empty());
    }
}
