//! `BatchWriteItem` in one place: writes sent 25 a request (DynamoDB's limit), and what
//! DynamoDB leaves unprocessed (a throttled partition) asked for again a bounded number of
//! times, as the caller's [`Insist`] says, before the write counts as unavailable.

use std::time::Duration;

use artforge_domain::StoreError;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

use crate::{
    DynamoStore,
    attrs::Item,
    error::{malformed, unavailable},
};

/// `BatchWriteItem` takes at most 25 requests.
const MAX_WRITES: usize = 25;

/// How a batch write insists on the requests DynamoDB left unprocessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insist {
    /// Rounds of unprocessed requests asked for again before giving up.
    pub rounds: u32,
    /// The pause before round `n` is this doubled `n` times; none when zero.
    pub pause: Duration,
}

impl Insist {
    /// On a request's path (the search index): a few rounds at once.
    pub(crate) const BRIEFLY: Self = Self {
        rounds: 3,
        pause: Duration::ZERO,
    };
    /// Work that is run again if it fails (the erasure): more rounds, backing off from 100 ms.
    pub(crate) const PATIENTLY: Self = Self {
        rounds: 5,
        pause: Duration::from_millis(50),
    };
}

/// The request that deletes the item at `key`.
fn delete_request(key: Item) -> Result<WriteRequest, StoreError> {
    let delete = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(malformed)?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

impl DynamoStore {
    /// Sends `pending` in `BatchWriteItem`s of 25, asking again for what DynamoDB left
    /// unprocessed as `insist` says; `Unavailable` once it has insisted enough.
    pub(crate) async fn batch_write(
        &self,
        mut pending: Vec<WriteRequest>,
        insist: Insist,
    ) -> Result<(), StoreError> {
        let mut rounds = 0;
        while !pending.is_empty() {
            let chunk: Vec<WriteRequest> = pending.drain(..pending.len().min(MAX_WRITES)).collect();
            let out = self
                .client()
                .batch_write_item()
                .request_items(self.table(), chunk)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(left) = out.unprocessed_items().and_then(|u| u.get(self.table()))
                && !left.is_empty()
            {
                rounds += 1;
                if rounds > insist.rounds {
                    return Err(StoreError::Unavailable("batch write throttled".into()));
                }
                if !insist.pause.is_zero() {
                    tokio::time::sleep(insist.pause * (1 << rounds)).await;
                }
                pending.extend(left.iter().cloned());
            }
        }
        Ok(())
    }

    /// Deletes the items at `keys` (see [`DynamoStore::batch_write`]); how many there were.
    pub(crate) async fn delete_all(
        &self,
        keys: Vec<Item>,
        insist: Insist,
    ) -> Result<usize, StoreError> {
        let count = keys.len();
        let writes = keys
            .into_iter()
            .map(delete_request)
            .collect::<Result<_, _>>()?;
        self.batch_write(writes, insist).await?;
        Ok(count)
    }
}
