//! Rate windows: one item per key and fixed window, whose `hits` only grows by one atomic add
//! per request (`UpdateItem ... ReturnValues=UPDATED_NEW`: one write, no read), swept by
//! DynamoDB TTL after the window closes.

use artforge_domain::{RateKey, StoreError, ports::RateLimits};
use aws_sdk_dynamodb::types::ReturnValue;
use time::OffsetDateTime;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n},
    error::unavailable,
    keys,
};

impl RateLimits for DynamoStore {
    async fn count(
        &self,
        key: &RateKey,
        window_start: OffsetDateTime,
        window_end: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let output = self
            .update_at(attrs::key(
                keys::rate(key),
                keys::rate_window(window_start.unix_timestamp()),
            ))
            .update_expression("ADD hits :one SET expiresAt = :exp")
            .expression_attribute_values(":one", attrs::n(1))
            .expression_attribute_values(":exp", attrs::n(window_end.unix_timestamp()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        get_n(output.attributes().unwrap_or(&Item::new()), "hits")
    }
}
