//! The account worker's face to SQS (bin `gallery-worker`): each message of the account queue
//! names a task, an archive to build or a closed account to erase (again); the messages to
//! deliver again are reported as batch-item failures. What a task does is
//! [`crate::archives`]'s and `artforge_erasure`'s.

use artforge_aws::SdkConfig;
use artforge_domain::AccountTask;
use artforge_dynamo::DynamoStore;
use artforge_erasure::Eraser;
use artforge_s3::S3Files;
use artforge_sqs::{SqsTasks, TaskMessage};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::{Instrument, error, info, info_span, warn};

use crate::{WorkerConfig, archives::Archiving};

/// The account worker, built once per process.
pub struct AccountWorker {
    pub archiving: Archiving<DynamoStore, S3Files, SqsTasks>,
    pub eraser: Eraser<DynamoStore, S3Files>,
}

impl AccountWorker {
    /// The worker over `aws`, as `config` says: the one wiring of the Lambda, the local server
    /// and the tests.
    pub fn build(config: WorkerConfig, aws: &SdkConfig) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), config.table_name);
        let files = config.bucket.files(aws);
        Self {
            archiving: Archiving {
                store: store.clone(),
                files: files.clone(),
                tasks: SqsTasks::new(aws_sdk_sqs::Client::new(aws), config.account_queue_url),
            },
            eraser: Eraser { store, files },
        }
    }

    /// The worker as Lambda runs it, from the process environment.
    pub async fn from_env() -> Result<Self, crate::Error> {
        let (env, aws) = artforge_secrets::process_env().await?;
        let config = WorkerConfig::from_env(&env)?;
        Ok(Self::build(config, &aws))
    }

    /// One SQS batch: each message handled, the ones to deliver again reported as failures.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            if !self.handle_message(&record).await {
                response.add_failure(record.message_id.clone().unwrap_or_default());
            }
        }
        response
    }

    /// One message; `false` when it should be delivered again.
    pub async fn handle_message(&self, record: &SqsMessage) -> bool {
        let Some(task) = record.body.as_deref().and_then(TaskMessage::parse) else {
            warn!(message_id = ?record.message_id, "not an account task; dropped");
            return true;
        };
        match task {
            AccountTask::Archive { owner, id } => {
                let span = info_span!("archive", user_id = %owner, archive_id = %id);
                match self
                    .archiving
                    .build(owner, id)
                    .instrument(span.clone())
                    .await
                {
                    Ok(built) => {
                        span.in_scope(|| info!(?built, "archive task handled"));
                        true
                    }
                    Err(e) => {
                        span.in_scope(|| error!(error = %e, "archive task will be retried"));
                        false
                    }
                }
            }
            AccountTask::Erase { user } => {
                let span = info_span!("erase", user_id = %user);
                match self.eraser.erase(user).instrument(span.clone()).await {
                    Ok(erased) => {
                        span.in_scope(|| info!(?erased, "erasure task handled"));
                        true
                    }
                    Err(e) => {
                        span.in_scope(|| error!(error = %e, "erasure task will be retried"));
                        false
                    }
                }
            }
        }
    }
}
