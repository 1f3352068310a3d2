//! What buying credits takes, decided over the accounts, the purchases and the payment
//! provider (DESIGN §5): open a checkout for a pack, and apply what Stripe reports.
//!
//! Credits are granted only for a paid Checkout Session, once per session whatever the order,
//! repetition or concurrency of Stripe's deliveries; a refund takes back its share of the
//! purchase once per refunded total, never below zero (what was spent already is recorded as
//! the purchase's shortfall). An authentic event this function cannot use is ignored on
//! purpose, with the reason, so Stripe stops sending it; only a failing store is worth a retry.

use std::sync::Arc;

use artforge_domain::{
    Accounts, CheckoutPage, CreditCause, Credits, Fulfilment, PackId, Packs, PaymentError,
    Payments, Purchase, PurchaseStatus, Purchases, StoreError, TakeBack, UserId, refund_share,
};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::events::{Charge, Envelope, Session};

/// Attempts at taking back a refund when two refunds of one purchase race.
const TAKE_BACK_ATTEMPTS: usize = 5;

/// Why a checkout was not opened.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutRefusal {
    #[error("no such pack")]
    UnknownPack,
    #[error("the account no longer exists")]
    NoAccount,
    #[error("the payment provider is unavailable")]
    Payments(#[from] PaymentError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an authentic event changed nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Ignored {
    /// Its object is not what its type says.
    Malformed(String),
    /// Not one of ours: no user or pack, an unknown payment, a type not handled.
    NotOurs(&'static str),
    /// Paid, but not what the pack costs: no credits (an operator must look).
    Mismatch { expected: String, got: String },
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "its object is malformed: {e}"),
            Self::NotOurs(why) => f.write_str(why),
            Self::Mismatch { expected, got } => write!(f, "expected {expected}, got {got}"),
        }
    }
}

/// What applying an authentic event did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// It changed what it should (or had already): how, in a word for the log.
    Done(&'static str),
    Ignored(Ignored),
}

/// The billing use cases.
#[derive(Debug, Clone)]
pub struct Billing<S, P> {
    pub store: S,
    pub payments: P,
    pub packs: Arc<Packs>,
}

impl<S: Accounts + Purchases, P: Payments> Billing<S, P> {
    /// Opens a Stripe Checkout page for `pack` and records the pending purchase. Credits come
    /// only from Stripe's report that it was paid.
    pub async fn checkout(
        &self,
        user: UserId,
        pack: &str,
        now: OffsetDateTime,
    ) -> Result<CheckoutPage, CheckoutRefusal> {
        let pack_id = PackId::parse(pack).map_err(|_| CheckoutRefusal::UnknownPack)?;
        let pack = self
            .packs
            .get(&pack_id)
            .ok_or(CheckoutRefusal::UnknownPack)?;
        let user = self
            .store
            .get(user)
            .await?
            .ok_or(CheckoutRefusal::NoAccount)?;
        let page = self.payments.checkout(&user, pack).await?;
        self.store
            .start(&Purchase {
                checkout_session: page.session_id.clone(),
                user: user.id,
                pack: pack.id.clone(),
                credits: pack.credits,
                amount: pack.amount,
                currency: pack.currency.clone(),
                status: PurchaseStatus::Pending,
                created_at: now,
                clawed_back: Credits::ZERO,
                shortfall: Credits::ZERO,
            })
            .await?;
        info!(session = %page.session_id, pack = %pack.id, "checkout opened");
        Ok(page)
    }

