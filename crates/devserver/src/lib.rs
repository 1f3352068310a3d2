//! The local server's application: every function's routes, finished once, over the local
//! resources, at their API Gateway paths and again under `/api` (the web client's prefix, as
//! CloudFront serves it in AWS). `main.rs` starts moto and serves it, with the built web client
//! ([`web`]) at `/`; a test builds it the same way. The API's OpenAPI document ([`openapi`])
//! is at `/openapi.json`.

use std::{collections::BTreeMap, path::Path, sync::Arc};

pub mod openapi;
pub mod web;

use artforge_aws::SdkConfig;
use artforge_devstack::{event_source::EventSource, resources::Provisioned};
use artforge_runtime::Env;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The webhook secret of the local stack: fixed, so `scripts/stripe-trigger` and the local
/// checkout page sign with it without configuration. Printed at start.
pub const LOCAL_WEBHOOK_SECRET: &str = "whsec_artforge_local_development_only";

/// The local product: the whole API, the worker its queues feed, and the stuck-job sweeper.
pub struct App {
    pub router: axum::Router,
    pub worker: Arc<generate::Worker>,
    pub sweeper: Arc<generate::JobSweeper>,
    /// The account worker: ZIP archives and the back-up erasure of closed accounts.
    pub account_worker: Arc<gallery::AccountWorker>,
}

/// The settings every function reads locally (DESIGN §9), for `provisioned` resources and the
/// stand-ins served on `port`: the stack's names, the stand-ins' URLs, the local session key.
/// Anything set in the process environment wins over these (see [`settings`]). Unless
/// `OPENAI_API_KEY` is set, the image provider is the stand-in on this port.
pub fn local_defaults(
    provisioned: &Provisioned,
    port: u16,
    jwt_keys: &str,
) -> BTreeMap<&'static str, String> {
    let local = format!("http://127.0.0.1:{port}");
    let mut defaults = BTreeMap::from([
        ("TABLE_NAME", provisioned.names.table.clone()),
        ("BUCKET_NAME", provisioned.names.bucket.clone()),
        ("QUEUE_URL", provisioned.queue_url.clone()),
        ("ACCOUNT_QUEUE_URL", provisioned.account_queue_url.clone()),
        (
            "DEAD_LETTER_QUEUE_ARN",
            provisioned.dead_letter_queue_arn.clone(),
        ),
        ("JWT_KEYS", jwt_keys.to_owned()),
        ("SESSION_COOKIE_SECURE", "false".to_owned()),
        ("S3_FORCE_PATH_STYLE", "true".to_owned()),
        ("STRIPE_WEBHOOK_SECRET", LOCAL_WEBHOOK_SECRET.to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_local_stand_in".to_owned()),
        ("STRIPE_API_BASE", format!("{local}/")),
        (
            "CHECKOUT_SUCCESS_URL",
            format!("{local}/credits/return?session_id={{CHECKOUT_SESSION_ID}}"),
        ),
        (
            "CHECKOUT_CANCEL_URL",
            format!("{local}/credits?checkout=cancelled"),
        ),
        ("PUBLIC_BASE_URL", local.clone()),
        (
            "CORS_ALLOWED_ORIGINS",
            format!("http://localhost:{port},{local}"),
        ),
        // The deployed defaults (DESIGN §9): counted per TCP peer, see [`peer_address`].
        ("SIGNUPS_PER_ADDRESS_PER_HOUR", "10".to_owned()),
        ("LOGINS_PER_ADDRESS_PER_MINUTE", "30".to_owned()),
        ("PASSWORD_CHECKS_PER_USER_PER_HOUR", "10".to_owned()),
        ("PAID_REQUESTS_PER_ADDRESS_PER_MINUTE", "60".to_owned()),
        ("PAID_REQUESTS_PER_USER_PER_MINUTE", "30".to_owned()),
    ]);
    if std::env::var_os("OPENAI_API_KEY").is_none() {
        defaults.insert("OPENAI_API_KEY", "sk-local-stand-in".to_owned());
        defaults.insert("OPENAI_BASE_URL", format!("{local}/v1"));
    }
    defaults
}

