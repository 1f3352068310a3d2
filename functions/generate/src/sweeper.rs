//! The sweeper's wiring: the sweep use case over DynamoDB, SQS and S3, and the model-lifecycle
//! check over the provider's model list and DynamoDB, built once. The Lambda
//! (`bin/generate-sweeper.rs`, on an EventBridge schedule), the local server (on an interval)
//! and the tests all build it here. What a sweep does is [`crate::usecases::sweep`]'s.

use artforge_aws::SdkConfig;
use artforge_domain::StoreError;
use artforge_dynamo::DynamoStore;
use artforge_openai::OpenAiProvider;
use artforge_s3::S3Files;
use artforge_sqs::SqsQueue;
use time::OffsetDateTime;

use crate::{
    SweeperConfig,
    usecases::{
        models::{ModelCheck, ModelReport},
        sweep::{Report, Sweeper},
    },
};

/// The sweeper as deployed, with the model-lifecycle check it runs each time.
pub struct JobSweeper {
    pub sweeper: Sweeper<DynamoStore, SqsQueue, S3Files>,
    pub models: ModelCheck<OpenAiProvider, DynamoStore>,
}

impl JobSweeper {
    /// The sweeper over `aws`, as `config` says.
    pub fn build(config: SweeperConfig, aws: &SdkConfig) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name);
        Self {
            models: ModelCheck {
                provider: OpenAiProvider::new(config.provider),
                notices: store.clone(),
                catalog: config.catalog,
            },
            sweeper: Sweeper {
                jobs: store,
                queue: SqsQueue::new(aws_sdk_sqs::Client::new(aws), config.queue_url),
                files: config.bucket.files(aws),
                format: config.format,
                policy: config.policy,
            },
        }
    }

    /// The sweeper as Lambda runs it: configuration and AWS from the process environment,
    /// secrets (the provider's key) read from Secrets Manager where it names them.
    pub async fn from_env() -> Result<Self, crate::Error> {
        let (env, aws) = artforge_secrets::process_env().await?;
        let config = SweeperConfig::from_env(&env)?;
        Ok(Self::build(config, &aws))
    }

    /// One sweep, now.
    pub async fn sweep(&self) -> Result<Report, StoreError> {
        self.sweeper.sweep(OffsetDateTime::now_utc()).await
    }

    /// One model-lifecycle check, now. A failed check is logged and counted by its absence
    /// (`ModelChecksSucceeded`); it never stops the sweep.
    pub async fn check_models(&self) -> Option<ModelReport> {
        match self.models.check(OffsetDateTime::now_utc()).await {
            Ok(report) => Some(report),
            Err(e) => {
                tracing::error!(error = %artforge_http::problem::chain(&e), "the model-lifecycle check failed");
                None
            }
        }
    }
}
