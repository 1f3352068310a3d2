//! Closing an account and erasing its data (DESIGN §11), by the user's partition rather than
//! by a list of kinds: whatever a user's partition holds is deleted, except the records kept
//! for audit ([`KEPT`]). A kind another part of the product adds later is erased with no
//! change here.
//!
//! Closing is one transaction: the profile keeps only its wallet (the kept ledger's balance)
//! and `closedAt`, its token version goes up (every token stops working), and the email lock
//! goes (the email may open a new account; its signup marker, in the email's partition, stays).

use std::time::Duration;

use artforge_domain::{Email, Erasure, Standing, StoreError, UserId};
use aws_sdk_dynamodb::types::{Delete, Update};
use time::OffsetDateTime;
use tracing::info;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_s},
    batch::Insist,
    error::{malformed, unavailable},
    keys,
    likes::Part,
    transaction::{Refusal, Transaction},
};

/// Sort keys (exact, or prefixes ending in `#`) of the items a closed account keeps: the
/// profile (reduced to its wallet), the ledger, its effect guards, and purchases. Payments
/// must stay auditable; none of these holds an email or a name.
pub const KEPT: &[&str] = &[
    keys::PROFILE,
    keys::LEDGER_PREFIX,
    keys::EFFECT_PREFIX,
    keys::PURCHASE_PREFIX,
];

/// Attempts at a transaction that collides with another write of the same items.
const ATTEMPTS: u32 = 5;

