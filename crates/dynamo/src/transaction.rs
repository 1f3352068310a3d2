//! `TransactWriteItems` with labelled items. A cancelled transaction is decoded once, here, into
//! the labels of the items whose condition failed, so a caller says "the idempotency record was
//! refused" rather than "item 2 was refused".

use artforge_domain::StoreError;
use aws_sdk_dynamodb::{
    Client,
    error::BuildError,
    operation::transact_write_items::TransactWriteItemsError,
    types::{CancellationReason, Put, TransactWriteItem, Update},
};

use crate::{
    attrs::Item,
    error::{malformed, unavailable},
};

/// The items of one transaction, each with the caller's label.
#[derive(Debug, Clone)]
pub struct Transaction<L> {
    items: Vec<(L, TransactWriteItem)>,
}

/// Why a transaction wrote nothing.
#[derive(Debug)]
pub enum Refusal<L> {
    /// These items' conditions failed, in the transaction's order (never empty).
    Conditions(Vec<L>),
    /// No condition failed: another request wrote the same items at the same moment, or
    /// DynamoDB refused for a reason worth retrying.
    Conflict,
    Store(StoreError),
}

impl<L: PartialEq> Refusal<L> {
    /// Whether `label`'s condition failed.
    pub fn refused(&self, label: &L) -> bool {
        matches!(self, Self::Conditions(labels) if labels.contains(label))
    }
}

impl<L> Default for Transaction<L> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

impl<L: Clone> Transaction<L> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, label: L, item: TransactWriteItem) {
        self.items.push((label, item));
    }

    /// A put of `item`, with `condition` if any.
    pub fn put(
        &mut self,
        label: L,
        table: &str,
        item: Item,
        condition: Option<&str>,
    ) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build();
        self.put_built(label, put)
    }

    /// A put, as built by the caller (a condition with values of its own).
    pub fn put_built(&mut self, label: L, put: Result<Put, BuildError>) -> Result<(), StoreError> {
        self.built(
            label,
            put.map(|p| TransactWriteItem::builder().put(p).build()),
        )
    }

    /// An update, as built by the caller.
    pub fn update(
        &mut self,
        label: L,
        update: Result<Update, BuildError>,
    ) -> Result<(), StoreError> {
        self.built(
            label,
            update.map(|u| TransactWriteItem::builder().update(u).build()),
        )
    }

    fn built(
        &mut self,
        label: L,
        item: Result<TransactWriteItem, BuildError>,
    ) -> Result<(), StoreError> {
        self.push(label, item.map_err(malformed)?);
        Ok(())
    }

    /// Appends `other`'s items, relabelled.
    pub fn extend<M>(&mut self, other: Transaction<M>, relabel: impl Fn(M) -> L) {
        self.items.extend(
            other
                .items
                .into_iter()
                .map(|(label, item)| (relabel(label), item)),
        );
    }

    /// Writes every item or none.
    pub async fn commit(&self, client: &Client) -> Result<(), Refusal<L>> {
        let items = self.items.iter().map(|(_, item)| item.clone()).collect();
        let result = client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    Err(self.decode(cancelled.cancellation_reasons()))
                }
                _ => Err(Refusal::Store(unavailable(err))),
            },
        }
    }

    /// The one decoder of cancellation reasons: one per item, in order.
    fn decode(&self, reasons: &[CancellationReason]) -> Refusal<L> {
        let refused: Vec<L> = self
            .items
            .iter()
            .zip(reasons)
            .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
            .map(|((label, _), _)| label.clone())
            .collect();
        if refused.is_empty() {
            Refusal::Conflict
        } else {
            Refusal::Conditions(refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    fn three() -> Transaction<&'static str> {
        let mut tx = Transaction::new();
        for label in ["balance", "guard", "job"] {
            tx.put(label, "t", Item::new(), None).expect("builds");
        }
        tx
    }

    #[test]
    fn the_refused_items_are_named_by_their_labels_in_order() {
        let refusal = three().decode(&[
            reason("None"),
            reason("ConditionalCheckFailed"),
            reason("ConditionalCheckFailed"),
        ]);
        assert!(matches!(&refusal, Refusal::Conditions(l) if l == &["guard", "job"]));
        assert!(refusal.refused(&"job"));
        assert!(!refusal.refused(&"balance"));
    }

    #[test]
    fn a_cancellation_without_a_failed_condition_is_a_conflict() {
        let refusal = three().decode(&[
            reason("TransactionConflict"),
            reason("None"),
            reason("None"),
        ]);
        assert!(matches!(refusal, Refusal::Conflict));
    }
}
