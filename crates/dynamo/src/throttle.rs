//! Failed-login windows per email, expiring through DynamoDB TTL.

use artforge_domain::{Email, FailureWindow, StoreError, ports::LoginThrottle};
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

fn window_from_item(item: &Item) -> Result<FailureWindow, StoreError> {
    let started_ms: i128 = get_n(item, "windowStart")?;
    let started = OffsetDateTime::from_unix_timestamp_nanos(started_ms * 1_000_000)
        .map_err(|_| StoreError::Corrupt("windowStart out of range".into()))?;
    Ok(FailureWindow {
        failures: get_n(item, "failures")?,
        started,
    })
}

impl DynamoStore {
    /// Counts a failure in the window at `key` if it opened after `cutoff`; whether it did.
    async fn count_in_window(&self, key: &Item, cutoff: i128) -> Result<bool, StoreError> {
        Ok(self
            .update_at(key.clone())
            .update_expression("ADD failures :one")
            .condition_expression("attribute_exists(pk) AND windowStart > :cutoff")
            .expression_attribute_values(":one", attrs::n(1))
            .expression_attribute_values(":cutoff", attrs::n(cutoff))
            .send()
            .await
            .refused()?
            .is_ok())
    }

    /// Opens a new window at `key` with one failure, unless an open one is there; whether it
    /// did.
    async fn open_window(
        &self,
        key: &Item,
        now: OffsetDateTime,
        window: Duration,
        cutoff: i128,
    ) -> Result<bool, StoreError> {
        let mut item = key.clone();
        item.insert("failures".into(), attrs::n(1));
        item.insert("windowStart".into(), attrs::n(millis(now)));
        item.insert(
            "expiresAt".into(),
            attrs::n((now + window).unix_timestamp()),
        );
        Ok(self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR windowStart <= :cutoff")
            .expression_attribute_values(":cutoff", attrs::n(cutoff))
            .send()
            .await
            .refused()?
            .is_ok())
    }
}

impl LoginThrottle for DynamoStore {
    async fn failures(&self, email: &Email) -> Result<Option<FailureWindow>, StoreError> {
        self.item(keys::login_failures(email), keys::LOGIN_FAILURES_SK)
            .await?
            .as_ref()
            .map(window_from_item)
            .transpose()
    }

    async fn record_failure(
        &self,
        email: &Email,
        now: OffsetDateTime,
        window: Duration,
    ) -> Result<(), StoreError> {
        let key = attrs::key(keys::login_failures(email), keys::LOGIN_FAILURES_SK);
        let cutoff = millis(now - window);
        // Two rounds: count in the open window, or open a new one; a concurrent opener makes
        // the second fail, and the next round counts in the window it opened.
        for _ in 0..2 {
            if self.count_in_window(&key, cutoff).await?
                || self.open_window(&key, now, window, cutoff).await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Contention)
    }

    async fn clear(&self, email: &Email) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(
                keys::login_failures(email),
                keys::LOGIN_FAILURES_SK,
            )))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
