//! Reading items: one by key (consistently), a page of a user's items of one kind newest
//! first, and many by key in batches.
//!
//! A page's position is the last item's sort key, and one more item than asked is read to know
//! whether more exist. `BatchGetItem` asks for at most 100 keys a request, drops duplicate keys,
//! and asks again for keys DynamoDB did not get to (throttling) a bounded number of times.

use std::collections::HashSet;

use artforge_domain::{PageRequest, StoreError, UserId};
use aws_sdk_dynamodb::{operation::query::builders::QueryFluentBuilder, types::KeysAndAttributes};

use crate::{
    DynamoStore,
    attrs::{self, Item},
    error::{malformed, unavailable},
    keys,
};

const MAX_KEYS: usize = 100;
/// Rounds for keys left unprocessed before the read counts as unavailable.
const UNPROCESSED_ROUNDS: u32 = 3;

impl DynamoStore {
    /// One item, read consistently.
    pub(crate) async fn item(
        &self,
        pk: String,
        sk: impl Into<String>,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// A query of `user`'s items of one kind (`prefix`).
    fn kind_of(&self, user: UserId, prefix: &str) -> QueryFluentBuilder {
        self.client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", attrs::s(keys::user(user)))
            .expression_attribute_values(":prefix", attrs::s(prefix))
    }

    /// Every item of `user`'s of one kind (`prefix`), all pages, shaped by `shape` (a filter,
    /// a projection). For kinds a user has few of.
    pub(crate) async fn all_of(
        &self,
        user: UserId,
        prefix: &str,
        shape: impl Fn(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let query = self.kind_of(user, prefix).set_exclusive_start_key(start);
            let out = shape(query).send().await.map_err(unavailable)?;
            all.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(all),
            }
        }
    }

    /// The page's items and where the next page starts, if anywhere. A position that is not
    /// of this kind is `BadPosition`.
    pub(crate) async fn newest_first(
        &self,
        user: UserId,
        prefix: &str,
        page: PageRequest,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let limit = usize::from(page.limit);
        let mut query = self
            .kind_of(user, prefix)
            .scan_index_forward(false)
            .limit(i32::from(page.limit) + 1);
        if let Some(after) = page.after {
            if !after.starts_with(prefix) {
                return Err(StoreError::BadPosition);
            }
            query = query.set_exclusive_start_key(Some(attrs::key(keys::user(user), after)));
        }
        let out = query.send().await.map_err(unavailable)?;
        let mut items = out.items.unwrap_or_default();
        let next = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|last| attrs::get_s(last, keys::SK).map(str::to_owned))
                .transpose()?
        } else {
            None
        };
        Ok((items, next))
    }

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
                .map_err(malformed)?;
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
