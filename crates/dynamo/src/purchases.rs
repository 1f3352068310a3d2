//! Purchases and payments. A purchase is `USER#<id> / PURCHASE#<checkoutSessionId>`; what
//! Stripe reported about the payment that paid for it is `PAYMENT#<paymentIntent> / PAYMENT`,
//! written at increasing versions (each write conditioned on the version it was computed
//! from), together with the purchase and its credit movement in one transaction.

use std::collections::BTreeMap;

use artforge_domain::{
    Credits, Dispute, LedgerOutcome, PackId, Page, PageRequest, PaidFor, Payment, Purchase,
    PurchaseStatus, StoreError, UserId,
    ports::{PurchaseSettlement, Purchases, Settled},
};
use aws_sdk_dynamodb::{
    operation::update_item::builders::UpdateItemFluentBuilder,
    types::{AttributeValue, Put, Update},
};

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::Conditional,
    keys,
    ledger::ApplyError,
    transaction::{Refusal, Transaction},
};

/// The items a settlement writes besides its credit movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The payment, conditioned on the version it was computed from.
    Payment,
    /// The purchase it paid for.
    Purchase,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("purchase item: {what}"))
}

fn purchase_from_item(item: &Item) -> Result<Purchase, StoreError> {
    let user = attrs::owner(item).ok_or_else(|| corrupt("user"))?;
    let session = get_s(item, keys::SK)?
        .strip_prefix(keys::PURCHASE_PREFIX)
        .ok_or_else(|| corrupt("session"))?;
    let credits = Credits::new(get_n(item, "credits")?);
    let status: PurchaseStatus = attrs::get_set(item, "status")?;
    let credited = match attrs::get_opt_n(item, "credited")? {
        Some(n) => Credits::new(n),
        // Items written before `credited`: what was granted less what refunds took back.
        None if matches!(status, PurchaseStatus::Pending | PurchaseStatus::Failed) => Credits::ZERO,
        None => credits
            .checked_sub(Credits::new(
                attrs::get_opt_n(item, "clawedBack")?.unwrap_or(0),
            ))
            .unwrap_or(Credits::ZERO),
    };
    Ok(Purchase {
        checkout_session: session.to_owned(),
        user,
        pack: PackId::parse(get_s(item, "pack")?).map_err(|_| corrupt("pack"))?,
        credits,
        amount: get_n(item, "amount")?,
        currency: get_s(item, "currency")?.to_owned(),
        status,
        created_at: attrs::get_time(item, "createdAt")?,
        credited,
        shortfall: Credits::new(attrs::get_opt_n(item, "shortfall")?.unwrap_or(0)),
    })
}

