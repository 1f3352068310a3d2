//! Token revocation: the profile's token version (all tokens) and per-token markers that
//! expire with the token (DynamoDB TTL).

use artforge_domain::{StoreError, UserId, ports::Sessions};
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
        let wanted = vec![
            attrs::key(keys::user(user), keys::PROFILE),
            attrs::key(keys::user(user), revoked_sk.clone()),
        ];
        let items = self
            .batch_get(wanted, Some("sk, tokenVersion"), true)
            .await?;
        let mut current = false;
        for item in &items {
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
