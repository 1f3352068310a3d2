//! Purchases: `USER#<id> / PURCHASE#<checkoutSessionId>`, and `PAYMENT#<paymentIntent>` naming
//! the purchase a payment paid for. Grants and claw-backs go through the ledger with the
//! purchase's own update in the same transaction.

use artforge_domain::{
    CreditCause, Credits, Fulfilment, LedgerOutcome, Movement, PackId, Page, PageRequest, Purchase,
    PurchaseStatus, StoreError, TakeBack, UserId, ports::Purchases,
};
use aws_sdk_dynamodb::{
    operation::update_item::builders::UpdateItemFluentBuilder,
    types::{Put, Update},
};

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::Conditional,
    keys,
    ledger::ApplyError,
    transaction::Transaction,
};

/// The items written with a purchase's credit movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The purchase item (conditioned when a refund takes credits back).
    Purchase,
    /// The payment's look-up item.
    Payment,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("purchase item: {what}"))
}

fn purchase_from_item(item: &Item) -> Result<Purchase, StoreError> {
    let user = attrs::owner(item).ok_or_else(|| corrupt("user"))?;
    let session = get_s(item, keys::SK)?
        .strip_prefix(keys::PURCHASE_PREFIX)
        .ok_or_else(|| corrupt("session"))?;
    Ok(Purchase {
        checkout_session: session.to_owned(),
        user,
        pack: PackId::parse(get_s(item, "pack")?).map_err(|_| corrupt("pack"))?,
        credits: Credits::new(get_n(item, "credits")?),
        amount: get_n(item, "amount")?,
        currency: get_s(item, "currency")?.to_owned(),
        status: attrs::get_set(item, "status")?,
        created_at: attrs::get_time(item, "createdAt")?,
        clawed_back: Credits::new(get_n(item, "clawedBack")?),
        shortfall: Credits::new(get_n(item, "shortfall")?),
    })
}

/// An update that writes `purchase` as it is given (creating the item if the webhook is the
/// first to see the session), keeping what refunds recorded.
fn upsert(store: &DynamoStore, purchase: &Purchase) -> UpdateItemFluentBuilder {
    store
        .update_at(purchase_key(purchase))
        .update_expression(
            "SET #status = :status, pack = :pack, credits = :credits, amount = :amount, currency = :currency, \
             createdAt = if_not_exists(createdAt, :now), clawedBack = if_not_exists(clawedBack, :zero), \
             shortfall = if_not_exists(shortfall, :zero)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", attrs::s(purchase.status.as_str()))
        .expression_attribute_values(":pack", attrs::s(purchase.pack.as_str()))
        .expression_attribute_values(":credits", attrs::n(purchase.credits.get()))
        .expression_attribute_values(":amount", attrs::n(purchase.amount))
        .expression_attribute_values(":currency", attrs::s(&purchase.currency))
        .expression_attribute_values(":now", attrs::timestamp(purchase.created_at))
        .expression_attribute_values(":zero", attrs::n(0))
}

fn purchase_key(purchase: &Purchase) -> Item {
    attrs::key(
        keys::user(purchase.user),
        keys::purchase(&purchase.checkout_session),
    )
}

impl Purchases for DynamoStore {
    async fn start(&self, purchase: &Purchase) -> Result<(), StoreError> {
        // The webhook may have got there first: then the purchase is already further along.
        upsert(self, purchase)
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

    async fn fulfil(
        &self,
        purchase: &Purchase,
        payment_intent: Option<&str>,
    ) -> Result<Fulfilment, StoreError> {
        let record = upsert(self, purchase).as_input().clone();
        let mut tx = Transaction::new();
        tx.update(
            Part::Purchase,
            Update::builder()
                .table_name(self.table())
                .set_key(record.get_key().clone())
                .set_update_expression(record.get_update_expression().clone())
                .set_expression_attribute_names(record.get_expression_attribute_names().clone())
                .set_expression_attribute_values(record.get_expression_attribute_values().clone())
                .build(),
        )?;
        if let Some(payment) = payment_intent {
            let mut index = attrs::key(keys::payment(payment), keys::PAYMENT_SK);
            index.insert("userId".into(), attrs::s(purchase.user.to_string()));
            index.insert(
                "checkoutSession".into(),
                attrs::s(&purchase.checkout_session),
            );
            tx.put_built(
                Part::Payment,
                Put::builder()
                    .table_name(self.table())
                    .set_item(Some(index))
                    .build(),
            )?;
        }
        let cause = CreditCause::Purchase {
            checkout_session: purchase.checkout_session.clone(),
        };
        match self
            .move_with(purchase.user, &cause, Movement::Grant(purchase.credits), tx)
            .await
            .map_err(ApplyError::into_store)?
        {
            LedgerOutcome::Applied { entry, .. } => Ok(Fulfilment::Granted {
                balance: entry.balance_after,
            }),
            LedgerOutcome::AlreadyApplied { .. } => Ok(Fulfilment::AlreadyGranted),
        }
    }

    async fn settle_pending(&self, purchase: &Purchase) -> Result<(), StoreError> {
        // Already further along: a late settlement changes nothing.
        upsert(self, purchase)
            .condition_expression("attribute_not_exists(pk) OR #status = :pending")
            .expression_attribute_values(":pending", attrs::s(PurchaseStatus::Pending.as_str()))
            .send()
            .await
            .refused()
            .map(drop)
    }

    async fn paid_with(&self, payment_intent: &str) -> Result<Option<Purchase>, StoreError> {
        let Some(index) = self
            .item(keys::payment(payment_intent), keys::PAYMENT_SK)
            .await?
        else {
            return Ok(None);
        };
        let user: UserId = get_s(&index, "userId")?
            .parse()
            .map_err(|_| corrupt("payment user"))?;
        let session = get_s(&index, "checkoutSession")?;
        let item = self
            .item(keys::user(user), keys::purchase(session))
            .await?
            .ok_or_else(|| corrupt("payment names a missing purchase"))?;
        purchase_from_item(&item).map(Some)
    }

    async fn take_back(
        &self,
        before: &Purchase,
        after: &Purchase,
        cause: &CreditCause,
        take: Credits,
    ) -> Result<TakeBack, StoreError> {
        let record = |settled: &artforge_domain::Settlement| {
            let mut tx = Transaction::new();
            tx.update(
                Part::Purchase,
                Update::builder()
                    .table_name(self.table())
                    .set_key(Some(purchase_key(before)))
                    .update_expression(
                        "SET clawedBack = :after, #status = :status ADD shortfall :shortfall",
                    )
                    .condition_expression("clawedBack = :before")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":after", attrs::n(after.clawed_back.get()))
                    .expression_attribute_values(":status", attrs::s(after.status.as_str()))
                    .expression_attribute_values(":shortfall", attrs::n(settled.shortfall.get()))
                    .expression_attribute_values(":before", attrs::n(before.clawed_back.get()))
                    .build(),
            )?;
            Ok(tx)
        };
        match self
            .apply_with(before.user, cause, Movement::ClawBack(take), record)
            .await
        {
            Ok(LedgerOutcome::Applied { entry, shortfall }) => Ok(TakeBack::Taken {
                taken: Credits::new(entry.delta.unsigned_abs()),
                shortfall,
            }),
            Ok(LedgerOutcome::AlreadyApplied { .. }) => Ok(TakeBack::AlreadyTaken),
            Err(ApplyError::Refused(_)) => Ok(TakeBack::Raced),
            Err(ApplyError::Store(e)) => Err(e),
        }
    }
}
