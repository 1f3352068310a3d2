//! The auth Lambda: wiring only. Tracing, config and the DynamoDB client are built once at
//! init; the router serves every invocation.

use artforge_dynamo::DynamoStore;
use auth::{AuthState, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_http::logging::init();
    let config = Config::from_env(&artforge_http::config::Env::process())?;
    let aws = artforge_aws::load_from_env()?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    lambda_http::run(auth::router(AuthState::new(&config, store))).await
}
