//! Credits and the ledger's rules: how a movement changes a balance, and what makes two
//! movements the same cause (so it is applied at most once).
//!
//! The store applies a [`Movement`] for a [`CreditCause`] atomically with an effect guard keyed
//! by [`CreditCause::effect_key`] and a [`LedgerEntry`]; this module decides the numbers.

use std::fmt;

use time::OffsetDateTime;

use crate::{JobId, UserId};

/// A non-negative number of credits: a balance, a price, a grant.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Credits(u64);

impl Credits {
    pub const ZERO: Self = Self(0);

    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// The largest amount a balance or a movement may hold: a ledger delta is a signed 64-bit
    /// number, so every amount must fit one.
    pub const MAX: Self = Self(i64::MAX as u64);

    /// `self + other`, or `CreditOverflow` past [`Credits::MAX`].
    pub fn checked_add(self, other: Self) -> Result<Self, CreditOverflow> {
        self.0
            .checked_add(other.0)
            .map(Self)
            .filter(|sum| *sum <= Self::MAX)
            .ok_or(CreditOverflow)
    }

    /// `self - other`, or `None` below zero.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// `n` times `self` (a price per image times the images), or `CreditOverflow` past
    /// [`Credits::MAX`].
    pub fn times(self, n: u64) -> Result<Self, CreditOverflow> {
        self.0
            .checked_mul(n)
            .map(Self)
            .filter(|product| *product <= Self::MAX)
            .ok_or(CreditOverflow)
    }

    /// The amount as a ledger delta (always fits: amounts never exceed [`Credits::MAX`]).
    fn signed(self) -> Result<i64, CreditOverflow> {
        i64::try_from(self.0).map_err(|_| CreditOverflow)
    }
}

/// An amount of credits past [`Credits::MAX`]: refused, never wrapped or saturated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the amount of credits is too large")]
pub struct CreditOverflow;

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The balance does not cover a debit. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("insufficient credits: balance {balance}, needed {needed}")]
pub struct InsufficientCredits {
    pub balance: Credits,
    pub needed: Credits,
}

/// A user's credits as the ledger keeps them: the balance, the part of it that was given free
/// (signup credits: spent first, and from the free daily budget), and what the user owes
/// (credits of a refunded or disputed purchase that were spent already: later purchases pay it
/// first). `free <= balance` always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wallet {
    pub balance: Credits,
    pub free: Credits,
    pub debt: Credits,
}

impl Wallet {
    /// A wallet holding only `balance`, none of it free, owing nothing.
    pub const fn paid(balance: Credits) -> Self {
        Self {
            balance,
            free: Credits::ZERO,
            debt: Credits::ZERO,
        }
    }
}

/// How a cause wants to move credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// Add credits given free (a new account's): they are spent first.
    GrantFree(Credits),
    /// Add purchased credits; a debt is paid from them first.
    Purchase(Credits),
    /// Give back what a job did not deliver; `free` of it returns to the free credits it was
    /// paid with.
    Refund { credits: Credits, free: Credits },
    /// Take credits only if the balance covers all of them (paying for a job), free ones first.
    Debit(Credits),
    /// Take back up to this many purchased credits, never below zero (a refunded or disputed
    /// payment whose credits may be spent already); the part that could not be taken is the
    /// `shortfall`, and becomes debt.
    ClawBack(Credits),
}

/// The outcome of a movement on a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// Signed change of the balance, as written to the ledger.
    pub delta: i64,
    pub after: Wallet,
    /// Credits a claw-back could not take because the balance was too low (now debt).
    pub shortfall: Credits,
    /// Free credits a debit spent.
    pub free_used: Credits,
    /// Debt a purchase paid before adding to the balance.
    pub debt_paid: Credits,
}

impl Settlement {
    fn of(before: Wallet, after: Wallet) -> Result<Self, CreditOverflow> {
        Ok(Self {
            delta: after.balance.signed()? - before.balance.signed()?,
            after,
            shortfall: Credits::ZERO,
            free_used: Credits::ZERO,
            debt_paid: Credits::ZERO,
        })
    }
}

/// Why a movement cannot be applied to a wallet. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Insufficient(#[from] InsufficientCredits),
    #[error(transparent)]
    Overflow(#[from] CreditOverflow),
}

