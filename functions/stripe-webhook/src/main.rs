//! The billing Lambda: wiring only. Tracing, config and the DynamoDB client are built once at
//! init; the router serves every invocation.

use artforge_dynamo::DynamoStore;
use artforge_http::config::Env;
use billing::{BillingState, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_http::logging::init();
    let config = Config::from_env(&Env::process())?;
    let aws = artforge_aws::load_from_env()?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    let payments = config.stripe.checkout()?;
    lambda_http::run(billing::router(BillingState::new(config, store, payments))).await
}