/// An update that writes `purchase` as it is given (creating the item if the webhook is the
/// first to see the session), adding `shortfall` to what it recorded.
fn upsert(store: &DynamoStore, purchase: &Purchase, shortfall: Credits) -> UpdateItemFluentBuilder {
    store
        .update_at(purchase_key(purchase))
        .update_expression(
            "SET #status = :status, pack = :pack, credits = :credits, amount = :amount, \
             currency = :currency, credited = :credited, createdAt = if_not_exists(createdAt, :now) \
             ADD shortfall :shortfall",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", attrs::s(purchase.status.as_str()))
        .expression_attribute_values(":pack", attrs::s(purchase.pack.as_str()))
        .expression_attribute_values(":credits", attrs::n(purchase.credits.get()))
        .expression_attribute_values(":amount", attrs::n(purchase.amount))
        .expression_attribute_values(":currency", attrs::s(&purchase.currency))
        .expression_attribute_values(":credited", attrs::n(purchase.credited.get()))
        .expression_attribute_values(":now", attrs::timestamp(purchase.created_at))
        .expression_attribute_values(":shortfall", attrs::n(shortfall.get()))
}

/// The same update as a transaction item.
fn upsert_item(
    store: &DynamoStore,
    purchase: &Purchase,
    shortfall: Credits,
) -> Result<Update, aws_sdk_dynamodb::error::BuildError> {
    let input = upsert(store, purchase, shortfall).as_input().clone();
    Update::builder()
        .table_name(store.table())
        .set_key(input.get_key().clone())
        .set_update_expression(input.get_update_expression().clone())
        .set_expression_attribute_names(input.get_expression_attribute_names().clone())
        .set_expression_attribute_values(input.get_expression_attribute_values().clone())
        .build()
}

fn purchase_key(purchase: &Purchase) -> Item {
    attrs::key(
        keys::user(purchase.user),
        keys::purchase(&purchase.checkout_session),
    )
}

fn payment_item(payment: &Payment) -> Item {
    let mut item = attrs::key(keys::payment(&payment.id), keys::PAYMENT_SK);
    item.insert("version".into(), attrs::n(payment.version));
    item.insert("refunded".into(), attrs::n(payment.refunded));
    let disputes = payment
        .disputes
        .iter()
        .map(|(id, d)| {
            let fields = [
                ("amount".to_owned(), attrs::n(d.amount)),
                ("status".to_owned(), attrs::s(d.status.as_str())),
            ];
            (id.clone(), AttributeValue::M(fields.into_iter().collect()))
        })
        .collect();
    item.insert("disputes".into(), AttributeValue::M(disputes));
    if let Some(paid) = &payment.paid_for {
        item.insert("userId".into(), attrs::s(paid.user.to_string()));
        item.insert("checkoutSession".into(), attrs::s(&paid.checkout_session));
        item.insert("pack".into(), attrs::s(paid.pack.as_str()));
        item.insert("credits".into(), attrs::n(paid.credits.get()));
        item.insert("amount".into(), attrs::n(paid.amount));
        item.insert("currency".into(), attrs::s(&paid.currency));
    }
    item
}

fn payment_from_item(id: &str, item: &Item) -> Result<Payment, StoreError> {
    let bad = |what: &str| StoreError::Corrupt(format!("payment item: {what}"));
    let paid_for = match attrs::get_opt_s(item, "checkoutSession")? {
        None => None,
        Some(session) => Some(PaidFor {
            user: get_s(item, "userId")?.parse().map_err(|_| bad("user"))?,
            checkout_session: session.to_owned(),
            pack: PackId::parse(get_s(item, "pack")?).map_err(|_| bad("pack"))?,
            credits: Credits::new(get_n(item, "credits")?),
            amount: get_n(item, "amount")?,
            currency: get_s(item, "currency")?.to_owned(),
        }),
    };
    let mut disputes = BTreeMap::new();
    if let Some(value) = item.get("disputes") {
        let map = value.as_m().map_err(|_| bad("disputes"))?;
        for (dispute, fields) in map {
            let fields = fields.as_m().map_err(|_| bad("dispute"))?;
            disputes.insert(
                dispute.clone(),
                Dispute {
                    amount: get_n(fields, "amount")?,
                    status: attrs::get_set(fields, "status")?,
                },
            );
        }
    }
    Ok(Payment {
        id: id.to_owned(),
        paid_for,
        refunded: attrs::get_opt_n(item, "refunded")?.unwrap_or(0),
        disputes,
        version: attrs::get_opt_n(item, "version")?.unwrap_or(0),
    })
}

/// The payment's put, only over the version it was computed from.
fn payment_put(
    store: &DynamoStore,
    payment: &Payment,
) -> Result<Put, aws_sdk_dynamodb::error::BuildError> {
    let put = Put::builder()
        .table_name(store.table())
        .set_item(Some(payment_item(payment)));
    let before = payment.version.saturating_sub(1);
    if before == 0 {
        put.condition_expression("attribute_not_exists(pk) OR attribute_not_exists(version)")
            .build()
    } else {
        put.condition_expression("version = :before")
            .expression_attribute_values(":before", attrs::n(before))
            .build()
    }
}
impl Purchases for DynamoStore {
    async fn start(&self, purchase: &Purchase) -> Result<(), StoreError> {
        // The webhook may have got there first: then the purchase is already further along.
        upsert(self, purchase, Credits::ZERO)
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .refused()
            .map(drop)
    }

    async fn purchases(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Purchase>, StoreError> {
        // A user has few purchases: read them all, order by time, and page in memory.
        let mut all = self
            .all_of(user, keys::PURCHASE_PREFIX, |query| query)
            .await?
            .iter()
            .map(purchase_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.checkout_session.cmp(&a.checkout_session))
        });
        let skip = match &page.after {
            Some(after) => all
                .iter()
                .position(|p| &p.checkout_session == after)
                .map(|i| i + 1)
                .ok_or(StoreError::BadPosition)?,
            None => 0,
        };
        let limit = usize::from(page.limit);
        let rest: Vec<Purchase> = all.into_iter().skip(skip).collect();
        let next = (rest.len() > limit).then(|| rest[limit - 1].checkout_session.clone());
        Ok(Page {
            items: rest.into_iter().take(limit).collect(),
            next,
        })
    }

    async fn purchase(
        &self,
        user: UserId,
        checkout_session: &str,
    ) -> Result<Option<Purchase>, StoreError> {
        self.item(keys::user(user), keys::purchase(checkout_session))
            .await?
            .map(|item| purchase_from_item(&item))
            .transpose()
    }

    async fn settle_pending(&self, purchase: &Purchase) -> Result<(), StoreError> {
        // Already further along: a late settlement changes nothing.
        upsert(self, purchase, Credits::ZERO)
            .condition_expression("attribute_not_exists(pk) OR #status = :pending")
            .expression_attribute_values(":pending", attrs::s(PurchaseStatus::Pending.as_str()))
            .send()
            .await
            .refused()
            .map(drop)
    }

    async fn payment(&self, id: &str) -> Result<Option<Payment>, StoreError> {
        self.item(keys::payment(id), keys::PAYMENT_SK)
            .await?
            .map(|item| payment_from_item(id, &item))
            .transpose()
    }

    async fn settle(
        &self,
        payment: &Payment,
        purchase: Option<&PurchaseSettlement>,
    ) -> Result<Settled, StoreError> {
        let items = |shortfall: Credits| -> Result<Transaction<Part>, StoreError> {
            let mut tx = Transaction::new();
            tx.put_built(Part::Payment, payment_put(self, payment))?;
            if let Some(settlement) = purchase {
                tx.update(
                    Part::Purchase,
                    upsert_item(self, &settlement.purchase, shortfall),
                )?;
            }
            Ok(tx)
        };
        match purchase.and_then(|p| p.movement.as_ref().map(|m| (p, m))) {
            None => match items(Credits::ZERO)?.commit(self.client()).await {
                Ok(()) => Ok(Settled::Written {
                    shortfall: Credits::ZERO,
                }),
                Err(refusal) if refusal.refused(&Part::Payment) => Ok(Settled::Raced),
                Err(Refusal::Conditions(_) | Refusal::Conflict) => Err(StoreError::Contention),
                Err(Refusal::Store(e)) => Err(e),
            },
            Some((settlement, (cause, movement))) => {
                match self
                    .apply_with(settlement.purchase.user, cause, *movement, |settled| {
                        items(settled.shortfall)
                    })
                    .await
                {
                    Ok(LedgerOutcome::Applied { shortfall, .. }) => {
                        Ok(Settled::Written { shortfall })
                    }
                    // This step's movement was written with the payment's version: the payment
                    // is past the version it was computed from.
                    Ok(LedgerOutcome::AlreadyApplied { .. }) | Err(ApplyError::Refused(_)) => {
                        Ok(Settled::Raced)
                    }
                    Err(ApplyError::Store(e)) => Err(e),
                }
            }
        }
    }
}
