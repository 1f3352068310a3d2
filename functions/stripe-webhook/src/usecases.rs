//! What buying credits takes, decided over the accounts, the purchases and the payment
//! provider (DESIGN §5): open a checkout for a pack, apply what Stripe reports, and look up a
//! purchase (asking Stripe about a pending one, so a lost webhook never leaves a paid user
//! waiting).
//!
//! Everything Stripe reports about a payment (paid, refunded so far, disputed, dispute closed)
//! is folded into one [`Payment`] record, whatever the order or repetition of the events; the
//! purchase's credits then follow what the payment is worth now ([`Payment::worth`]): a refund
//! or dispute before the grant is netted in the grant, a later one takes back the difference
//! (never below zero: the shortfall becomes the user's debt, which later purchases pay first),
//! a won dispute gives it back. Each change is one store step at the payment's next version,
//! with its credit movement, so concurrent and repeated deliveries move credits once.
//!
//! An authentic event this function cannot use is ignored on purpose, with the reason, so
//! Stripe stops sending it; only a failing store is worth a retry.

use std::sync::Arc;

use artforge_domain::{
    Accounts, Change, CheckoutPage, CreditCause, Credits, Movement, PackId, Packs, PaidFor,
    Payment, PaymentError, Payments, Purchase, PurchaseSettlement, PurchaseStatus, Purchases,
    Report, Settled, StoreError, UserId, billing::DisputeStatus,
};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::events::{Charge, Dispute, Envelope, Session};

/// Attempts at settling a report when other reports of the same payment race it.
const SETTLE_ATTEMPTS: usize = 8;

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

/// Why a purchase could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum LookupRefusal {
    /// No such purchase of the caller's.
    #[error("no such purchase")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A purchase as looked up, and whether Stripe could be asked about it when pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub purchase: Purchase,
    /// `false` when the purchase is pending and Stripe could not be reached.
    pub checked: bool,
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
    /// Whether the configured Stripe key is a live one (`None`: unknown, e.g. the local
    /// stand-in's key): events of the other mode are acknowledged and ignored.
    pub livemode: Option<bool>,
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
                credited: Credits::ZERO,
                shortfall: Credits::ZERO,
            })
            .await?;
        info!(session = %page.session_id, pack = %pack.id, "checkout opened");
        Ok(page)
    }

    /// The caller's purchase of `checkout_session`. A pending one is checked with Stripe
    /// first: paid there, it is granted now, through the same once-only step as the webhook.
    pub async fn purchase(
        &self,
        user: UserId,
        checkout_session: &str,
        now: OffsetDateTime,
    ) -> Result<Lookup, LookupRefusal> {
        let purchase = self
            .store
            .purchase(user, checkout_session)
            .await?
            .ok_or(LookupRefusal::NotFound)?;
        if purchase.status != PurchaseStatus::Pending {
            return Ok(Lookup {
                purchase,
                checked: true,
            });
        }
        let state = match self.payments.session(checkout_session).await {
            Ok(state) => state,
            Err(e) => {
                warn!(error = %e, session = checkout_session, "Stripe could not be asked about a pending purchase");
                return Ok(Lookup {
                    purchase,
                    checked: false,
                });
            }
        };
        let Some(state) = state.filter(|s| s.paid) else {
            return Ok(Lookup {
                purchase,
                checked: true,
            });
        };
        let ours = state.user.as_deref() == Some(user.to_string().as_str())
            && state.amount_total == Some(purchase.amount)
            && state.currency.as_deref().map(str::to_lowercase).as_deref()
                == Some(purchase.currency.as_str());
        if !ours {
            warn!(
                session = checkout_session,
                "a paid session does not match its purchase: no credits granted"
            );
            return Ok(Lookup {
                purchase,
                checked: true,
            });
        }
        let paid = PaidFor {
            user,
            checkout_session: purchase.checkout_session.clone(),
            pack: purchase.pack.clone(),
            credits: purchase.credits,
            amount: purchase.amount,
            currency: purchase.currency.clone(),
        };
        let payment = state.payment_intent.as_deref().unwrap_or(checkout_session);
        self.report(payment, Report::Paid(paid), now).await?;
        let purchase = self
            .store
            .purchase(user, checkout_session)
            .await?
            .ok_or(LookupRefusal::NotFound)?;
        Ok(Lookup {
            purchase,
            checked: true,
        })
    }

    /// Applies one authentic event. `Err`: the store failed, worth Stripe's retry.
    pub async fn apply(
        &self,
        event: &Envelope,
        now: OffsetDateTime,
    ) -> Result<Applied, StoreError> {
        if let (Some(ours), Some(theirs)) = (self.livemode, event.livemode)
            && ours != theirs
        {
            return Ok(Applied::Ignored(Ignored::NotOurs(
                "an event of the other mode (live or test) than the configured key",
            )));
        }
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
                Ok(Charge {
                    payment_intent: Some(payment),
                    amount_refunded,
                    ..
                }) => {
                    let report = Report::Refunded {
                        total: amount_refunded,
                    };
                    self.report(payment.id(), report, now).await?
                }
                Ok(_) => Applied::Ignored(Ignored::NotOurs("a charge without a payment intent")),
                Err(ignored) => Applied::Ignored(ignored),
            },
            kind @ ("charge.dispute.created" | "charge.dispute.closed") => {
                match object::<Dispute>(event) {
                    Ok(dispute) => self.disputed(kind, dispute, now).await?,
                    Err(ignored) => Applied::Ignored(ignored),
                }
            }
            _ => Applied::Ignored(Ignored::NotOurs(
                "an event type this function does not handle",
            )),
        };
        Ok(applied)
    }

    /// A completed session: paid, its purchase's credits (net of any refund or dispute
    /// reported before); not paid yet (an asynchronous payment method), a pending purchase
    /// until Stripe reports the outcome.
    async fn session_settled(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<Applied, StoreError> {
        let paid = session.payment_status.as_deref() == Some("paid");
        let purchase = match self.purchase_of(session, paid, now) {
            Ok(purchase) => purchase,
            Err(ignored) => return Ok(Applied::Ignored(ignored)),
        };
        if !paid {
            self.store.start(&purchase).await?;
            return Ok(Applied::Done("awaiting payment"));
        }
        let report = Report::Paid(PaidFor {
            user: purchase.user,
            checkout_session: purchase.checkout_session,
            pack: purchase.pack,
            credits: purchase.credits,
            amount: purchase.amount,
            currency: purchase.currency,
        });
        // A session paid without a payment intent (nothing to refund or dispute) is its own
        // payment.
        let payment = session
            .payment_intent
            .as_ref()
            .map_or(session.id.as_str(), |p| p.id());
        self.report(payment, report, now).await
    }

    /// A dispute opened or closed; a closing that is neither won nor lost (an inquiry
    /// closed with a warning) leaves the money where it was: won.
    async fn disputed(
        &self,
        kind: &str,
        dispute: Dispute,
        now: OffsetDateTime,
    ) -> Result<Applied, StoreError> {
        let Some(payment) = dispute.payment_intent.as_ref() else {
            return Ok(Applied::Ignored(Ignored::NotOurs(
                "a dispute without a payment intent",
            )));
        };
        let report = if kind == "charge.dispute.created" {
            Report::Disputed {
                dispute: dispute.id,
                amount: dispute.amount,
            }
        } else {
            Report::DisputeClosed {
                won: dispute.status != "lost",
                dispute: dispute.id,
                amount: dispute.amount,
            }
        };
        self.report(payment.id(), report, now).await
    }

    /// Folds `report` into what is known of `payment_id` and moves the purchase's credits to
    /// what the payment is worth now, in one store step; a racing report makes it read again.
    pub(crate) async fn report(
        &self,
        payment_id: &str,
        report: Report,
        now: OffsetDateTime,
    ) -> Result<Applied, StoreError> {
        for _ in 0..SETTLE_ATTEMPTS {
            let payment = self
                .store
                .payment(payment_id)
                .await?
                .unwrap_or_else(|| Payment::new(payment_id));
            let Some((next, change)) = payment.with(&report) else {
                return Ok(Applied::Done("already known"));
            };
            let settlement = next
                .paid_for
                .as_ref()
                .map(|paid| settlement(&payment, &next, paid, change, now));
            match self.store.settle(&next, settlement.as_ref()).await {
                Ok(Settled::Written { shortfall }) => {
                    let moved = settlement.as_ref().and_then(|s| s.movement.as_ref());
                    if let Some((_, movement)) = moved {
                        match movement {
                            Movement::Purchase(n) => {
                                artforge_metrics::payment_settled("purchase", n.get())
                            }
                            Movement::ClawBack(n) => {
                                artforge_metrics::payment_settled("claw_back", n.get())
                            }
                            _ => {}
                        }
                    }
                    match (moved, next.paid_for.as_ref()) {
                        (Some((_, movement)), Some(paid)) => {
                            if shortfall > Credits::ZERO {
                                warn!(user_id = %paid.user, payment = payment_id, %change, ?movement, shortfall = shortfall.get(), "credits taken back exceeded the unspent credits; the shortfall is the user's debt");
                            } else {
                                info!(user_id = %paid.user, payment = payment_id, %change, ?movement, "credits moved");
                            }
                        }
                        (None, None) => {
                            info!(payment = payment_id, %change, "remembered until the payment's purchase is known");
                        }
                        _ => info!(payment = payment_id, %change, "recorded; no credits moved"),
                    }
                    return Ok(Applied::Done(change.as_str()));
                }
                Ok(Settled::Raced) => {}
                Err(StoreError::NotFound) => {
                    return Ok(Applied::Ignored(Ignored::NotOurs("no such user")));
                }
                Err(e) => return Err(e),
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
            credited: Credits::ZERO,
            shortfall: Credits::ZERO,
        })
    }
}