fn kept(sk: &str) -> bool {
    KEPT.iter().any(|k| {
        if k.ends_with('#') {
            sk.starts_with(k)
        } else {
            sk == *k
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Profile,
    Lock,
}

impl DynamoStore {
    /// Every key (and `imageOwner`, for likes) of `user`'s partition, page by page.
    async fn partition_keys(&self, user: UserId, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .projection_expression("pk, sk, imageOwner")
                .expression_attribute_values(":pk", attrs::s(keys::user(user)))
                .set_exclusive_start_key(start);
            query = if prefix.is_empty() {
                query.key_condition_expression("pk = :pk")
            } else {
                query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", attrs::s(prefix))
            };
            let out = query.send().await.map_err(unavailable)?;
            all.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(all),
            }
        }
    }

    /// Takes a like back from its image's count and deletes it; a like of an image that is
    /// gone (or whose count is already zero) is simply deleted.
    async fn take_back(&self, user: UserId, like: &Item) -> Result<(), StoreError> {
        let sk = get_s(like, keys::SK)?;
        let image_sk = format!(
            "{}{}",
            keys::IMAGE_PREFIX,
            sk.trim_start_matches(keys::LIKE_PREFIX)
        );
        let owner = attrs::get_opt_s(like, "imageOwner")?;
        let like_key = attrs::key(keys::user(user), sk);
        if let Some(owner) = owner {
            let tx = self.unliking(
                like_key.clone(),
                attrs::key(format!("USER#{owner}"), image_sk),
            )?;
            for _ in 0..ATTEMPTS {
                match tx.commit(self.client()).await {
                    Ok(()) => return Ok(()),
                    // The like is gone already: nothing to take back.
                    Err(refusal) if refusal.refused(&Part::Like) => return Ok(()),
                    // The image is gone (or counts nothing): only the like is left to delete.
                    Err(Refusal::Conditions(_)) => break,
                    Err(Refusal::Conflict) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(Refusal::Store(e)) => return Err(e),
                }
            }
        }
        self.delete_all(vec![like_key], Insist::PATIENTLY)
            .await
            .map(drop)
    }
}

impl Erasure for DynamoStore {
    async fn close(&self, user: UserId, now: OffsetDateTime) -> Result<(), StoreError> {
        for _ in 0..ATTEMPTS {
            let profile = self
                .item(keys::user(user), keys::PROFILE)
                .await?
                .ok_or(StoreError::NotFound)?;
            if profile.contains_key("closedAt") {
                return Ok(());
            }
            let email = Email::parse(get_s(&profile, "email")?)
                .map_err(|e| StoreError::Corrupt(format!("stored email: {e}")))?;
            let strip = Update::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(keys::user(user), keys::PROFILE)))
                .update_expression(
                    "SET closedAt = :now, tokenVersion = tokenVersion + :one \
                     REMOVE email, #name, passwordHash",
                )
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(closedAt)")
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":now", attrs::timestamp(now))
                .expression_attribute_values(":one", attrs::n(1))
                .build();
            let unlock = Delete::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(
                    keys::email_lock(&email),
                    keys::EMAIL_LOCK_SK,
                )))
                .condition_expression("attribute_not_exists(pk) OR userId = :me")
                .expression_attribute_values(":me", attrs::s(user.to_string()))
                .build()
                .map_err(malformed)?;
            let mut tx = Transaction::new();
            tx.update(Closing::Profile, strip)?;
            tx.push(
                Closing::Lock,
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .delete(unlock)
                    .build(),
            );
            match tx.commit(self.client()).await {
                Ok(()) => {
                    info!(user_id = %user, "account closed");
                    return Ok(());
                }
                // Closed meanwhile, or the lock is another account's (then the email is
                // not ours to free: the profile is stripped all the same on the next round).
                Err(Refusal::Conditions(labels)) if labels == [Closing::Lock] => {
                    return Err(StoreError::Corrupt(
                        "the account's email lock names another account".into(),
                    ));
                }
                Err(Refusal::Conditions(_) | Refusal::Conflict) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(Refusal::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }

    async fn standing(&self, user: UserId) -> Result<Standing, StoreError> {
        Ok(match self.item(keys::user(user), keys::PROFILE).await? {
            None => Standing::Unknown,
            Some(profile) if profile.contains_key("closedAt") => {
                Standing::Closed(attrs::get_time(&profile, "closedAt")?)
            }
            Some(_) => Standing::Open,
        })
    }

    async fn erase_jobs(&self, user: UserId) -> Result<usize, StoreError> {
        let jobs = self.partition_keys(user, keys::JOB_PREFIX).await?;
        let keys = jobs
            .into_iter()
            .map(|item| key_of(&item))
            .collect::<Result<Vec<_>, _>>()?;
        self.delete_all(keys, Insist::PATIENTLY).await
    }

    async fn erase_rest(&self, user: UserId) -> Result<usize, StoreError> {
        let mut plain = Vec::new();
        let mut erased = 0;
        for item in self.partition_keys(user, "").await? {
            let sk = get_s(&item, keys::SK)?;
            if kept(sk) {
                continue;
            }
            if sk.starts_with(keys::LIKE_PREFIX) {
                self.take_back(user, &item).await?;
                erased += 1;
            } else {
                plain.push(key_of(&item)?);
            }
        }
        erased += self.delete_all(plain, Insist::PATIENTLY).await?;
        info!(user_id = %user, erased, "account data erased");
        Ok(erased)
    }
}

/// The table key of an item read with its key.
fn key_of(item: &Item) -> Result<Item, StoreError> {
    Ok(attrs::key(
        get_s(item, keys::PK)?.to_owned(),
        get_s(item, keys::SK)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::kept;

    #[test]
    fn a_closed_account_keeps_its_wallet_ledger_guards_and_purchases_only() {
        for sk in ["PROFILE", "LEDGER#01J", "EFFECT#signup", "PURCHASE#cs_1"] {
            assert!(kept(sk), "{sk}");
        }
        for sk in [
            "PROFILEX",
            "IMAGE#01J",
            "JOB#01J",
            "LIKE#01J",
            "REVOKED#t",
            "UPLOAD#01J",
            "ARCHIVE#01J",
            "QUOTA#2026-12-03",
            "IDEMPOTENCY#k",
        ] {
            assert!(!kept(sk), "{sk}");
        }
    }
}
