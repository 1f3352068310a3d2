//! One page of a user's items of one kind (`LEDGER#`, `JOB#`), newest first: the position is
//! the last item's sort key, and one more item than asked is read to know whether more exist.

use artforge_domain::{PageRequest, StoreError, UserId};

use crate::{
    DynamoStore,
    attrs::{self, Item},
    error::unavailable,
    keys,
};

impl DynamoStore {
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
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", attrs::s(keys::user(user)))
            .expression_attribute_values(":prefix", attrs::s(prefix))
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
}
