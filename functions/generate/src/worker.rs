//! The worker's face to SQS: each message of a batch (of one) names a job, from the generation
//! queue (run it) or from its dead-letter queue (fail and refund it); the messages to deliver
//! again are reported as batch-item failures. What happens to the job is
//! [`crate::usecases::run`]'s.

use std::sync::Arc;

use artforge_aws::SdkConfig;
use artforge_dynamo::DynamoStore;
use artforge_imaging::Pipeline;
use artforge_openai::OpenAiProvider;
use artforge_s3::S3Files;
use artforge_sqs::JobMessage;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::{Instrument, error, info, info_span, warn};

use crate::{
    WorkerConfig,
    usecases::run::{JobRunner, Outcome},
};

/// The runner as deployed: DynamoDB, the OpenAI-compatible provider, S3.
pub type Runner = JobRunner<DynamoStore, OpenAiProvider, S3Files>;

/// What one delivery came to.
#[derive(Debug)]
pub enum Delivery {
    /// The message is not a job message; it is dropped.
    Malformed,
    Job(Outcome),
}

impl Delivery {
    /// Whether the message should be delivered again.
    pub fn retry(&self) -> bool {
        matches!(self, Self::Job(outcome) if outcome.retry())
    }
}

/// The generation worker, built once per process.
pub struct Worker {
    pub runner: Runner,
    /// Messages from this queue are dead letters: their jobs are failed and refunded.
    pub dead_letter_queue_arn: Option<String>,
}

impl Worker {
    /// The worker over `aws`, as `config` says: the one wiring of the Lambda, the local server
    /// and the tests.
    pub fn build(config: WorkerConfig, aws: &SdkConfig) -> Self {
        Self {
            runner: JobRunner {
                jobs: DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name),
                provider: OpenAiProvider::new(config.provider),
                files: config.bucket.files(aws),
                catalog: config.catalog,
                pipeline: Arc::new(Pipeline::new(config.pipeline)),
                lease: config.lease,
                previews: config.previews,
            },
            dead_letter_queue_arn: config.dead_letter_queue_arn,
        }
    }

    /// The worker as Lambda runs it: configuration and AWS from the process environment, secrets
    /// read from Secrets Manager where it names them (`artforge_secrets`).
    pub async fn from_env() -> Result<Self, crate::Error> {
        let (env, aws) = artforge_secrets::process_env().await?;
        let config = WorkerConfig::from_env(&env)?;
        Ok(Self::build(config, &aws))
    }

    /// One SQS batch: each message handled, the ones to deliver again reported as failures.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            if self.handle_message(&record).await.retry() {
                response.add_failure(record.message_id.clone().unwrap_or_default());
            }
        }
        response
    }

    /// One message, from the job queue or the dead-letter queue.
    pub async fn handle_message(&self, record: &SqsMessage) -> Delivery {
        let message = match record.body.as_deref().map(JobMessage::parse) {
            Some(Ok(message)) => message,
            _ => {
                warn!(message_id = ?record.message_id, "not a job message; dropped");
                return Delivery::Malformed;
            }
        };
        let dead = self.dead_letter_queue_arn.is_some()
            && record.event_source_arn == self.dead_letter_queue_arn;
        let span = info_span!("job", user_id = %message.user_id, job_id = %message.job_id, dead);
        let (owner, id) = (message.user_id, message.job_id);
        let outcome = if dead {
            self.runner
                .dead_letter(owner, id)
                .instrument(span.clone())
                .await
        } else {
            self.runner.run(owner, id).instrument(span.clone()).await
        };
        span.in_scope(|| match &outcome {
            Outcome::Retry(e) => error!(error = %e, "job will be retried"),
            other => info!(outcome = ?other, "message handled"),
        });
        Delivery::Job(outcome)
    }
}
