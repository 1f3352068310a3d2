//! What the local server's tests share.

use artforge_devstack::resources::{self, Names};

/// The local server's router over fresh resources provisioned as `make dev` does (its OpenAI
/// stand-in announced on port 3000; no worker running).
pub async fn local_app(prefix: &str) -> axum::Router {
    let aws = artforge_testkit::sdk_config();
    let provisioned =
        resources::provision(&aws, Names::prefixed(&artforge_testkit::unique(prefix)))
            .await
            .expect("provisioned");
    let defaults = artforge_dev::local_defaults(&provisioned, 3000, artforge_testkit::JWT_KEYS);
    artforge_dev::app(&aws, &defaults, 3000)
        .expect("app")
        .router
}
