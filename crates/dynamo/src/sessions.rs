//! Token revocation: the profile's token version (all tokens) and per-token markers that
//! expire with the token (DynamoDB TTL).

use artforge_domain::{StoreError, UserId, ports::Sessions};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use time::OffsetDateTime;

use crate::{
    DynamoStore,
    attrs::{self, get_n, get_s},
    error::unavailable,
    keys,
};

impl Sessions for DynamoStore {
    async fn is_active(
        &self,
        user: UserId,
        token_version: u64,
        token_id: &str,
    ) -> Result<bool, StoreError> {
        let revoked_sk = keys::revoked_token(token_id);
        let wanted = KeysAndAttributes::builder()
            .keys(attrs::key(keys::user(user), keys::PROFILE))
            .keys(attrs::key(keys::user(user), revoked_sk.clone()))
            .projection_expression("sk, tokenVersion")
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let out = self
            .client()
            .batch_get_item()
            .request_items(self.table(), wanted)
            .send()
            .await
            .map_err(unavailable)?;
        if out.unprocessed_keys().is_some_and(|k| !k.is_empty()) {
            // Throttled: answer "unavailable" rather than guess either way.
            return Err(StoreError::Unavailable("session check throttled".into()));
        }
        let items = out
            .responses()
            .and_then(|r| r.get(self.table()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut current = false;
        for item in items {
            match get_s(item, keys::SK)? {
                keys::PROFILE => current = get_n::<u64>(item, "tokenVersion")? == token_version,
                sk if sk == revoked_sk => return Ok(false),
                _ => {}
            }
        }
        Ok(current)
    }

    async fn revoke(
        &self,
        user: UserId,
        token_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut item = attrs::key(keys::user(user), keys::revoked_token(token_id));
        item.insert("expiresAt".into(), attrs::n(expires_at.unix_timestamp()));
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
