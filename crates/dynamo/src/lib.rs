//! DynamoDB adapter: one single-table store that implements the domain's ports.
//!
//! - [`schema`]: the table's shape, shared by `template.yaml` (held equal by a test), the local
//!   stack and the tests.
//! - [`ledger`]: the credit ledger mechanism; every change of a balance is one transaction of
//!   balance update, effect guard and ledger entry.
//! - `error`, `transaction`: the one path from SDK failures to the domain's errors, and
//!   transactions whose refused items are named, not numbered.
//! - `reads`, `rounds`: reading items by key, in pages, in batches, and filtered pages;
//!   `batch`: writing in batches.
//! - One module per port: `accounts`, `sessions`, `throttle` (login attempts), `rate` (rate
//!   windows), `images` (with the image item in `image_item` and the feed's search index in
//!   `search`), `likes`, `jobs` (with the daily
//!   `limits`), `purchases`, and `stuck` (the sweeper's index of unfinished jobs).

mod accounts;
mod archives;
mod attrs;
mod batch;
pub mod erasure;
mod error;
mod image_item;
mod images;
mod inputs;
mod jobs;
mod keys;
pub mod ledger;
mod likes;
mod limits;
mod models;
mod output_item;
mod purchases;
mod rate;
mod reads;
mod rounds;
pub mod schema;
mod search;
mod sessions;
mod stuck;
mod throttle;
pub mod transaction;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;

/// The application's DynamoDB table. Cheap to clone; build one at init and share it.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// An update of the item at `key`, for the caller to describe.
    pub(crate) fn update_at(
        &self,
        key: attrs::Item,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key))
    }
}
