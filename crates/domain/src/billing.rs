//! Credit packs and purchases: what a pack costs and grants, and how much of a purchase a
//! refund takes back.

use std::fmt;

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
    /// Where a purchase is: started, paid (and granted), failed, or refunded in part or whole.
    pub enum PurchaseStatus: "status" {
        /// Checkout started; nothing paid yet.
        Pending => "pending",
        /// Paid and granted.
        Paid => "paid",
        /// The payment failed (e.g. an asynchronous method was declined).
        Failed => "failed",
        /// Paid, then refunded in part or whole.
        Refunded => "refunded",
    }
}

/// One Checkout Session of a user, from its start to its refunds.
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
    /// Credits taken back by refunds so far.
    pub clawed_back: Credits,
    /// Credits refunds could not take back because they were already spent.
    pub shortfall: Credits,
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
