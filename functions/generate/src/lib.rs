//! The generation functions. The API ([`Api`]) prices a request against the model catalogue,
//! debits it with the job in one transaction and queues it; the worker ([`Worker`]) claims the
//! job, calls the image provider, makes the renditions, stores them and finishes the job with
//! any refund in one transaction; the sweeper ([`JobSweeper`]), on a schedule, sends a stuck
//! queued job again once and fails and refunds the jobs no worker will finish.
//!
//! Three layers: `routes` and [`worker`] parse and answer, [`usecases`] decide, the adapters
//! (`artforge-dynamo`, `artforge-sqs`, `artforge-s3`, `artforge-openai`) store and call.
//! [`Api::build`], [`Worker::build`] and [`JobSweeper::build`] are the one wiring of each,
//! used by `main.rs`, `bin/generate-worker.rs`, `bin/generate-sweeper.rs`, the local server and
//! the tests.

mod app;
pub mod config;
pub mod requests;
mod routes;
pub mod sweeper;
pub mod usecases;
mod views;
pub mod worker;

pub use app::{Api, openapi};
pub use config::{Config, SweeperConfig, WorkerConfig};
pub use sweeper::JobSweeper;
pub use worker::Worker;

/// A failure to start: configuration or AWS environment missing or invalid.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
