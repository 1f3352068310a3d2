//! The local AWS stand-in: [`moto`] starts moto's server on loopback, [`resources`] creates in
//! it the table, bucket and queues that `template.yaml` deploys (a test holds the two equal),
//! and [`sdk_config`] points the AWS SDK at it. [`event_source`] feeds a queue to a handler as
//! Lambda's SQS event source mapping does; [`stripe`] and [`openai`] stand in for those APIs.

// The stand-in's Stripe-shaped JSON literals nest deeply.
#![recursion_limit = "256"]

pub mod event_source;
pub mod moto;
pub mod openai;
pub mod resources;
pub mod stripe;

use artforge_aws::{Credentials, Environment, Roots, SdkConfig};

/// The region every local resource lives in.
pub const LOCAL_REGION: &str = "us-east-1";

/// SDK configuration for the stand-in at `endpoint`, with moto's dummy credentials: built by
/// `artforge_aws`, as every function builds its own from Lambda's environment.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    Environment {
        region: LOCAL_REGION.to_owned(),
        credentials: Credentials::new("testing", "testing", None, None, "artforge-local"),
        endpoint_url: Some(endpoint.to_owned()),
        roots: Roots::System,
    }
    .sdk_config()
}

/// A reqwest client builder for the local stand-ins and the tests that call them. It carries
/// the workspace's TLS configuration (`artforge_tls`): reqwest is built without a crypto library
/// of its own, so a client without a configuration fails to build, plain HTTP or not.
pub fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().use_preconfigured_tls(artforge_tls::client_config())
}

/// The workspace's root, where `scripts/`, `.venv/` and `.local/` are: the current directory
/// when it is one (so a binary built from another checkout still uses this one), else the
/// checkout this crate was compiled from.
pub fn workspace_root() -> std::path::PathBuf {
    let marker = |dir: &std::path::Path| dir.join("scripts/moto_server.py").is_file();
    if let Ok(current) = std::env::current_dir()
        && marker(&current)
    {
        return current;
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        )
}
