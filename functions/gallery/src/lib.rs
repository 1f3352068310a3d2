//! The gallery function: a user's image history with filters, one image, tags and visibility,
//! likes, downloads, the public feed and share pages, and delete.
//!
//! Three layers: `routes` parse and answer, [`usecases`] decide, `artforge-dynamo` and
//! `artforge-s3` store. [`App::build`] is the one wiring, used by `main.rs`, the local server
//! and the tests.

mod app;
pub mod archives;
pub mod backfill;
pub mod config;
pub mod requests;
mod routes;
pub mod share;
pub mod usecases;
mod views;
pub mod worker;

pub use app::{App, openapi};
pub use config::{BackfillConfig, Config, WorkerConfig};
pub use worker::AccountWorker;

/// A failure to start: configuration or AWS environment missing or invalid.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
