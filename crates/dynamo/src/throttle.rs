//! Login attempts per (email, client address): one item each, whose `attempts` only grows by
//! atomic adds until a success deletes it, with the hold the back-off set; forgotten after
//! `expiresAt` (checked on every attempt, and swept by DynamoDB TTL).

use artforge_domain::{Attempt, ClientAddress, Email, StoreError, ports::LoginThrottle};
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::{Duration, OffsetDateTime};

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n},
    error::{Conditional, unavailable},
    keys,
};

fn millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

fn from_millis(ms: i128) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
        .map_err(|_| StoreError::Corrupt("holdUntil out of range".into()))
}

fn attempts_key(email: &Email, from: ClientAddress) -> Item {
    attrs::key(keys::login_attempts(email), keys::attempts_from(from))
}

/// The attempt an item counted, as `UpdateItem` answered it.
fn counted(item: &Item) -> Result<Attempt, StoreError> {
    let turn = match item.get("holdTurn") {
        Some(_) => Some(get_n(item, "holdTurn")?),
        None => None,
    };
    Ok(Attempt::Counted {
        number: get_n(item, "attempts")?,
        turn,
    })
}

impl DynamoStore {
    /// Counts an attempt in a live, unheld item (or a new one); the item that refused it
    /// otherwise.
    async fn count_attempt(
        &self,
        key: &Item,
        now: OffsetDateTime,
        keep: Duration,
    ) -> Result<Result<Attempt, Option<Item>>, StoreError> {
        let answer = self
            .update_at(key.clone())
            .update_expression("ADD attempts :one SET expiresAt = :exp")
            .condition_expression(
                "attribute_not_exists(pk) OR (expiresAt > :now \
                 AND (attribute_not_exists(holdUntil) OR holdUntil <= :now_ms))",
            )
            .expression_attribute_values(":one", attrs::n(1))
            .expression_attribute_values(":exp", attrs::n((now + keep).unix_timestamp()))
            .expression_attribute_values(":now", attrs::n(now.unix_timestamp()))
            .expression_attribute_values(":now_ms", attrs::n(millis(now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .refused()?;
        match answer {
            Ok(output) => counted(output.attributes().unwrap_or(&Item::new())).map(Ok),
            Err(item) => Ok(Err(item)),
        }
    }

    /// Replaces a forgotten item with a fresh count of one, unless another attempt did first.
    async fn start_again(
        &self,
        key: &Item,
        now: OffsetDateTime,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        let mut item = key.clone();
        item.insert("attempts".into(), attrs::n(1));
        item.insert("expiresAt".into(), attrs::n((now + keep).unix_timestamp()));
        Ok(self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expiresAt <= :now")
            .expression_attribute_values(":now", attrs::n(now.unix_timestamp()))
            .send()
            .await
            .refused()?
            .is_ok())
    }
}

impl LoginThrottle for DynamoStore {
    async fn begin_attempt(
        &self,
        email: &Email,
        from: ClientAddress,
        now: OffsetDateTime,
        keep: Duration,
    ) -> Result<Attempt, StoreError> {
        let key = attempts_key(email, from);
        // Two rounds: a forgotten item is replaced, and a concurrent replacement makes the
        // next round count in the item it wrote.
        for _ in 0..2 {
            let refused = match self.count_attempt(&key, now, keep).await? {
                Ok(attempt) => return Ok(attempt),
                Err(refused) => refused,
            };
            let Some(old) = refused else { continue };
            let expires_at: i64 = get_n(&old, "expiresAt")?;
            if expires_at > now.unix_timestamp() {
                return Ok(Attempt::Held {
                    until: from_millis(get_n(&old, "holdUntil")?)?,
                });
            }
            if self.start_again(&key, now, keep).await? {
                return Ok(Attempt::Counted {
                    number: 1,
                    turn: None,
                });
            }
        }
        Err(StoreError::Contention)
    }

    async fn hold(
        &self,
        email: &Email,
        from: ClientAddress,
        turn: u32,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // A condition that fails means a later hold is set, or the item is gone: either way
        // there is nothing to do.
        self.update_at(attempts_key(email, from))
            .update_expression("SET holdTurn = :turn, holdUntil = :until")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(holdUntil) OR holdUntil < :until)",
            )
            .expression_attribute_values(":turn", attrs::n(turn))
            .expression_attribute_values(":until", attrs::n(millis(until)))
            .send()
            .await
            .refused()?
            .ok();
        Ok(())
    }

    async fn clear(&self, email: &Email, from: ClientAddress) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(attempts_key(email, from)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
