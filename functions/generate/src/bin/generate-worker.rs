//! The generation worker Lambda: wiring only. Tracing, config, the AWS clients, the provider
//! client and the image pipeline are built once at init; each SQS batch (of one) is handled by
//! [`generate::worker::Worker::handle`], which reports the messages to deliver again.

use std::sync::Arc;

use artforge_dynamo::DynamoStore;
use artforge_http::config::Env;
use artforge_imaging::Pipeline;
use artforge_openai::OpenAiProvider;
use artforge_s3::S3Files;
use aws_lambda_events::event::sqs::SqsEvent;
use generate::{WorkerConfig, worker::Worker};
use lambda_http::{BoxFuture, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_http::logging::init();
    let config = WorkerConfig::from_env(&Env::process())?;
    let aws = artforge_aws::load_from_env()?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    let s3 = artforge_s3::client(&aws, config.s3_force_path_style);
    let worker = Arc::new(Worker {
        store,
        provider: OpenAiProvider::new(config.provider),
        files: S3Files::new(s3, config.bucket_name, std::time::Duration::from_secs(60)),
        catalog: config.catalog,
        pipeline: Arc::new(Pipeline::new(config.pipeline)),
        lease: config.lease,
        dead_letter_queue_arn: config.dead_letter_queue_arn,
    });
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = worker.clone();
        // Boxed: the handler's future is deep, and its type need not be part of the runtime's.
        let handled: BoxFuture<'static, _> =
            Box::pin(async move { worker.handle(event.payload).await });
        async move { Ok::<_, lambda_http::Error>(handled.await) }
    }))
    .await
}
