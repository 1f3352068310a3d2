//! Credit packs and purchases: what a pack costs and grants, and what a purchase is worth once
//! Stripe has reported its payment's refunds and disputes, in whatever order they arrived.

use std::{collections::BTreeMap, fmt};

use time::OffsetDateTime;

use crate::{Credits, FieldError, UserId, sets::closed_set};

/// A pack's id as configured and as clients send it: 1 to 32 of `a-z`, `0-9`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackId(String);

impl PackId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new("pack", "is not a pack id"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A credit pack: `credits` for `amount` minor units of `currency` (as Stripe counts them),
/// sold through the Stripe Price `price_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    pub id: PackId,
    pub credits: Credits,
    pub amount: u64,
    /// ISO 4217, lower-case, as Stripe writes it.
    pub currency: String,
    pub price_id: String,
}

/// The configured packs, in the order they are offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packs(Vec<Pack>);

impl Packs {
    /// `id:credits:amount:currency:price_id`, comma-separated, e.g.
    /// `starter:50:1000:usd:price_123` (50 credits for $10.00).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut packs: Vec<Pack> = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
            let [id, credits, amount, currency, price_id] = parts[..] else {
                return Err(format!(
                    "{entry}: expected id:credits:amount:currency:price_id"
                ));
            };
            let id = PackId::parse(id).map_err(|e| format!("{entry}: {e}"))?;
            let credits: u64 = credits
                .parse()
                .map_err(|_| format!("{entry}: credits is not a number"))?;
            let amount: u64 = amount
                .parse()
                .map_err(|_| format!("{entry}: amount is not a number"))?;
            if credits == 0 || amount == 0 {
                return Err(format!("{entry}: credits and amount must be positive"));
            }
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(format!("{entry}: currency is three lower-case letters"));
            }
            if price_id.is_empty() {
                return Err(format!("{entry}: price id is empty"));
            }
            if packs.iter().any(|p| p.id == id) {
                return Err(format!("{entry}: pack id {id} appears twice"));
            }
            packs.push(Pack {
                id,
                credits: Credits::new(credits),
                amount,
                currency: currency.to_owned(),
                price_id: price_id.to_owned(),
            });
        }
        if packs.is_empty() {
            return Err("no pack configured".into());
        }
        Ok(Self(packs))
    }

    pub fn get(&self, id: &PackId) -> Option<&Pack> {
        self.0.iter().find(|p| &p.id == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Pack> {
        self.0.iter()
    }
}

closed_set! {
    /// Where a purchase is: started, paid (and granted), failed, refunded in part or whole, or
    /// disputed.
    pub enum PurchaseStatus: "status" {
        /// Checkout started; nothing paid yet.
        Pending => "pending",
        /// Paid and granted.
        Paid => "paid",
        /// The payment failed (e.g. an asynchronous method was declined).
        Failed => "failed",
        /// Paid, then refunded in part or whole.
        Refunded => "refunded",
        /// Paid, then disputed: a dispute is open or was lost.
        Disputed => "disputed",
    }
}

/// One Checkout Session of a user, from its start to its refunds and disputes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub checkout_session: String,
    pub user: UserId,
    pub pack: PackId,
    pub credits: Credits,
    pub amount: u64,
    pub currency: String,
    pub status: PurchaseStatus,
    pub created_at: OffsetDateTime,
    /// The credits the purchase has given, net of what its refunds and disputes took back.
    pub credited: Credits,
    /// Credits its refunds and disputes could not take back, being spent already: the user's
    /// debt, which later purchases pay first.
    pub shortfall: Credits,
}

impl Purchase {
    /// The credits taken back from what the purchase granted.
    pub fn taken_back(&self) -> Credits {
        match self.status {
            PurchaseStatus::Pending | PurchaseStatus::Failed => Credits::ZERO,
            PurchaseStatus::Paid | PurchaseStatus::Refunded | PurchaseStatus::Disputed => self
                .credits
                .checked_sub(self.credited)
                .unwrap_or(Credits::ZERO),
        }
    }
}

/// The credits a refund of `refunded` minor units takes back from a purchase of `credits` for
/// `paid`, rounded to the nearest credit (halves up), never more than `credits`.
pub fn refund_share(credits: Credits, paid: u64, refunded: u64) -> Credits {
    if paid == 0 {
        return Credits::ZERO;
    }
    let refunded = u128::from(refunded.min(paid));
    let share =
        (u128::from(credits.get()) * refunded * 2 + u128::from(paid)) / (2 * u128::from(paid));
    Credits::new(u64::try_from(share).unwrap_or(u64::MAX).min(credits.get()))
}