/// `defaults` with every variable the process environment sets in their place: what the
/// functions read, in process and under `cargo lambda watch` alike.
pub fn settings(defaults: &BTreeMap<&'static str, String>) -> BTreeMap<&'static str, String> {
    defaults
        .iter()
        .map(|(name, default)| {
            let value = std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.clone());
            (*name, value)
        })
        .collect()
}

/// Writes `settings` as the env file `cargo lambda watch --env-file` reads, with what Lambda
/// itself gives a function (region and credentials) and the AWS stand-in's endpoint, so a
/// function invoked with a sample event runs against the same stack as the local server.
pub fn write_lambda_env(
    path: &Path,
    settings: &BTreeMap<&'static str, String>,
    aws_endpoint: &str,
) -> std::io::Result<()> {
    let mut lines = vec![
        "# Written by `make dev` for `cargo lambda watch --env-file .local/lambda.env`: every"
            .to_owned(),
        "# function's settings against the running local stack. Regenerated at each start."
            .to_owned(),
        format!("AWS_ENDPOINT_URL={aws_endpoint}"),
        format!("AWS_REGION={}", artforge_devstack::LOCAL_REGION),
        "AWS_ACCESS_KEY_ID=testing".to_owned(),
        "AWS_SECRET_ACCESS_KEY=testing".to_owned(),
    ];
    lines.extend(
        settings
            .iter()
            .map(|(name, value)| format!("{name}={value}")),
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, lines.join("\n") + "\n")
}

/// The whole API on `port`, over `provisioned` resources reached with `aws`, and the worker,
/// each function built by its own `build` from `defaults` under the process environment.
pub fn app(
    aws: &SdkConfig,
    defaults: &BTreeMap<&'static str, String>,
    port: u16,
) -> Result<App, Error> {
    let env = Env::with_defaults(defaults.clone().into_iter().collect());

    let auth = auth::Auth::build(auth::Config::from_env(&env)?, aws).routes();
    let gallery_app = gallery::App::build(gallery::Config::from_env(&env)?, aws);
    // Share pages under `/api` only: the web client has its own page at `/i/{id}`.
    let share = gallery_app.clone().share_routes();
    let gallery = gallery_app.routes();
    let billing_config = stripe_webhook::Config::from_env(&env)?;
    // Unless STRIPE_API_BASE points at Stripe, the stand-in answers on this server.
    let stand_in = artforge_devstack::stripe::StandIn::new(
        billing_config
            .packs
            .iter()
            .map(|p| {
                (
                    p.price_id.clone(),
                    artforge_devstack::stripe::Price {
                        amount: p.amount,
                        currency: p.currency.clone(),
                    },
                )
            })
            .collect(),
        &format!("http://127.0.0.1:{port}"),
        &format!("http://127.0.0.1:{port}/billing/webhook"),
        LOCAL_WEBHOOK_SECRET,
    );
    let billing = stripe_webhook::App::build(billing_config, aws)?.routes();
    let generate = generate::Api::build(generate::Config::from_env(&env)?, aws).routes();
    let worker = Arc::new(generate::Worker::build(
        generate::WorkerConfig::from_env(&env)?,
        aws,
    ));
    let sweeper = Arc::new(generate::JobSweeper::build(
        generate::SweeperConfig::from_env(&env)?,
        aws,
    ));
    let account_worker = Arc::new(gallery::AccountWorker::build(
        gallery::WorkerConfig::from_env(&env)?,
        aws,
    ));
    // Unless OPENAI_BASE_URL points elsewhere, the stand-in answers on this server.
    let openai = artforge_devstack::openai::OpenAiStandIn::new();

    let origins = artforge_http::cors::origins_from(
        &env.optional("CORS_ALLOWED_ORIGINS").unwrap_or_default(),
    );
    let document = openapi::json()?;
    let api = axum::Router::new()
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                ([(http::header::CONTENT_TYPE, "application/json")], document)
            }),
        )
        .merge(auth)
        .merge(gallery)
        .merge(billing)
        .merge(generate);
    // The API at its API Gateway paths (tests, curl, sample events) and under `/api`, where the
    // web client calls it (in AWS, CloudFront's `/api/*` behaviour). The stand-ins stay at root.
    let app = artforge_http::finish(
        axum::Router::new()
            .nest(web::API_PREFIX, api.clone().merge(share))
            .merge(api)
            .merge(stand_in.routes())
            .merge(openai.router()),
    )
    .layer(artforge_http::cors::layer(&origins))
    .layer(axum::middleware::from_fn(peer_address));

    Ok(App {
        router: app,
        worker,
        sweeper,
        account_worker,
    })
}

