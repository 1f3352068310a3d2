//! The credit ledger mechanism (DESIGN §4). Every change of a balance is one DynamoDB
//! transaction of three writes:
//!
//! 1. the profile's `credits`, conditioned on the balance it was computed from (optimistic
//!    concurrency: a concurrent change makes the transaction fail and it is recomputed);
//! 2. an effect guard `EFFECT#<cause>`, conditioned on not existing, so a cause moves credits at
//!    most once however often it is retried or duplicated;
//! 3. a ledger entry with the signed delta and the balance after it.
//!
//! So the balance is never negative ([`settle`] refuses uncovered debits) and always equals the
//! sum of the ledger. Other stores of this crate that must write with a credit change (a job
//! with its debit, a purchase with its grant) pass their items to [`DynamoStore::apply_with`].

use std::time::Duration;

use artforge_domain::{
    CreditCause, Credits, LedgerEntry, LedgerOutcome, Movement, Page, PageRequest, Settlement,
    StoreError, UserId, ports::Ledger, settle,
};
use aws_sdk_dynamodb::{
    operation::transact_write_items::TransactWriteItemsError,
    types::{Get, Put, TransactGetItem, TransactWriteItem, Update},
};
use time::OffsetDateTime;
use tracing::{debug, warn};
use ulid::Ulid;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n},
    error::{Cancelled, cancellation_reasons, unavailable},
    keys,
};

/// How many times a movement is recomputed when the balance changed under it.
const MAX_ATTEMPTS: u32 = 12;

/// Why [`DynamoStore::apply_with`] did not apply a movement.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The condition of the caller's extra item at this index failed; nothing was written.
    #[error("the condition of extra item {0} failed")]
    ExtraRejected(usize),
}

impl From<ApplyError> for StoreError {
    fn from(err: ApplyError) -> Self {
        match err {
            ApplyError::Store(e) => e,
            ApplyError::ExtraRejected(i) => {
                StoreError::Corrupt(format!("unexpected condition failure of extra item {i}"))
            }
        }
    }
}

/// The guard and entry items of a movement that is already settled, plus the entry itself.
pub(crate) fn movement_items(
    store: &DynamoStore,
    user: UserId,
    cause: &CreditCause,
    delta: i64,
    balance_after: Credits,
    now: OffsetDateTime,
) -> Result<(Vec<TransactWriteItem>, LedgerEntry), StoreError> {
    let entry = LedgerEntry {
        id: Ulid::generate().to_string(),
        user,
        delta,
        reason: cause.reason().to_owned(),
        reference: cause.reference(),
        balance_after,
        created_at: now,
    };
    let entry_sk = keys::ledger_entry(&entry.id);
    let mut guard = attrs::key(keys::user(user), keys::effect(&cause.effect_key()));
    guard.insert("entry".into(), attrs::s(&entry_sk));
    guard.insert("createdAt".into(), attrs::timestamp(now));

    let mut record = attrs::key(keys::user(user), entry_sk);
    record.insert("delta".into(), attrs::n(delta));
    record.insert("reason".into(), attrs::s(&entry.reason));
    if let Some(reference) = &entry.reference {
        record.insert("reference".into(), attrs::s(reference));
    }
    record.insert("balanceAfter".into(), attrs::n(balance_after.get()));
    record.insert("createdAt".into(), attrs::timestamp(now));

    let items = [guard, record]
        .into_iter()
        .map(|item| {
            Put::builder()
                .table_name(store.table())
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, entry))
}