/// Applies `movement` to `wallet`. The only place that decides credit arithmetic; the store
/// makes it atomic. Every sum is checked: past [`Credits::MAX`] is refused.
pub fn settle(wallet: Wallet, movement: Movement) -> Result<Settlement, Refused> {
    let Wallet {
        balance,
        free,
        debt,
    } = wallet;
    match movement {
        Movement::GrantFree(n) => Ok(Settlement::of(
            wallet,
            Wallet {
                balance: balance.checked_add(n)?,
                free: free.checked_add(n)?,
                debt,
            },
        )?),
        Movement::Purchase(n) => {
            let debt_paid = n.min(debt);
            let settlement = Settlement::of(
                wallet,
                Wallet {
                    balance: balance.checked_add(Credits(n.0 - debt_paid.0))?,
                    free,
                    debt: Credits(debt.0 - debt_paid.0),
                },
            )?;
            Ok(Settlement {
                debt_paid,
                ..settlement
            })
        }
        Movement::Refund {
            credits,
            free: back,
        } => Ok(Settlement::of(
            wallet,
            Wallet {
                balance: balance.checked_add(credits)?,
                free: free.checked_add(back.min(credits))?,
                debt,
            },
        )?),
        Movement::Debit(n) => {
            let Some(after) = balance.checked_sub(n) else {
                return Err(InsufficientCredits { balance, needed: n }.into());
            };
            let free_used = n.min(free);
            let settlement = Settlement::of(
                wallet,
                Wallet {
                    balance: after,
                    free: Credits(free.0 - free_used.0),
                    debt,
                },
            )?;
            Ok(Settlement {
                free_used,
                ..settlement
            })
        }
        Movement::ClawBack(n) => {
            // Purchased credits first; free ones only when those are spent.
            let taken = n.min(balance);
            let shortfall = Credits(n.0 - taken.0);
            let after = Credits(balance.0 - taken.0);
            let settlement = Settlement::of(
                wallet,
                Wallet {
                    balance: after,
                    free: free.min(after),
                    debt: debt.checked_add(shortfall)?,
                },
            )?;
            Ok(Settlement {
                shortfall,
                ..settlement
            })
        }
    }
}

/// Why credits moved. Each cause has an effect key that is unique per real-world event, so a
/// retried or duplicated cause moves credits at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditCause {
    /// The free credits of a new account.
    Signup,
    /// Paying for a generation job.
    JobDebit(JobId),
    /// Giving back what a job did not deliver (failed images or the whole job), once per job.
    JobRefund(JobId),
    /// A change of what a purchase is worth, as Stripe reported it: the `step`th settlement of
    /// its payment (its grant, a refund, a dispute, a dispute's outcome), once each.
    Purchase {
        checkout_session: String,
        step: u64,
        reason: crate::billing::Change,
    },
}

impl CreditCause {
    /// The key of the effect guard: equal for the same real-world event, distinct otherwise.
    pub fn effect_key(&self) -> String {
        match self {
            Self::Signup => "signup".to_owned(),
            Self::JobDebit(job) => format!("job-debit#{job}"),
            Self::JobRefund(job) => format!("job-refund#{job}"),
            Self::Purchase {
                checkout_session,
                step,
                ..
            } => format!("purchase#{checkout_session}#{step}"),
        }
    }

    /// The ledger entry's `reason`, a stable snake_case word clients may show.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::JobDebit(_) => "generation",
            Self::JobRefund(_) => "generation_refund",
            Self::Purchase { reason, .. } => reason.ledger_reason(),
        }
    }

    /// What the entry refers to (a job, a Checkout Session, a refund), if anything.
    pub fn reference(&self) -> Option<String> {
        match self {
            Self::Signup => None,
            Self::JobDebit(job) | Self::JobRefund(job) => Some(job.to_string()),
            Self::Purchase {
                checkout_session, ..
            } => Some(checkout_session.clone()),
        }
    }
}

