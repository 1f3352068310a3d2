//! `BatchGetItem` done once: at most 100 keys a request, duplicate keys dropped, and keys
//! DynamoDB did not get to (throttling) asked for again a bounded number of times.

use std::collections::HashSet;

use artforge_domain::StoreError;
use aws_sdk_dynamodb::types::KeysAndAttributes;

use crate::{DynamoStore, attrs::Item, error::unavailable, keys};

const MAX_KEYS: usize = 100;
/// Rounds for keys left unprocessed before the read counts as unavailable.
const UNPROCESSED_ROUNDS: u32 = 3;

impl DynamoStore {
    /// The items that exist among `wanted`, in no particular order.
    pub(crate) async fn batch_get(
        &self,
        wanted: Vec<Item>,
        projection: Option<&str>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut seen = HashSet::new();
        let mut pending: Vec<Item> = wanted
            .into_iter()
            .filter(|key| {
                let id = (
                    key.get(keys::PK).and_then(|v| v.as_s().ok()).cloned(),
                    key.get(keys::SK).and_then(|v| v.as_s().ok()).cloned(),
                );
                seen.insert(id)
            })
            .collect();
        let mut found = Vec::new();
        let mut rounds = 0;
        while !pending.is_empty() {
            let chunk: Vec<Item> = pending.drain(..pending.len().min(MAX_KEYS)).collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(chunk))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(consistent)
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let out = self
                .client()
                .batch_get_item()
                .request_items(self.table(), request)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(items) = out.responses().and_then(|r| r.get(self.table())) {
                found.extend(items.iter().cloned());
            }
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(self.table()))
                && !left.keys().is_empty()
            {
                rounds += 1;
                if rounds > UNPROCESSED_ROUNDS {
                    return Err(StoreError::Unavailable("batch read throttled".into()));
                }
                pending.extend(left.keys().iter().cloned());
            }
        }
        Ok(found)
    }
}
