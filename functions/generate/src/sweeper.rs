//! The sweeper's wiring: the sweep use case over DynamoDB, SQS and S3, built once. The Lambda
//! (`bin/generate-sweeper.rs`, on an EventBridge schedule), the local server (on an interval)
//! and the tests all build it here. What a sweep does is [`crate::usecases::sweep`]'s.

use artforge_aws::SdkConfig;
use artforge_domain::StoreError;
use artforge_dynamo::DynamoStore;
use artforge_runtime::Env;
use artforge_s3::S3Files;
use artforge_sqs::SqsQueue;
use time::OffsetDateTime;

use crate::{
    SweeperConfig,
    usecases::sweep::{Report, Sweeper},
};

/// The sweeper as deployed.
pub struct JobSweeper {
    pub sweeper: Sweeper<DynamoStore, SqsQueue, S3Files>,
}

impl JobSweeper {
    /// The sweeper over `aws`, as `config` says.
    pub fn build(config: SweeperConfig, aws: &SdkConfig) -> Self {
        Self {
            sweeper: Sweeper {
                jobs: DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name),
                queue: SqsQueue::new(aws_sdk_sqs::Client::new(aws), config.queue_url),
                files: config.bucket.files(aws),
                format: config.format,
                policy: config.policy,
            },
        }
    }

    /// The sweeper as Lambda runs it: configuration and AWS from the process environment.
    pub fn from_env() -> Result<Self, crate::Error> {
        let config = SweeperConfig::from_env(&Env::process())?;
        Ok(Self::build(config, &artforge_aws::load_from_env()?))
    }

    /// One sweep, now.
    pub async fn sweep(&self) -> Result<Report, StoreError> {
        self.sweeper.sweep(OffsetDateTime::now_utc()).await
    }
}
