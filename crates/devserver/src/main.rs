//! `make dev`: the whole product on one machine. Starts moto (unless `AWS_ENDPOINT_URL` names a
//! running one), creates the deployed resources in it, and serves every function's router at
//! its API Gateway paths on 127.0.0.1:$PORT. Ctrl-C stops everything it started.

use std::{net::SocketAddr, path::Path};

use artforge_devstack::{moto::MotoServer, resources};
use artforge_runtime::Env;
use base64::Engine;

use artforge_dev::{Error, web::Web};

/// A per-checkout random session key, kept in the git-ignored `.local/` so sessions survive a
/// restart of the dev server.
fn local_jwt_keys(root: &Path) -> Result<String, Error> {
    let path = root.join(".local/jwt-keys");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    let mut secret = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| "no randomness for the local JWT key")?;
    let keys = format!(
        "local:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    std::fs::create_dir_all(root.join(".local"))?;
    std::fs::write(&path, &keys)?;
    Ok(keys)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber_init();
    let root = artforge_devstack::workspace_root();
    let port: u16 = Env::process().parsed_or("PORT", 3000)?;

    let (moto, endpoint) = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(endpoint) => (None, endpoint),
        Err(_) => {
            let server = MotoServer::start(0)?;
            let endpoint = server.endpoint();
            (Some(server), endpoint)
        }
    };
    let aws = artforge_devstack::sdk_config(&endpoint);
    let provisioned =
        resources::provision(&aws, resources::Names::prefixed("artforge-local")).await?;

    let defaults = artforge_dev::local_defaults(&provisioned, port, &local_jwt_keys(&root)?);
    let lambda_env = root.join(".local/lambda.env");
    artforge_dev::write_lambda_env(&lambda_env, &artforge_dev::settings(&defaults), &endpoint)?;
    let app = artforge_dev::app(&aws, &defaults, port)?;
    artforge_dev::run_worker(&aws, &provisioned, app.worker.clone()).await?;
    artforge_dev::run_account_worker(&aws, &provisioned, app.account_worker.clone()).await?;
    let sweep_every = Env::process().parsed_or(
        "SWEEP_INTERVAL_SECONDS",
        artforge_dev::LOCAL_SWEEP_INTERVAL.as_secs(),
    )?;
    artforge_dev::run_sweeper(
        app.sweeper.clone(),
        std::time::Duration::from_secs(sweep_every.max(1)),
    );

    // The web client, when it is built (`make web`); the API alone otherwise.
    let web_dir = std::env::var_os("WEB_DIST").map_or_else(|| root.join("web/dist"), Into::into);
    let web = Web::open(&web_dir);
    let router = match web.clone() {
        Some(web) => web.serve(app.router),
        None => app.router,
    };

    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("Artforge is running at http://{address}");
    match &web {
        Some(web) => println!(
            "  web client: {} at /, the API at / and /api",
            web.dir().display()
        ),
        None => println!(
            "  web client: not built ({} has no index.html; `make web` builds it): serving the API only",
            web_dir.display()
        ),
    }
    println!("  AWS stand-in (moto): {endpoint}");
    println!(
        "  table {}, bucket {}",
        provisioned.names.table, provisioned.names.bucket
    );
    println!(
        "  Stripe webhook secret: {}",
        artforge_dev::LOCAL_WEBHOOK_SECRET
    );
    println!(
        "  functions' settings for `cargo lambda watch --env-file`: {}",
        lambda_env.display()
    );
    match std::env::var_os("OPENAI_API_KEY") {
        None => println!("  image provider: the local stand-in at http://{address}/v1"),
        Some(_) => println!("  image provider: OPENAI_BASE_URL (or OpenAI) with OPENAI_API_KEY"),
    }
    println!("  stuck-job sweeper: every {sweep_every} s");
    println!("Ctrl-C stops it.");
    // Each connection's peer address, for `peer_address` (the client address, as API Gateway's).
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        tokio::signal::ctrl_c().await.ok();
    })
    .await?;
    drop(moto);
    println!("stopped");
    Ok(())
}

fn tracing_subscriber_init() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_smithy_runtime=warn"));
    fmt()
        .with_env_filter(filter)
        .with_target(false)
        .compact()
        .init();
}
