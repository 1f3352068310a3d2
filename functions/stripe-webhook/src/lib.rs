//! The billing function: credit packs, Stripe Checkout, purchase history and the Stripe
//! webhook that grants and takes back credits through the ledger.
//!
//! Three layers: `routes` parse and answer (the webhook verifies Stripe's signature first),
//! [`usecases`] decide, `artforge-dynamo` and [`checkout`] (Stripe's API) store and call.
//! [`App::build`] is the one wiring, used by `main.rs`, the local server and the tests.

mod app;
pub mod checkout;
pub mod config;
mod events;
pub mod requests;
mod routes;
pub mod usecases;

pub use artforge_stripe_signature as signature;
pub use routes::WEBHOOK_MAX_BODY_BYTES;

pub use app::{App, openapi};
pub use config::Config;

/// A failure to start: configuration or AWS environment missing or invalid.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
