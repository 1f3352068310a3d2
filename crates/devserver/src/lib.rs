//! The local server's application: every function's routes, finished once, over the local
//! resources, at their API Gateway paths and again under `/api` (the web client's prefix, as
//! CloudFront serves it in AWS). `main.rs` starts moto and serves it, with the built web client
//! ([`web`]) at `/`; a test builds it the same way. The API's OpenAPI document ([`openapi`])
//! is at `/openapi.json`.

use std::{collections::HashMap, sync::Arc};

pub mod openapi;
pub mod web;

use artforge_aws::SdkConfig;
use artforge_devstack::{event_source::EventSource, resources::Provisioned};
use artforge_dynamo::DynamoStore;
use artforge_http::config::Env;
use artforge_imaging::Pipeline;
use artforge_openai::OpenAiProvider;
use artforge_sqs::SqsQueue;
use generate::worker::Worker;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The webhook secret of the local stack: fixed, so `scripts/stripe-trigger` and the local
/// checkout page sign with it without configuration. Printed at start.
pub const LOCAL_WEBHOOK_SECRET: &str = "whsec_artforge_local_development_only";

/// The generation worker as the local server runs it.
pub type LocalWorker = Worker<DynamoStore, OpenAiProvider, artforge_s3::S3Files>;

/// The local product: the whole API, and the worker its queues feed.
pub struct App {
    pub router: axum::Router,
    pub worker: Arc<LocalWorker>,
}

/// The whole API on `port`, over `provisioned` resources reached with `aws`, and the worker.
/// Configuration comes from the environment over local defaults (DESIGN §9); unless
/// `OPENAI_API_KEY` is set, the image provider is the stand-in served on this port.
pub fn app(
    aws: &SdkConfig,
    provisioned: &Provisioned,
    port: u16,
    jwt_keys: &str,
) -> Result<App, Error> {
    let mut defaults = HashMap::from([
        ("TABLE_NAME", provisioned.names.table.clone()),
        ("BUCKET_NAME", provisioned.names.bucket.clone()),
        ("QUEUE_URL", provisioned.queue_url.clone()),
        ("JWT_KEYS", jwt_keys.to_owned()),
        ("SESSION_COOKIE_SECURE", "false".to_owned()),
        ("S3_FORCE_PATH_STYLE", "true".to_owned()),
        ("STRIPE_WEBHOOK_SECRET", LOCAL_WEBHOOK_SECRET.to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_local_stand_in".to_owned()),
        ("STRIPE_API_BASE", format!("http://127.0.0.1:{port}/")),
        (
            "CHECKOUT_SUCCESS_URL",
            format!("http://127.0.0.1:{port}/credits/return?session_id={{CHECKOUT_SESSION_ID}}"),
        ),
        (
            "CHECKOUT_CANCEL_URL",
            format!("http://127.0.0.1:{port}/credits?checkout=cancelled"),
        ),
        ("PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}")),
        (
            "CORS_ALLOWED_ORIGINS",
            format!("http://localhost:{port},http://127.0.0.1:{port}"),
        ),
        (
            "DEAD_LETTER_QUEUE_ARN",
            provisioned.dead_letter_queue_arn.clone(),
        ),
    ]);
    if std::env::var_os("OPENAI_API_KEY").is_none() {
        defaults.insert("OPENAI_API_KEY", "sk-local-stand-in".to_owned());
        defaults.insert("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"));
    }
    let env = Env::with_defaults(defaults);

    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    let auth_config = auth::Config::from_env(&env)?;
    let auth = auth::routes(auth::AuthState::new(
        &auth_config,
        DynamoStore::new(dynamo.clone(), auth_config.table_name.clone()),
    ));

    let gallery_config = gallery::Config::from_env(&env)?;
    // One S3 client for every function's files (the same S3_FORCE_PATH_STYLE everywhere).
    let s3 = artforge_s3::client(aws, gallery_config.s3_force_path_style);
    let gallery = gallery::routes(gallery::GalleryState::new(
        &gallery_config,
        DynamoStore::new(dynamo.clone(), gallery_config.table_name.clone()),
        artforge_s3::S3Files::new(
            s3.clone(),
            gallery_config.bucket_name.clone(),
            gallery_config.presign_ttl,
        ),
    ));

    let billing_config = billing::Config::from_env(&env)?;
    let billing_store = DynamoStore::new(dynamo.clone(), billing_config.table_name.clone());
    let payments = billing_config.stripe.checkout()?;
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
    let billing = billing::routes(billing::BillingState::new(
        billing_config,
        billing_store,
        payments,
    ));

    let generate_config = generate::Config::from_env(&env)?;
    let files = |bucket: &str, ttl| artforge_s3::S3Files::new(s3.clone(), bucket.to_owned(), ttl);
    let generate = generate::routes(generate::GenerateState::new(
        &generate_config,
        DynamoStore::new(dynamo.clone(), generate_config.table_name.clone()),
        SqsQueue::new(
            aws_sdk_sqs::Client::new(aws),
            generate_config.queue_url.clone(),
        ),
        files(&generate_config.bucket_name, generate_config.presign_ttl),
    ));
    let worker_config = generate::WorkerConfig::from_env(&env)?;
    let worker = Arc::new(Worker {
        store: DynamoStore::new(dynamo.clone(), worker_config.table_name.clone()),
        provider: OpenAiProvider::new(worker_config.provider),
        files: files(&worker_config.bucket_name, generate_config.presign_ttl),
        catalog: worker_config.catalog,
        pipeline: Arc::new(Pipeline::new(worker_config.pipeline)),
        lease: worker_config.lease,
        dead_letter_queue_arn: worker_config.dead_letter_queue_arn,
    });
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
            .nest(web::API_PREFIX, api.clone())
            .merge(api)
            .merge(stand_in.routes())
            .merge(openai.router()),
    )
    .layer(artforge_http::cors::layer(&origins));

    Ok(App {
        router: app,
        worker,
    })
}

/// Feeds the generation queue and its dead-letter queue to the worker, as Lambda's event
/// source mappings do, until the process ends.
pub async fn run_worker(
    aws: &SdkConfig,
    provisioned: &Provisioned,
    worker: Arc<LocalWorker>,
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
