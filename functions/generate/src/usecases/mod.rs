//! What a user or the queue asks of the generation functions, each decided here over the ports
//! it needs, with no HTTP or AWS in sight:
//!
//! - [`submit`]: price a request, debit it with the job once (per idempotency key), queue it,
//!   and refund it at once if it cannot be queued;
//! - [`run`]: claim a queued job, have the provider make its images, make and store their
//!   renditions, and finish the job with the refund of what was not delivered;
//! - [`previews`]: store and list the partial images the provider streams while a job runs;
//! - [`fail`]: fail a job that will never finish (a dead letter, an unqueued job), with a full
//!   refund, once;
//! - [`models`]: on the sweeper's schedule, read the provider's model shutdown dates, record
//!   them and count the configured models to switch; refuse submissions for a retired one;
//! - [`sweep`]: on a schedule, send a stuck queued job to the queue again once, then fail and
//!   refund it; fail and refund a running job whose worker is gone.
//!
//! The statuses a job takes, what it costs and gives back, and the words its owner reads are
//! chosen here; the store only writes them atomically.

pub mod fail;
pub mod inputs;
pub mod models;
pub mod previews;
pub mod run;
pub mod submit;
pub mod sweep;
pub mod uploads;

#[cfg(test)]
mod edit_tests;
#[cfg(test)]
mod fixture;
#[cfg(test)]
mod previews_tests;
#[cfg(test)]
mod studio_tests;
#[cfg(test)]
mod sweep_tests;
#[cfg(test)]
mod tests;
