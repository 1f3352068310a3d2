//! Purchases: `USER#<id> / PURCHASE#<checkoutSessionId>`, and `PAYMENT#<paymentIntent>` naming
//! the purchase a payment paid for. Grants and claw-backs go through the ledger with the
//! purchase's own update in the same transaction.

use artforge_domain::{
    ClawBack, CreditCause, Credits, Fulfilment, LedgerOutcome, Movement, PackId, Page, PageRequest,
    Purchase, PurchaseStatus, StoreError, UserId, ports::Purchases, refund_share,
};
use aws_sdk_dynamodb::{
    operation::update_item::UpdateItemError,
    types::{Put, TransactWriteItem, Update},
};

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::unavailable,
    keys,
    ledger::ApplyError,
};

/// Attempts at a claw-back when two refunds of one purchase race.
const CLAW_BACK_ATTEMPTS: usize = 5;

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
        status: PurchaseStatus::parse(get_s(item, "status")?).ok_or_else(|| corrupt("status"))?,
        created_at: attrs::get_time(item, "createdAt")?,
        clawed_back: Credits::new(get_n(item, "clawedBack")?),
        shortfall: Credits::new(get_n(item, "shortfall")?),
    })
}

/// An update that writes `purchase`'s description (creating the item if the webhook is the
/// first to see the session) and sets `status`.
fn upsert(
    store: &DynamoStore,
    purchase: &Purchase,
    status: PurchaseStatus,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(attrs::key(keys::user(purchase.user), keys::purchase(&purchase.checkout_session))))
        .update_expression(
            "SET #status = :status, pack = :pack, credits = :credits, amount = :amount, currency = :currency, \
             createdAt = if_not_exists(createdAt, :now), clawedBack = if_not_exists(clawedBack, :zero), \
             shortfall = if_not_exists(shortfall, :zero)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":status", attrs::s(status.as_str()))
        .expression_attribute_values(":pack", attrs::s(purchase.pack.as_str()))
        .expression_attribute_values(":credits", attrs::n(purchase.credits.get()))
        .expression_attribute_values(":amount", attrs::n(purchase.amount))
        .expression_attribute_values(":currency", attrs::s(&purchase.currency))
        .expression_attribute_values(":now", attrs::timestamp(purchase.created_at))
        .expression_attribute_values(":zero", attrs::n(0))
}

/// A conditional write whose condition failing means "nothing to do".
fn unless_condition_failed<T>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<UpdateItemError>>,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(unavailable(err)),
    }
}

impl DynamoStore {
    /// One item, read consistently.
    pub(crate) async fn item(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }
}

impl Purchases for DynamoStore {
    async fn start(&self, purchase: &Purchase) -> Result<(), StoreError> {
        // The webhook may have got there first: then the purchase is already further along.
        let result = upsert(self, purchase, PurchaseStatus::Pending)
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        unless_condition_failed(result)
    }

    async fn purchases(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Purchase>, StoreError> {
        // A user has few purchases: read them all, order by time, and page in memory.
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", attrs::s(keys::user(user)))
                .expression_attribute_values(":prefix", attrs::s(keys::PURCHASE_PREFIX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                all.push(purchase_from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => break,
            }
        }
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
        let record = upsert(self, purchase, PurchaseStatus::Paid)
            .as_input()
            .clone();
        let update = Update::builder()
            .table_name(self.table())
            .set_key(record.get_key().clone())
            .set_update_expression(record.get_update_expression().clone())
            .set_expression_attribute_names(record.get_expression_attribute_names().clone())
            .set_expression_attribute_values(record.get_expression_attribute_values().clone())
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut extra = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(payment) = payment_intent {
            let mut index = attrs::key(keys::payment(payment), keys::PAYMENT_SK);
            index.insert("userId".into(), attrs::s(purchase.user.to_string()));
            index.insert(
                "checkoutSession".into(),
                attrs::s(&purchase.checkout_session),
            );
            let put = Put::builder()
                .table_name(self.table())
                .set_item(Some(index))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            extra.push(TransactWriteItem::builder().put(put).build());
        }
        let cause = CreditCause::Purchase {
            checkout_session: purchase.checkout_session.clone(),
        };
        match self
            .apply_with(
                purchase.user,
                &cause,
                Movement::Grant(purchase.credits),
                |_| extra.clone(),
            )
            .await?
        {
            LedgerOutcome::Applied { entry, .. } => Ok(Fulfilment::Granted {
                balance: entry.balance_after,
            }),
            LedgerOutcome::AlreadyApplied { .. } => Ok(Fulfilment::AlreadyGranted),
        }
    }

    async fn fail(&self, purchase: &Purchase) -> Result<(), StoreError> {
        // Already paid (or failed): a late failure changes nothing.
        let result = upsert(self, purchase, PurchaseStatus::Failed)
            .condition_expression("attribute_not_exists(pk) OR #status = :pending")
            .expression_attribute_values(":pending", attrs::s(PurchaseStatus::Pending.as_str()))
            .send()
            .await;
        unless_condition_failed(result)
    }

    async fn claw_back(
        &self,
        payment_intent: &str,
        charge: &str,
        refunded_total: u64,
    ) -> Result<ClawBack, StoreError> {
        let Some(index) = self
            .item(keys::payment(payment_intent), keys::PAYMENT_SK.to_owned())
            .await?
        else {
            return Ok(ClawBack::UnknownPayment);
        };
        let user: UserId = get_s(&index, "userId")?
            .parse()
            .map_err(|_| corrupt("payment user"))?;
        let session = get_s(&index, "checkoutSession")?.to_owned();
        let cause = CreditCause::PurchaseRefund {
            refund: format!("{charge}@{refunded_total}"),
        };
        for _ in 0..CLAW_BACK_ATTEMPTS {
            let item = self
                .item(keys::user(user), keys::purchase(&session))
                .await?
                .ok_or_else(|| corrupt("payment names a missing purchase"))?;
            let purchase = purchase_from_item(&item)?;
            let target = refund_share(purchase.credits, purchase.amount, refunded_total);
            let take = Credits::new(target.get().saturating_sub(purchase.clawed_back.get()));
            if take == Credits::ZERO {
                return Ok(ClawBack::Nothing);
            }
            let key = attrs::key(keys::user(user), keys::purchase(&session));
            let record = |settled: &artforge_domain::Settlement| {
                Update::builder()
                    .table_name(self.table())
                    .set_key(Some(key.clone()))
                    .update_expression(
                        "SET clawedBack = :target, #status = :refunded ADD shortfall :shortfall",
                    )
                    .condition_expression("clawedBack = :before")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":target", attrs::n(target.get()))
                    .expression_attribute_values(
                        ":refunded",
                        attrs::s(PurchaseStatus::Refunded.as_str()),
                    )
                    .expression_attribute_values(":shortfall", attrs::n(settled.shortfall.get()))
                    .expression_attribute_values(":before", attrs::n(purchase.clawed_back.get()))
                    .build()
                    .map(|u| vec![TransactWriteItem::builder().update(u).build()])
                    .unwrap_or_default()
            };
            match self
                .apply_with(user, &cause, Movement::ClawBack(take), record)
                .await
            {
                Ok(LedgerOutcome::Applied { entry, shortfall }) => {
                    return Ok(ClawBack::Taken {
                        taken: Credits::new(entry.delta.unsigned_abs()),
                        shortfall,
                    });
                }
                Ok(LedgerOutcome::AlreadyApplied { .. }) => return Ok(ClawBack::Nothing),
                // Another refund of this purchase moved first: recompute from its result.
                Err(ApplyError::ExtraRejected(_)) => {}
                Err(ApplyError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }
}