    /// Applies one authentic event. `Err`: the store failed, worth Stripe's retry.
    pub async fn apply(
        &self,
        event: &Envelope,
        now: OffsetDateTime,
    ) -> Result<Applied, StoreError> {
        let applied = match event.kind.as_str() {
            "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
                match object::<Session>(event) {
                    Ok(session) => self.session_settled(&session, now).await?,
                    Err(ignored) => Applied::Ignored(ignored),
                }
            }
            "checkout.session.async_payment_failed" => match object::<Session>(event) {
                Ok(session) => match self.purchase_of(&session, false, now) {
                    Ok(purchase) => {
                        let failed = Purchase {
                            status: PurchaseStatus::Failed,
                            ..purchase
                        };
                        // Only a pending purchase can fail; a paid one stays paid.
                        self.store.settle_pending(&failed).await?;
                        Applied::Done("marked failed")
                    }
                    Err(ignored) => Applied::Ignored(ignored),
                },
                Err(ignored) => Applied::Ignored(ignored),
            },
            "charge.refunded" => match object::<Charge>(event) {
                Ok(charge) => self.refunded(&charge).await?,
                Err(ignored) => Applied::Ignored(ignored),
            },
            _ => Applied::Ignored(Ignored::NotOurs(
                "an event type this function does not handle",
            )),
        };
        Ok(applied)
    }

    /// A completed session: paid, its credits once; not paid yet (an asynchronous payment
    /// method), a pending purchase until Stripe reports the outcome.
    async fn session_settled(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<Applied, StoreError> {
        let paid = session.payment_status.as_deref() == Some("paid");
        if !paid {
            return Ok(match self.purchase_of(session, false, now) {
                Ok(purchase) => {
                    self.store.start(&purchase).await?;
                    Applied::Done("awaiting payment")
                }
                Err(ignored) => Applied::Ignored(ignored),
            });
        }
        let purchase = match self.purchase_of(session, true, now) {
            Ok(purchase) => Purchase {
                status: PurchaseStatus::Paid,
                ..purchase
            },
            Err(ignored) => return Ok(Applied::Ignored(ignored)),
        };
        let payment = session.payment_intent.as_ref().map(|p| p.id());
        Ok(match self.store.fulfil(&purchase, payment).await {
            Ok(Fulfilment::Granted { balance }) => {
                info!(user_id = %purchase.user, session = %purchase.checkout_session, credits = purchase.credits.get(), balance = balance.get(), "credits granted");
                Applied::Done("granted")
            }
            Ok(Fulfilment::AlreadyGranted) => Applied::Done("already granted"),
            Err(StoreError::NotFound) => Applied::Ignored(Ignored::NotOurs("no such user")),
            Err(e) => return Err(e),
        })
    }

    /// A refund: its share of the purchase's credits, as far as not taken back already.
    async fn refunded(&self, charge: &Charge) -> Result<Applied, StoreError> {
        let Some(payment) = charge.payment_intent.as_ref() else {
            return Ok(Applied::Ignored(Ignored::NotOurs(
                "a charge without a payment intent",
            )));
        };
        // Each distinct refunded total is one cause: repeats take nothing more.
        let cause = CreditCause::PurchaseRefund {
            refund: format!("{}@{}", charge.id, charge.amount_refunded),
        };
        for _ in 0..TAKE_BACK_ATTEMPTS {
            let Some(purchase) = self.store.paid_with(payment.id()).await? else {
                return Ok(Applied::Ignored(Ignored::NotOurs(
                    "a payment of no purchase",
                )));
            };
            let share = refund_share(purchase.credits, purchase.amount, charge.amount_refunded);
            let Some(take) = share
                .checked_sub(purchase.clawed_back)
                .filter(|t| *t > Credits::ZERO)
            else {
                return Ok(Applied::Done("nothing to take back"));
            };
            let after = Purchase {
                status: PurchaseStatus::Refunded,
                clawed_back: share,
                ..purchase.clone()
            };
            match self
                .store
                .take_back(&purchase, &after, &cause, take)
                .await?
            {
                TakeBack::Taken { taken, shortfall } => {
                    if shortfall > Credits::ZERO {
                        warn!(charge = %charge.id, taken = taken.get(), shortfall = shortfall.get(), "refund exceeded the unspent credits; the shortfall is recorded on the purchase");
                    } else {
                        info!(charge = %charge.id, taken = taken.get(), "credits taken back");
                    }
                    return Ok(Applied::Done("clawed back"));
                }
                TakeBack::AlreadyTaken => return Ok(Applied::Done("nothing to take back")),
                // Another refund of this purchase moved first: recompute from its result.
                TakeBack::Raced => {}
            }
        }
        Err(StoreError::Contention)
    }

    /// The purchase a Checkout Session is for, from its metadata, checked against its pack
    /// when it was paid.
    fn purchase_of(
        &self,
        session: &Session,
        check_amount: bool,
        now: OffsetDateTime,
    ) -> Result<Purchase, Ignored> {
        let user: UserId = session
            .metadata("userId")
            .or(session.client_reference_id.as_deref())
            .and_then(|u| u.parse().ok())
            .ok_or(Ignored::NotOurs("no user in the session"))?;
        let pack_id = session
            .metadata("packId")
            .and_then(|p| PackId::parse(p).ok())
            .ok_or(Ignored::NotOurs("no pack in the session"))?;
        let pack = self
            .packs
            .get(&pack_id)
            .ok_or(Ignored::NotOurs("unknown pack"))?;
        let currency = session.currency.clone().unwrap_or_default().to_lowercase();
        if check_amount && (session.amount_total != Some(pack.amount) || currency != pack.currency)
        {
            return Err(Ignored::Mismatch {
                expected: format!("{} {}", pack.amount, pack.currency),
                got: format!("{:?} {currency}", session.amount_total),
            });
        }
        Ok(Purchase {
            checkout_session: session.id.clone(),
            user,
            pack: pack_id,
            credits: pack.credits,
            amount: pack.amount,
            currency: pack.currency.clone(),
            status: PurchaseStatus::Pending,
            created_at: now,
            clawed_back: Credits::ZERO,
            shortfall: Credits::ZERO,
        })
    }
}

fn object<T: serde::de::DeserializeOwned>(event: &Envelope) -> Result<T, Ignored> {
    serde_json::from_value(event.data.object.clone()).map_err(|e| Ignored::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests;
