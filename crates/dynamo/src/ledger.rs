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
    StoreError, UserId, Wallet, ports::Ledger, settle,
};
use aws_sdk_dynamodb::types::{Get, TransactGetItem, Update};
use time::OffsetDateTime;
use tracing::{debug, warn};
use ulid::Ulid;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n},
    error::{malformed, unavailable},
    keys,
    transaction::{Refusal, Transaction},
};

/// How many times a movement is recomputed when the balance changed under it.
const MAX_ATTEMPTS: u32 = 12;

/// The items of a ledger movement: the two every movement writes, then the caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<L> {
    /// The profile's balance, conditioned on the balance the movement was computed from.
    Balance,
    /// The effect guard, conditioned on not existing.
    Guard,
    /// The ledger entry.
    Entry,
    /// An item of the caller's.
    Extra(L),
}

/// A wallet as the profile stores it: `credits`, `free` and `debt`, the latter two absent on
/// profiles written before they existed (read as zero).
#[derive(Debug, Clone, Copy)]
struct Stored {
    wallet: Wallet,
    has_free: bool,
    has_debt: bool,
}

impl Stored {
    fn of(profile: &Item) -> Result<Self, StoreError> {
        let (free, debt) = (
            attrs::get_opt_n(profile, "free")?,
            attrs::get_opt_n(profile, "debt")?,
        );
        Ok(Self {
            wallet: Wallet {
                balance: Credits::new(get_n(profile, "credits")?),
                free: Credits::new(free.unwrap_or(0)),
                debt: Credits::new(debt.unwrap_or(0)),
            },
            has_free: free.is_some(),
            has_debt: debt.is_some(),
        })
    }

    /// The profile's update to `after`, conditioned on the wallet being as read.
    fn update(
        &self,
        store: &DynamoStore,
        user: UserId,
        after: Wallet,
    ) -> Result<aws_sdk_dynamodb::types::Update, aws_sdk_dynamodb::error::BuildError> {
        // `free` is one of DynamoDB's reserved words: every name goes through a placeholder.
        let unchanged = |name: &str, had: bool| {
            if had {
                format!("#{name} = :{name}_before")
            } else {
                format!("attribute_not_exists(#{name})")
            }
        };
        let mut update = Update::builder()
            .table_name(store.table())
            .set_key(Some(attrs::key(keys::user(user), keys::PROFILE)))
            .update_expression("SET #credits = :credits, #free = :free, #debt = :debt")
            .condition_expression(format!(
                "#credits = :credits_before AND {} AND {}",
                unchanged("free", self.has_free),
                unchanged("debt", self.has_debt)
            ))
            .expression_attribute_names("#credits", "credits")
            .expression_attribute_names("#free", "free")
            .expression_attribute_names("#debt", "debt")
            .expression_attribute_values(":credits", attrs::n(after.balance.get()))
            .expression_attribute_values(":free", attrs::n(after.free.get()))
            .expression_attribute_values(":debt", attrs::n(after.debt.get()))
            .expression_attribute_values(":credits_before", attrs::n(self.wallet.balance.get()));
        if self.has_free {
            update = update
                .expression_attribute_values(":free_before", attrs::n(self.wallet.free.get()));
        }
        if self.has_debt {
            update = update
                .expression_attribute_values(":debt_before", attrs::n(self.wallet.debt.get()));
        }
        update.build()
    }
}

/// The two records every movement writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Guard,
    Entry,
}

/// Why [`DynamoStore::apply_with`] did not apply a movement.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError<L> {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The condition of the caller's item with this label failed; nothing was written.
    #[error("the condition of an item failed")]
    Refused(L),
}

impl<L> ApplyError<L> {
    /// The store's error, a refused item being one (for callers with no conditions of their own).
    pub fn into_store(self) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Refused(_) => {
                StoreError::Corrupt("an item's condition failed unexpectedly".into())
            }
        }
    }
}

/// The guard and the entry of a movement that is already settled, plus the entry itself.
pub(crate) fn movement_items(
    store: &DynamoStore,
    user: UserId,
    cause: &CreditCause,
    delta: i64,
    balance_after: Credits,
    now: OffsetDateTime,
) -> Result<(Transaction<Record>, LedgerEntry), StoreError> {
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

    let absent = Some("attribute_not_exists(pk)");
    let mut tx = Transaction::new();
    tx.put(Record::Guard, store.table(), guard, absent)?;
    tx.put(Record::Entry, store.table(), record, absent)?;
    Ok((tx, entry))
}

