//! The auth function: registration, login and logout, the profile, password changes and the
//! credit ledger of the signed-in user.
//!
//! Three layers: `routes` parse and answer, [`usecases`] decide, `artforge-dynamo` stores.
//! [`Auth::build`] is the one wiring, used by `main.rs`, the local server and the tests.

mod app;
pub mod config;
pub mod leaving;
pub mod password;
pub mod requests;
mod routes;
pub mod usecases;
mod views;

pub use app::{Auth, openapi};
pub use config::Config;

/// A failure to start: configuration or AWS environment missing or invalid.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
