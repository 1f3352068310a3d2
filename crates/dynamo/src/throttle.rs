//! Failed-login windows per email, expiring through DynamoDB TTL.

use artforge_domain::{Email, FailureWindow, StoreError, ports::LoginThrottle};
use time::{Duration, OffsetDateTime};

use crate::{
    DynamoStore,
    attrs::{self, get_n},
    error::{Conditional, unavailable},
    keys,
};

fn millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

impl LoginThrottle for DynamoStore {
    async fn failures(&self, email: &Email) -> Result<Option<FailureWindow>, StoreError> {
        let Some(item) = self
            .item(keys::login_failures(email), keys::LOGIN_FAILURES_SK)
            .await?
        else {
            return Ok(None);
        };
        let started_ms: i128 = get_n(&item, "windowStart")?;
        let started = OffsetDateTime::from_unix_timestamp_nanos(started_ms * 1_000_000)
            .map_err(|_| StoreError::Corrupt("windowStart out of range".into()))?;
        Ok(Some(FailureWindow {
            failures: get_n(&item, "failures")?,
            started,
        }))
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
            let counted = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(key.clone()))
                .update_expression("ADD failures :one")
                .condition_expression("attribute_exists(pk) AND windowStart > :cutoff")
                .expression_attribute_values(":one", attrs::n(1))
                .expression_attribute_values(":cutoff", attrs::n(cutoff))
                .send()
                .await
                .refused()?;
            if counted.is_ok() {
                return Ok(());
            }
            let mut item = key.clone();
            item.insert("failures".into(), attrs::n(1));
            item.insert("windowStart".into(), attrs::n(millis(now)));
            item.insert(
                "expiresAt".into(),
                attrs::n((now + window).unix_timestamp()),
            );
            let opened = self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR windowStart <= :cutoff")
                .expression_attribute_values(":cutoff", attrs::n(cutoff))
                .send()
                .await
                .refused()?;
            if opened.is_ok() {
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
