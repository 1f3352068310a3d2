//! The generation queue. The API sends one message per job, `{"userId","jobId"}`; the worker's
//! event source mapping delivers it (at least once) and the worker parses it with
//! [`JobMessage::parse`]. The message names the job; everything else is read from the store,
//! so a stale or duplicated message can do no harm.

use std::sync::Arc;

mod tasks;
pub use tasks::{SqsTasks, TaskMessage};

use artforge_domain::{
    JobId, UserId,
    ports::{JobQueue, QueueError},
};
use aws_sdk_sqs::Client;
use serde::{Deserialize, Serialize};

/// A queued job, as the message body carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobMessage {
    #[serde(with = "as_text")]
    pub user_id: UserId,
    #[serde(with = "as_text")]
    pub job_id: JobId,
}

mod as_text {
    use std::{fmt::Display, str::FromStr};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let text = <&str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JobMessage {
    pub fn body(&self) -> String {
        // Serialising two strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}

/// The queue the API sends jobs to.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    url: Arc<str>,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

impl JobQueue for SqsQueue {
    async fn enqueue(&self, owner: UserId, job: JobId) -> Result<(), QueueError> {
        let body = JobMessage {
            user_id: owner,
            job_id: job,
        }
        .body();
        self.client
            .send_message()
            .queue_url(self.url.as_ref())
            .message_body(body)
            .send()
            .await
            .map_err(|e| QueueError(Box::new(e)))?;
        tracing::debug!(user = %owner, %job, "job queued");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_a_round_trip_and_rejects_strangers() {
        let message = JobMessage {
            user_id: UserId::new(),
            job_id: JobId::new(),
        };
        assert_eq!(JobMessage::parse(&message.body()).ok(), Some(message));
        assert!(JobMessage::parse(r#"{"userId":"x","jobId":"y"}"#).is_err());
        assert!(JobMessage::parse("not json").is_err());
        let extra = message.body().replace('}', r#","more":1}"#);
        assert!(JobMessage::parse(&extra).is_err());
    }
}