/// One line of a user's credit history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: String,
    pub user: UserId,
    pub delta: i64,
    pub reason: String,
    pub reference: Option<String>,
    pub balance_after: Credits,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn wallet(balance: u64, free: u64, debt: u64) -> Wallet {
        Wallet {
            balance: Credits(balance),
            free: Credits(free),
            debt: Credits(debt),
        }
    }

    #[test]
    fn a_debit_the_balance_cannot_cover_changes_nothing() {
        let err = settle(wallet(2, 2, 0), Movement::Debit(Credits::new(3)));
        assert_eq!(
            err,
            Err(Refused::Insufficient(InsufficientCredits {
                balance: Credits::new(2),
                needed: Credits::new(3)
            }))
        );
    }

    #[test]
    fn a_debit_spends_free_credits_first() {
        let s = settle(wallet(10, 3, 0), Movement::Debit(Credits::new(5))).expect("covered");
        assert_eq!(
            (s.delta, s.after, s.free_used),
            (-5, wallet(5, 0, 0), Credits(3))
        );
        let s = settle(wallet(10, 3, 0), Movement::Debit(Credits::new(2))).expect("covered");
        assert_eq!((s.after, s.free_used), (wallet(8, 1, 0), Credits(2)));
    }

    #[test]
    fn a_refund_gives_free_credits_back_as_free() {
        let back = Movement::Refund {
            credits: Credits(4),
            free: Credits(3),
        };
        let s = settle(wallet(1, 0, 0), back).expect("refunded");
        assert_eq!((s.delta, s.after), (4, wallet(5, 3, 0)));
    }

    #[test]
    fn a_grant_past_the_largest_balance_is_refused_not_saturated() {
        assert_eq!(
            settle(
                Wallet::paid(Credits::MAX),
                Movement::Purchase(Credits::new(1))
            ),
            Err(Refused::Overflow(CreditOverflow))
        );
        assert_eq!(
            settle(
                Wallet::default(),
                Movement::GrantFree(Credits::new(u64::MAX))
            ),
            Err(Refused::Overflow(CreditOverflow))
        );
        assert_eq!(Credits::new(3).times(4), Ok(Credits::new(12)));
        assert_eq!(Credits::new(u64::MAX / 2).times(3), Err(CreditOverflow));
    }

    #[test]
    fn a_claw_back_stops_at_zero_and_the_shortfall_becomes_debt() {
        let s =
            settle(wallet(20, 5, 0), Movement::ClawBack(Credits::new(50))).expect("never fails");
        assert_eq!(s.delta, -20);
        assert_eq!(s.after, wallet(0, 0, 30));
        assert_eq!(s.shortfall, Credits::new(30));
        let s =
            settle(wallet(20, 5, 0), Movement::ClawBack(Credits::new(10))).expect("never fails");
        assert_eq!(s.after, wallet(10, 5, 0), "purchased credits go first");
    }

    #[test]
    fn a_purchase_pays_the_debt_first() {
        let s = settle(wallet(0, 0, 30), Movement::Purchase(Credits::new(50))).expect("granted");
        assert_eq!(
            (s.delta, s.after, s.debt_paid),
            (20, wallet(20, 0, 0), Credits(30))
        );
        let s = settle(wallet(4, 1, 30), Movement::Purchase(Credits::new(10))).expect("granted");
        assert_eq!((s.delta, s.after), (0, wallet(4, 1, 20)));
        let s = settle(wallet(4, 1, 30), Movement::GrantFree(Credits::new(3))).expect("granted");
        assert_eq!(s.after, wallet(7, 4, 30), "free credits do not pay debt");
    }

    #[test]
    fn every_cause_has_its_own_effect_key() {
        let job = JobId::new();
        let purchase = |step| CreditCause::Purchase {
            checkout_session: "cs_1".into(),
            step,
            reason: crate::billing::Change::Paid,
        };
        let keys = [
            CreditCause::Signup.effect_key(),
            CreditCause::JobDebit(job).effect_key(),
            CreditCause::JobRefund(job).effect_key(),
            purchase(1).effect_key(),
            purchase(2).effect_key(),
        ];
        let unique: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
    }

    fn movement() -> impl Strategy<Value = Movement> {
        prop_oneof![
            (0u64..100).prop_map(|n| Movement::GrantFree(Credits::new(n))),
            (0u64..100).prop_map(|n| Movement::Purchase(Credits::new(n))),
            (0u64..100, 0u64..100).prop_map(|(n, f)| Movement::Refund {
                credits: Credits::new(n),
                free: Credits::new(f),
            }),
            (0u64..100).prop_map(|n| Movement::Debit(Credits::new(n))),
            (0u64..100).prop_map(|n| Movement::ClawBack(Credits::new(n))),
        ]
    }

    proptest! {
        #[test]
        fn settling_any_movements_keeps_the_wallet_whole(
            movements in proptest::collection::vec(movement(), 0..40),
        ) {
            let mut w = Wallet::default();
            let (mut sum, mut shortfalls, mut paid) = (0i128, 0i128, 0i128);
            for m in movements {
                match settle(w, m) {
                    Ok(s) => {
                        sum += i128::from(s.delta);
                        shortfalls += i128::from(s.shortfall.get());
                        paid += i128::from(s.debt_paid.get());
                        prop_assert_eq!(i128::from(s.after.balance.get()), sum);
                        prop_assert!(s.after.free <= s.after.balance);
                        prop_assert_eq!(i128::from(s.after.debt.get()), shortfalls - paid);
                        w = s.after;
                    }
                    Err(Refused::Insufficient(e)) => {
                        prop_assert!(matches!(m, Movement::Debit(n) if n > w.balance));
                        prop_assert_eq!(e.balance, w.balance);
                    }
                    Err(Refused::Overflow(_)) => prop_assert!(false, "small amounts never overflow"),
                }
            }
        }
    }
}
