//! The account queue: erasures of closed accounts (a delayed back-up run) and ZIP archives to
//! build, one message each, consumed by the account worker (`gallery-worker`). A message names
//! its task; everything else is read from the store, so a stale or repeated one does no harm.

use std::{sync::Arc, time::Duration};

use artforge_domain::{AccountTask, AccountTasks, ArchiveId, QueueError, UserId};
use aws_sdk_sqs::Client;
use serde::{Deserialize, Serialize};

/// SQS's longest delivery delay.
const MAX_DELAY: Duration = Duration::from_secs(900);

/// A task as the message body carries it: `{"erase":{"userId"}}` or
/// `{"archive":{"userId","archiveId"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum TaskMessage {
    Erase {
        #[serde(rename = "userId")]
        user_id: String,
    },
    Archive {
        #[serde(rename = "userId")]
        user_id: String,
        #[serde(rename = "archiveId")]
        archive_id: String,
    },
}

impl TaskMessage {
    pub fn of(task: AccountTask) -> Self {
        match task {
            AccountTask::Erase { user } => Self::Erase {
                user_id: user.to_string(),
            },
            AccountTask::Archive { owner, id } => Self::Archive {
                user_id: owner.to_string(),
                archive_id: id.to_string(),
            },
        }
    }

    pub fn body(&self) -> String {
        // Serialising strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The task a body names; `None` for anything else.
    pub fn parse(body: &str) -> Option<AccountTask> {
        match serde_json::from_str(body).ok()? {
            Self::Erase { user_id } => Some(AccountTask::Erase {
                user: user_id.parse::<UserId>().ok()?,
            }),
            Self::Archive {
                user_id,
                archive_id,
            } => Some(AccountTask::Archive {
                owner: user_id.parse::<UserId>().ok()?,
                id: archive_id.parse::<ArchiveId>().ok()?,
            }),
        }
    }
}

/// The account queue the API sends tasks to.
#[derive(Clone, Debug)]
pub struct SqsTasks {
    client: Client,
    url: Arc<str>,
}

impl SqsTasks {
    pub fn new(client: Client, url: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

impl AccountTasks for SqsTasks {
    async fn send(&self, task: AccountTask, delay: Duration) -> Result<(), QueueError> {
        let seconds = delay.min(MAX_DELAY).as_secs();
        self.client
            .send_message()
            .queue_url(self.url.as_ref())
            .message_body(TaskMessage::of(task).body())
            .delay_seconds(i32::try_from(seconds).unwrap_or(900))
            .send()
            .await
            .map_err(|e| QueueError(Box::new(e)))?;
        tracing::debug!(?task, "account task queued");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_survives_a_round_trip_and_strangers_are_refused() {
        for task in [
            AccountTask::Erase {
                user: UserId::new(),
            },
            AccountTask::Archive {
                owner: UserId::new(),
                id: ArchiveId::new(),
            },
        ] {
            assert_eq!(
                TaskMessage::parse(&TaskMessage::of(task).body()),
                Some(task)
            );
        }
        assert_eq!(TaskMessage::parse(r#"{"erase":{"userId":"x"}}"#), None);
        assert_eq!(TaskMessage::parse(r#"{"userId":"x","jobId":"y"}"#), None);
        assert_eq!(TaskMessage::parse("not json"), None);
    }
}