/// How often the local server sweeps stuck jobs, unless `SWEEP_INTERVAL_SECONDS` says
/// otherwise (in AWS, an EventBridge schedule every 5 minutes).
pub const LOCAL_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs the sweeper and the model-lifecycle check every `every`, as the EventBridge schedule
/// does in AWS, until the process ends (or the handle is aborted). A failed sweep is logged and
/// the next one tries again. The two run side by side, as two invocations would: a check
/// waiting on a slow or absent provider never holds a sweep back.
pub fn run_sweeper(
    sweeper: Arc<generate::JobSweeper>,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let checker = sweeper.clone();
    let sweeps = async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = sweeper.sweep().await {
                tracing::error!(error = %e, "the sweep failed; the next one tries again");
            }
        }
    };
    let checks = async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // Logged by the check itself when it fails (the stand-in answers /v1/models).
            let _report = checker.check_models().await;
        }
    };
    tokio::spawn(async move {
        tokio::join!(sweeps, checks);
    })
}

/// Middleware: gives a request served over TCP its peer's address as API Gateway's
/// `requestContext.http.sourceIp`, where the functions read the client address, so limits per
/// client address work locally as deployed. The context is always replaced: nothing a client
/// sends (`X-Forwarded-For` or any other header) is ever taken for its address. Requests
/// handed to the router in process (tests) have no peer and keep their own context.
pub async fn peer_address(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use lambda_http::{
        aws_lambda_events::apigw::ApiGatewayV2httpRequestContext, request::RequestContext,
    };
    if let Some(axum::extract::ConnectInfo(peer)) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .copied()
    {
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.method = request.method().clone();
        context.http.path = Some(request.uri().path().to_owned());
        context.http.source_ip = Some(peer.ip().to_string());
        request
            .extensions_mut()
            .insert(RequestContext::ApiGatewayV2(context));
    }
    next.run(request).await
}

/// Feeds the generation queue and its dead-letter queue to the worker, as Lambda's event
/// source mappings do, until the process ends.
pub async fn run_worker(
    aws: &SdkConfig,
    provisioned: &Provisioned,
    worker: Arc<generate::Worker>,
) -> Result<(), Error> {
    let sqs = aws_sdk_sqs::Client::new(aws);
    for url in [&provisioned.queue_url, &provisioned.dead_letter_queue_url] {
        let source = EventSource::new(sqs.clone(), url).await?;
        let worker = worker.clone();
        tokio::spawn(source.run(move |event| {
            let worker = worker.clone();
            async move { worker.handle(event).await }
        }));
    }
    Ok(())
}

/// Feeds the account queue to the account worker (ZIP archives, erasures), as Lambda's event
/// source mapping does, until the process ends.
pub async fn run_account_worker(
    aws: &SdkConfig,
    provisioned: &Provisioned,
    worker: Arc<gallery::AccountWorker>,
) -> Result<(), Error> {
    let sqs = aws_sdk_sqs::Client::new(aws);
    let source = EventSource::new(sqs, &provisioned.account_queue_url).await?;
    tokio::spawn(source.run(move |event| {
        let worker = worker.clone();
        async move { worker.handle(event).await }
    }));
    Ok(())
}