impl DynamoStore {
    /// Reads the balance and, if `cause` already moved credits, the key of the ledger entry it
    /// wrote, in one consistent read.
    async fn balance_and_guard(
        &self,
        user: UserId,
        cause: &CreditCause,
    ) -> Result<(Credits, Option<String>), StoreError> {
        let get = |sk: String| {
            Get::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(keys::user(user), sk)))
                .build()
                .map(|g| TransactGetItem::builder().get(g).build())
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        let out = self
            .client()
            .transact_get_items()
            .transact_items(get(keys::PROFILE.to_owned())?)
            .transact_items(get(keys::effect(&cause.effect_key()))?)
            .send()
            .await
            .map_err(unavailable)?;
        let responses = out.responses();
        let item = |i: usize| responses.get(i).and_then(|r| r.item());
        let profile: &Item = item(0).ok_or(StoreError::NotFound)?;
        let balance = Credits::new(get_n(profile, "credits")?);
        let guard = item(1)
            .map(|g| attrs::get_s(g, "entry").map(str::to_owned))
            .transpose()?;
        Ok((balance, guard))
    }

    /// Applies `movement` for `cause` together with the items `extra` builds from the settled
    /// movement (so they can record its outcome, e.g. a claw-back's shortfall), all or nothing.
    pub async fn apply_with(
        &self,
        user: UserId,
        cause: &CreditCause,
        movement: Movement,
        extra: impl Fn(&Settlement) -> Vec<TransactWriteItem>,
    ) -> Result<LedgerOutcome, ApplyError> {
        // The movement last sent: if a transport failure hid its success and the SDK's retry
        // then found the guard in place, the guard names this entry, and it is ours.
        let mut sent: Option<(LedgerEntry, Credits)> = None;
        for attempt in 0..MAX_ATTEMPTS {
            let (balance, guard) = self.balance_and_guard(user, cause).await?;
            if let Some(entry_key) = guard {
                return Ok(match sent {
                    Some((entry, shortfall)) if keys::ledger_entry(&entry.id) == entry_key => {
                        LedgerOutcome::Applied { entry, shortfall }
                    }
                    _ => LedgerOutcome::AlreadyApplied { balance },
                });
            }
            let settlement = settle(balance, movement).map_err(StoreError::from)?;
            let now = OffsetDateTime::now_utc();
            let (guard_and_entry, entry) = movement_items(
                self,
                user,
                cause,
                settlement.delta,
                settlement.balance_after,
                now,
            )?;

            let balance_update = Update::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(keys::user(user), keys::PROFILE)))
                .update_expression("SET credits = :after")
                .condition_expression("credits = :before")
                .expression_attribute_values(":after", attrs::n(settlement.balance_after.get()))
                .expression_attribute_values(":before", attrs::n(balance.get()))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut items = vec![TransactWriteItem::builder().update(balance_update).build()];
            items.extend(guard_and_entry);
            let first_extra = items.len();
            items.extend(extra(&settlement));
            sent = Some((entry.clone(), settlement.shortfall));

            let result = self
                .client()
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            match result {
                Ok(_) => {
                    debug!(%user, cause = cause.effect_key(), delta = settlement.delta, "credits moved");
                    return Ok(LedgerOutcome::Applied {
                        entry,
                        shortfall: settlement.shortfall,
                    });
                }
                Err(err) => {
                    let reasons = match err.as_service_error() {
                        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                            cancellation_reasons(c.cancellation_reasons())
                        }
                        _ => return Err(unavailable(err).into()),
                    };
                    if let Some(i) = reasons
                        .iter()
                        .skip(first_extra)
                        .position(|r| *r == Cancelled::ConditionFailed)
                    {
                        // A lost answer: the SDK's retry of a transaction that did commit
                        // fails every condition, extras' included. Ours if the guard names the
                        // entry we sent.
                        if let (Some(entry_key), Some((entry, shortfall))) =
                            (self.balance_and_guard(user, cause).await?.1, &sent)
                            && keys::ledger_entry(&entry.id) == entry_key
                        {
                            return Ok(LedgerOutcome::Applied {
                                entry: entry.clone(),
                                shortfall: *shortfall,
                            });
                        }
                        return Err(ApplyError::ExtraRejected(i));
                    }
                    // The balance moved, the guard appeared, or another transaction touched
                    // the same items: read again and recompute.
                    debug!(%user, attempt, ?reasons, "ledger transaction cancelled; retrying");
                    backoff(attempt).await;
                }
            }
        }
        warn!(%user, cause = cause.effect_key(), "ledger gave up after {MAX_ATTEMPTS} attempts");
        Err(StoreError::Contention.into())
    }
}

/// Exponential backoff with full jitter, from 5 ms up to a 320 ms ceiling.
async fn backoff(attempt: u32) {
    use std::hash::{BuildHasher, RandomState};
    let ceiling_ms = 5u64 << attempt.min(6);
    let jitter = RandomState::new().hash_one(attempt) % ceiling_ms.max(1);
    tokio::time::sleep(Duration::from_millis(jitter + 1)).await;
}

fn entry_from_item(user: UserId, item: &Item) -> Result<LedgerEntry, StoreError> {
    let sk = attrs::get_s(item, keys::SK)?;
    let id = sk
        .strip_prefix(keys::LEDGER_PREFIX)
        .ok_or_else(|| StoreError::Corrupt(format!("{sk} is not a ledger entry")))?;
    Ok(LedgerEntry {
        id: id.to_owned(),
        user,
        delta: get_n(item, "delta")?,
        reason: attrs::get_s(item, "reason")?.to_owned(),
        reference: attrs::get_opt_s(item, "reference")?.map(str::to_owned),
        balance_after: Credits::new(get_n(item, "balanceAfter")?),
        created_at: attrs::get_time(item, "createdAt")?,
    })
}

impl Ledger for DynamoStore {
    async fn apply(
        &self,
        user: UserId,
        cause: &CreditCause,
        movement: Movement,
    ) -> Result<LedgerOutcome, StoreError> {
        Ok(self
            .apply_with(user, cause, movement, |_| Vec::new())
            .await?)
    }

    async fn history(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        let (items, next) = self.newest_first(user, keys::LEDGER_PREFIX, page).await?;
        let items = items
            .into_iter()
            .map(|item| entry_from_item(user, &item))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }
}
