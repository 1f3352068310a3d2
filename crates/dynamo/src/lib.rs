//! DynamoDB adapter: one single-table store that implements the domain's ports.
//!
//! - [`schema`]: the table's shape, shared by `template.yaml` (held equal by a test), the local
//!   stack and the tests.
//! - [`ledger`]: the credit ledger mechanism; every change of a balance is one transaction of
//!   balance update, effect guard and ledger entry.
//! - `accounts`, `sessions`, `throttle`: the other auth ports.

mod accounts;
mod attrs;
mod batch;
mod error;
mod images;
mod jobs;
mod keys;
pub mod ledger;
mod limits;
mod paging;
mod purchases;
pub mod schema;
mod sessions;
mod throttle;

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
}