closed_set! {
    /// Where a dispute of a payment stands.
    pub enum DisputeStatus: "status" {
        /// Opened: the disputed money is held back from us.
        Open => "open",
        /// Closed in our favour: the money is ours again.
        Won => "won",
        /// Closed against us: the money is gone for good.
        Lost => "lost",
    }
}

/// One dispute of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispute {
    /// The disputed amount, in minor units.
    pub amount: u64,
    pub status: DisputeStatus,
}

closed_set! {
    /// What a report changed about a payment: the ledger entry's reason when credits move.
    pub enum Change: "change" {
        Paid => "paid",
        Refunded => "refunded",
        Disputed => "disputed",
        DisputeWon => "dispute_won",
        DisputeLost => "dispute_lost",
    }
}

impl Change {
    /// The ledger entry's reason for credits this change moved.
    pub fn ledger_reason(self) -> &'static str {
        match self {
            Self::Paid => "purchase",
            Self::Refunded => "purchase_refund",
            Self::Disputed | Self::DisputeLost => "purchase_dispute",
            Self::DisputeWon => "purchase_dispute_won",
        }
    }
}

/// The purchase a payment paid for, as its Checkout Session reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidFor {
    pub user: UserId,
    pub checkout_session: String,
    pub pack: PackId,
    pub credits: Credits,
    /// What was paid, in minor units.
    pub amount: u64,
    pub currency: String,
}

/// One fact Stripe reports about a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The Checkout Session was paid, for this purchase.
    Paid(PaidFor),
    /// The payment's refunds so far add up to `total` minor units.
    Refunded { total: u64 },
    /// A dispute of `amount` was opened.
    Disputed { dispute: String, amount: u64 },
    /// A dispute was closed, won or lost.
    DisputeClosed {
        dispute: String,
        amount: u64,
        won: bool,
    },
}

/// What Stripe has reported about one payment (a payment intent), whatever the order and
/// however often: the purchase it paid for once the Checkout Session said so, the largest
/// refunded total, the disputes. A refund or a dispute that arrives before the payment's
/// grant is kept here, so the grant lands net of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payment {
    pub id: String,
    pub paid_for: Option<PaidFor>,
    pub refunded: u64,
    pub disputes: BTreeMap<String, Dispute>,
    /// How many reports changed it: the store's optimistic version, and each settlement's
    /// step.
    pub version: u64,
}

