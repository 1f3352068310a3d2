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

/// How a cause wants to move credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// Add credits (signup, purchase, refund of a job).
    Grant(Credits),
    /// Take credits only if the balance covers all of them (paying for a job).
    Debit(Credits),
    /// Take back up to this many credits, never below zero (a refunded payment whose credits
    /// may already be spent); the part that could not be taken is reported as `shortfall`.
    ClawBack(Credits),
}

/// The outcome of a movement on a given balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// Signed change of the balance, as written to the ledger.
    pub delta: i64,
    pub balance_after: Credits,
    /// Credits a claw-back could not take because the balance was too low.
    pub shortfall: Credits,
}

/// Why a movement cannot be applied to a balance. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Insufficient(#[from] InsufficientCredits),
    #[error(transparent)]
    Overflow(#[from] CreditOverflow),
}

/// Applies `movement` to `balance`. The only place that decides credit arithmetic; the store
/// makes it atomic. Every sum is checked: past [`Credits::MAX`] is refused.
pub fn settle(balance: Credits, movement: Movement) -> Result<Settlement, Refused> {
    match movement {
        Movement::Grant(n) => Ok(Settlement {
            delta: n.signed()?,
            balance_after: balance.checked_add(n)?,
            shortfall: Credits::ZERO,
        }),
        Movement::Debit(n) => match balance.checked_sub(n) {
            Some(after) => Ok(Settlement {
                delta: -n.signed()?,
                balance_after: after,
                shortfall: Credits::ZERO,
            }),
            None => Err(InsufficientCredits { balance, needed: n }.into()),
        },
        Movement::ClawBack(n) => {
            let taken = n.min(balance);
            Ok(Settlement {
                delta: -taken.signed()?,
                balance_after: Credits(balance.0 - taken.0),
                shortfall: Credits(n.0 - taken.0),
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
    /// A paid Stripe Checkout Session.
    Purchase { checkout_session: String },
    /// A Stripe refund of a purchase.
    PurchaseRefund { refund: String },
}

impl CreditCause {
    /// The key of the effect guard: equal for the same real-world event, distinct otherwise.
    pub fn effect_key(&self) -> String {
        match self {
            Self::Signup => "signup".to_owned(),
            Self::JobDebit(job) => format!("job-debit#{job}"),
            Self::JobRefund(job) => format!("job-refund#{job}"),
            Self::Purchase { checkout_session } => format!("purchase#{checkout_session}"),
            Self::PurchaseRefund { refund } => format!("purchase-refund#{refund}"),
        }
    }

    /// The ledger entry's `reason`, a stable snake_case word clients may show.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::JobDebit(_) => "generation",
            Self::JobRefund(_) => "generation_refund",
            Self::Purchase { .. } => "purchase",
            Self::PurchaseRefund { .. } => "purchase_refund",
        }
    }

    /// What the entry refers to (a job, a Checkout Session, a refund), if anything.
    pub fn reference(&self) -> Option<String> {
        match self {
            Self::Signup => None,
            Self::JobDebit(job) | Self::JobRefund(job) => Some(job.to_string()),
            Self::Purchase { checkout_session } => Some(checkout_session.clone()),
            Self::PurchaseRefund { refund } => Some(refund.clone()),
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

    #[test]
    fn a_debit_the_balance_cannot_cover_changes_nothing() {
        let err = settle(Credits::new(2), Movement::Debit(Credits::new(3)));
        assert_eq!(
            err,
            Err(Refused::Insufficient(InsufficientCredits {
                balance: Credits::new(2),
                needed: Credits::new(3)
            }))
        );
    }

    #[test]
    fn a_grant_past_the_largest_balance_is_refused_not_saturated() {
        let full = Credits::MAX;
        assert_eq!(
            settle(full, Movement::Grant(Credits::new(1))),
            Err(Refused::Overflow(CreditOverflow))
        );
        assert_eq!(
            settle(Credits::ZERO, Movement::Grant(Credits::new(u64::MAX))),
            Err(Refused::Overflow(CreditOverflow))
        );
        assert_eq!(Credits::new(3).times(4), Ok(Credits::new(12)));
        assert_eq!(Credits::new(u64::MAX / 2).times(3), Err(CreditOverflow));
    }

    #[test]
    fn a_debit_of_the_whole_balance_leaves_zero() {
        let s = settle(Credits::new(3), Movement::Debit(Credits::new(3))).expect("covered");
        assert_eq!((s.delta, s.balance_after), (-3, Credits::ZERO));
    }

    #[test]
    fn a_claw_back_stops_at_zero_and_reports_the_shortfall() {
        let s =
            settle(Credits::new(20), Movement::ClawBack(Credits::new(50))).expect("never fails");
        assert_eq!(s.delta, -20);
        assert_eq!(s.balance_after, Credits::ZERO);
        assert_eq!(s.shortfall, Credits::new(30));
    }

    #[test]
    fn every_cause_has_its_own_effect_key() {
        let job = JobId::new();
        let keys = [
            CreditCause::Signup.effect_key(),
            CreditCause::JobDebit(job).effect_key(),
            CreditCause::JobRefund(job).effect_key(),
            CreditCause::Purchase {
                checkout_session: "cs_1".into(),
            }
            .effect_key(),
            CreditCause::PurchaseRefund {
                refund: "cs_1".into(),
            }
            .effect_key(),
        ];
        let unique: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
    }

    fn movement() -> impl Strategy<Value = Movement> {
        prop_oneof![
            (0u64..100).prop_map(|n| Movement::Grant(Credits::new(n))),
            (0u64..100).prop_map(|n| Movement::Debit(Credits::new(n))),
            (0u64..100).prop_map(|n| Movement::ClawBack(Credits::new(n))),
        ]
    }

    proptest! {
        #[test]
        fn settling_any_movements_keeps_the_balance_equal_to_the_sum_of_deltas(
            start in 0u64..50,
            movements in proptest::collection::vec(movement(), 0..40),
        ) {
            let mut balance = Credits::new(start);
            let mut sum = i128::from(start);
            for m in movements {
                match settle(balance, m) {
                    Ok(s) => {
                        sum += i128::from(s.delta);
                        prop_assert_eq!(i128::from(s.balance_after.get()), sum);
                        balance = s.balance_after;
                    }
                    Err(Refused::Insufficient(e)) => {
                        prop_assert!(matches!(m, Movement::Debit(n) if n > balance));
                        prop_assert_eq!(e.balance, balance);
                    }
                    Err(Refused::Overflow(_)) => prop_assert!(false, "small amounts never overflow"),
                }
                prop_assert!(sum >= 0);
            }
        }
    }
}