impl DynamoStore {
    /// Reads the wallet, which of its attributes the profile has, and, if `cause` already
    /// moved credits, the key of the ledger entry it wrote, in one consistent read.
    async fn wallet_and_guard(
        &self,
        user: UserId,
        cause: &CreditCause,
    ) -> Result<(Stored, Option<String>), StoreError> {
        let get = |sk: String| {
            Get::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(keys::user(user), sk)))
                .build()
                .map(|g| TransactGetItem::builder().get(g).build())
                .map_err(malformed)
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
        let guard = item(1)
            .map(|g| attrs::get_s(g, "entry").map(str::to_owned))
            .transpose()?;
        Ok((Stored::of(profile)?, guard))
    }

    /// Applies `movement` for `cause` together with `tx`'s items, all or nothing.
    pub async fn move_with<L: Clone + PartialEq>(
        &self,
        user: UserId,
        cause: &CreditCause,
        movement: Movement,
        tx: Transaction<L>,
    ) -> Result<LedgerOutcome, ApplyError<L>> {
        self.apply_with(user, cause, movement, |_| Ok(tx.clone()))
            .await
    }

    /// Applies `movement` for `cause` together with the items `extra` builds from the settled
    /// movement (so they can record its outcome, e.g. a claw-back's shortfall), all or nothing.
    pub async fn apply_with<L: Clone + PartialEq>(
        &self,
        user: UserId,
        cause: &CreditCause,
        movement: Movement,
        extra: impl Fn(&Settlement) -> Result<Transaction<L>, StoreError>,
    ) -> Result<LedgerOutcome, ApplyError<L>> {
        // The movement last sent: if a transport failure hid its success and the SDK's retry
        // then found the guard in place, the guard names this entry, and it is ours.
        let mut sent: Option<(LedgerEntry, Credits)> = None;
        let ours = |guard: &str, sent: &Option<(LedgerEntry, Credits)>| match sent {
            Some((entry, shortfall)) if keys::ledger_entry(&entry.id) == guard => {
                Some(LedgerOutcome::Applied {
                    entry: entry.clone(),
                    shortfall: *shortfall,
                })
            }
            _ => None,
        };
        for attempt in 0..MAX_ATTEMPTS {
            let (stored, guard) = self.wallet_and_guard(user, cause).await?;
            if let Some(entry_key) = guard {
                return Ok(
                    ours(&entry_key, &sent).unwrap_or(LedgerOutcome::AlreadyApplied {
                        balance: stored.wallet.balance,
                    }),
                );
            }
            let settlement = settle(stored.wallet, movement).map_err(StoreError::from)?;
            let now = OffsetDateTime::now_utc();
            let (records, entry) = movement_items(
                self,
                user,
                cause,
                settlement.delta,
                settlement.after.balance,
                now,
            )?;
            let mut tx = Transaction::new();
            tx.update(Part::Balance, stored.update(self, user, settlement.after))?;
            tx.extend(records, |record| match record {
                Record::Guard => Part::Guard,
                Record::Entry => Part::Entry,
            });
            tx.extend(extra(&settlement)?, Part::Extra);
            sent = Some((entry.clone(), settlement.shortfall));

            match tx.commit(self.client()).await {
                Ok(()) => {
                    debug!(%user, cause = cause.effect_key(), delta = settlement.delta, "credits moved");
                    return Ok(LedgerOutcome::Applied {
                        entry,
                        shortfall: settlement.shortfall,
                    });
                }
                Err(Refusal::Store(e)) => return Err(e.into()),
                Err(Refusal::Conditions(refused)) => {
                    let extra = refused.into_iter().find_map(|part| match part {
                        Part::Extra(label) => Some(label),
                        _ => None,
                    });
                    if let Some(label) = extra {
                        // A lost answer: the SDK's retry of a transaction that did commit
                        // fails every condition, the caller's included. Ours if the guard
                        // names the entry we sent.
                        if let Some(guard) = self.wallet_and_guard(user, cause).await?.1
                            && let Some(applied) = ours(&guard, &sent)
                        {
                            return Ok(applied);
                        }
                        return Err(ApplyError::Refused(label));
                    }
                    // The balance moved or the guard appeared: read again and recompute.
                    debug!(%user, attempt, "ledger transaction refused; retrying");
                    backoff(attempt).await;
                }
                Err(Refusal::Conflict) => {
                    debug!(%user, attempt, "ledger transaction conflicted; retrying");
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
        self.move_with(user, cause, movement, Transaction::<()>::new())
            .await
            .map_err(ApplyError::into_store)
    }

    async fn balance(&self, user: UserId) -> Result<Credits, StoreError> {
        Ok(self.wallet(user).await?.balance)
    }

    async fn wallet(&self, user: UserId) -> Result<Wallet, StoreError> {
        let profile = self
            .item(keys::user(user), keys::PROFILE)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Stored::of(&profile)?.wallet)
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