/// The purchase `paid` as it stands once `next` is known, and the credits that moves: the
/// difference between what the payment is worth now and what it was worth before.
fn settlement(
    before: &Payment,
    next: &Payment,
    paid: &PaidFor,
    change: Change,
    now: OffsetDateTime,
) -> PurchaseSettlement {
    let (was, is) = (before.worth(), next.worth());
    let movement = if is > was {
        is.checked_sub(was).map(Movement::Purchase)
    } else {
        was.checked_sub(is)
            .filter(|n| *n > Credits::ZERO)
            .map(Movement::ClawBack)
    };
    let status = if next
        .disputes
        .values()
        .any(|d| d.status != DisputeStatus::Won)
    {
        PurchaseStatus::Disputed
    } else if next.refunded > 0 {
        PurchaseStatus::Refunded
    } else {
        PurchaseStatus::Paid
    };
    PurchaseSettlement {
        purchase: Purchase {
            checkout_session: paid.checkout_session.clone(),
            user: paid.user,
            pack: paid.pack.clone(),
            credits: paid.credits,
            amount: paid.amount,
            currency: paid.currency.clone(),
            status,
            created_at: now,
            credited: is,
            shortfall: Credits::ZERO,
        },
        movement: movement.map(|m| {
            let cause = CreditCause::Purchase {
                checkout_session: paid.checkout_session.clone(),
                step: next.version,
                reason: change,
            };
            (cause, m)
        }),
    }
}

fn object<T: serde::de::DeserializeOwned>(event: &Envelope) -> Result<T, Ignored> {
    serde_json::from_value(event.data.object.clone()).map_err(|e| Ignored::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests;