impl Payment {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            ..Self::default()
        }
    }

    /// The payment with `report` applied, and what it changed; `None` when it changes nothing
    /// (a repeat, or news older than what is known: a smaller refunded total, a dispute already
    /// closed).
    pub fn with(&self, report: &Report) -> Option<(Self, Change)> {
        let mut next = self.clone();
        let change = match report {
            Report::Paid(paid) => {
                if self.paid_for.is_some() {
                    return None;
                }
                next.paid_for = Some(paid.clone());
                Change::Paid
            }
            Report::Refunded { total } => {
                if *total <= self.refunded {
                    return None;
                }
                next.refunded = *total;
                Change::Refunded
            }
            Report::Disputed { dispute, amount } => {
                if self.disputes.contains_key(dispute) {
                    return None;
                }
                next.disputes.insert(
                    dispute.clone(),
                    Dispute {
                        amount: *amount,
                        status: DisputeStatus::Open,
                    },
                );
                Change::Disputed
            }
            Report::DisputeClosed {
                dispute,
                amount,
                won,
            } => {
                let closed = if *won {
                    DisputeStatus::Won
                } else {
                    DisputeStatus::Lost
                };
                match self.disputes.get(dispute) {
                    Some(d) if d.status != DisputeStatus::Open => return None,
                    _ => {}
                }
                next.disputes.insert(
                    dispute.clone(),
                    Dispute {
                        amount: *amount,
                        status: closed,
                    },
                );
                if *won {
                    Change::DisputeWon
                } else {
                    Change::DisputeLost
                }
            }
        };
        next.version = self.version + 1;
        Some((next, change))
    }

    /// Minor units of the payment that stay ours: what was paid, less refunds and disputes
    /// not won. Zero until the payment is known to have paid for a purchase.
    pub fn kept(&self) -> u64 {
        let Some(paid) = &self.paid_for else {
            return 0;
        };
        let held: u64 = self
            .disputes
            .values()
            .filter(|d| d.status != DisputeStatus::Won)
            .map(|d| d.amount)
            .sum();
        paid.amount
            .saturating_sub(self.refunded)
            .saturating_sub(held)
    }

    /// The credits the purchase is worth now: its share of what stays ours.
    pub fn worth(&self) -> Credits {
        match &self.paid_for {
            None => Credits::ZERO,
            Some(paid) => {
                let lost = paid.amount - self.kept().min(paid.amount);
                paid.credits
                    .checked_sub(refund_share(paid.credits, paid.amount, lost))
                    .unwrap_or(Credits::ZERO)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_parse_from_configuration_and_reject_what_is_malformed() {
        let packs =
            Packs::parse("starter:50:1000:usd:price_1, pro:300:3000:usd:price_2").expect("valid");
        let starter = packs
            .get(&PackId::parse("starter").expect("id"))
            .expect("configured");
        assert_eq!(
            (starter.credits, starter.amount, starter.currency.as_str()),
            (Credits::new(50), 1000, "usd")
        );
        for bad in [
            "",
            "a:1:1:usd",
            "A:1:1:usd:p",
            "a:0:1:usd:p",
            "a:1:1:USD:p",
            "a:1:1:usd:",
            "a:1:1:usd:p,a:2:2:usd:q",
            "a:x:1:usd:p",
        ] {
            assert!(Packs::parse(bad).is_err(), "{bad:?}");
        }
    }

    fn paid() -> PaidFor {
        PaidFor {
            user: UserId::new(),
            checkout_session: "cs_1".into(),
            pack: PackId::parse("starter").expect("an id"),
            credits: Credits::new(50),
            amount: 1000,
            currency: "usd".into(),
        }
    }

    fn opened(id: &str, amount: u64) -> Report {
        Report::Disputed {
            dispute: id.into(),
            amount,
        }
    }

    fn closed(id: &str, amount: u64, won: bool) -> Report {
        Report::DisputeClosed {
            dispute: id.into(),
            amount,
            won,
        }
    }

    /// Applies `reports` in order, skipping those that change nothing.
    fn after(reports: &[Report]) -> Payment {
        reports
            .iter()
            .fold(Payment::new("pi_1"), |payment, report| {
                payment.with(report).map_or(payment, |(next, _)| next)
            })
    }

    #[test]
    fn a_purchase_is_worth_its_credits_less_its_refunds_and_disputes_not_won() {
        let refund = |total| Report::Refunded { total };
        assert_eq!(after(&[Report::Paid(paid())]).worth(), Credits::new(50));
        assert_eq!(after(&[refund(300)]).worth(), Credits::ZERO, "not paid yet");
        assert_eq!(
            after(&[refund(300), Report::Paid(paid())]).worth(),
            Credits::new(35),
            "a refund before the grant is netted"
        );
        assert_eq!(
            after(&[Report::Paid(paid()), refund(1000)]).worth(),
            Credits::ZERO
        );
        assert_eq!(
            after(&[Report::Paid(paid()), opened("dp_1", 1000)]).worth(),
            Credits::ZERO
        );
        assert_eq!(
            after(&[
                Report::Paid(paid()),
                opened("dp_1", 1000),
                closed("dp_1", 1000, true)
            ])
            .worth(),
            Credits::new(50),
            "won: given back"
        );
        assert_eq!(
            after(&[
                closed("dp_1", 1000, false),
                opened("dp_1", 1000),
                Report::Paid(paid())
            ])
            .worth(),
            Credits::ZERO,
            "lost before it was seen opened: a later open changes nothing"
        );
        assert_eq!(
            after(&[Report::Paid(paid()), refund(300), opened("dp_1", 700)]).worth(),
            Credits::ZERO
        );
    }

    #[test]
    fn repeats_and_older_news_change_nothing() {
        let payment = after(&[Report::Paid(paid()), Report::Refunded { total: 500 }]);
        assert_eq!(payment.with(&Report::Paid(paid())), None);
        assert_eq!(payment.with(&Report::Refunded { total: 500 }), None);
        assert_eq!(payment.with(&Report::Refunded { total: 300 }), None);
        let disputed = after(&[opened("dp_1", 1000), closed("dp_1", 1000, true)]);
        assert_eq!(disputed.with(&opened("dp_1", 1000)), None);
        assert_eq!(disputed.with(&closed("dp_1", 1000, false)), None);
        let (next, change) = payment
            .with(&Report::Refunded { total: 600 })
            .expect("a larger total");
        assert_eq!((next.version, change), (3, Change::Refunded));
    }

    #[test]
    fn a_refund_takes_back_its_share_of_the_credits() {
        let credits = Credits::new(50);
        assert_eq!(refund_share(credits, 1000, 1000), Credits::new(50));
        assert_eq!(refund_share(credits, 1000, 300), Credits::new(15));
        assert_eq!(
            refund_share(credits, 1000, 10),
            Credits::new(1),
            "0.5 rounds up"
        );
        assert_eq!(refund_share(credits, 1000, 9), Credits::ZERO);
        assert_eq!(
            refund_share(credits, 1000, 5000),
            Credits::new(50),
            "never more than granted"
        );
        assert_eq!(refund_share(credits, 0, 10), Credits::ZERO);
    }
}
