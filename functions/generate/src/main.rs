//! The generation API Lambda: wiring only. Tracing, config and the AWS clients are built once
//! at init; the router serves every invocation.

use artforge_dynamo::DynamoStore;
use artforge_http::config::Env;
use artforge_s3::S3Files;
use artforge_sqs::SqsQueue;
use generate::{Config, GenerateState};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_http::logging::init();
    let config = Config::from_env(&Env::process())?;
    let aws = artforge_aws::load_from_env()?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws), config.queue_url.clone());
    let s3 = artforge_s3::client(&aws, config.s3_force_path_style);
    let files = S3Files::new(s3, config.bucket_name.clone(), config.presign_ttl);
    let state = GenerateState::new(&config, store, queue, files);
    lambda_http::run(generate::router(state)).await
}
