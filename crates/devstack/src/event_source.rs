//! A local SQS event source mapping: what Lambda does between a queue and a function, for the
//! local server and tests. Messages are received from the queue, handed to the handler as
//! batches of one (as the template configures), and deleted unless the handler reported them
//! as failed, which leaves them to come back after the visibility timeout, like Lambda's
//! `ReportBatchItemFailures`.

use std::{future::Future, time::Duration};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One queue as an event source.
#[derive(Clone, Debug)]
pub struct EventSource {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
}

impl EventSource {
    /// The queue at `queue_url` (its ARN is looked up, as events carry it).
    pub async fn new(sqs: aws_sdk_sqs::Client, queue_url: &str) -> Result<Self, Error> {
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or("the queue has no ARN")?;
        Ok(Self {
            sqs,
            queue_url: queue_url.to_owned(),
            queue_arn,
        })
    }

    pub fn queue_arn(&self) -> &str {
        &self.queue_arn
    }

    /// Receives what is there (waiting up to `wait` for the first message), hands every
    /// message to `handler` concurrently, each as its own batch, and deletes the handled ones.
    /// Returns how many messages were received.
    pub async fn poll_once<H, Fut>(&self, wait: Duration, handler: &H) -> Result<usize, Error>
    where
        H: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        let count = messages.len();
        let handled = futures::future::join_all(messages.into_iter().map(|message| async move {
            let receipt = message.receipt_handle.clone();
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(self.queue_arn.clone());
            for (name, value) in message.attributes.unwrap_or_default() {
                record.attributes.insert(name.as_str().to_owned(), value);
            }
            let mut event = SqsEvent::default();
            event.records.push(record);
            let response = handler(event).await;
            (receipt, response.batch_item_failures.is_empty())
        }))
        .await;
        for (receipt, done) in handled {
            if let (Some(receipt), true) = (receipt, done) {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await?;
            }
        }
        Ok(count)
    }

    /// Polls for ever (the local server's worker loop), logging failures. Short polls with a
    /// pause when the queue is empty: the local moto serialises requests, so a long poll would
    /// hold up every other request for its whole wait.
    pub async fn run<H, Fut>(self, handler: H)
    where
        H: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        loop {
            match self.poll_once(Duration::ZERO, &handler).await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, queue = self.queue_url, "polling the local queue failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
