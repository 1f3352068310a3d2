//! The gallery end to end: the router built by the gallery's one wiring (`gallery::App::build`)
//! over the real DynamoDB and S3 adapters, with moto underneath (and, for faults, a proxy in
//! front of it). The rules themselves are tested on fakes beside the use cases
//! (`src/usecases.rs`).

mod api;
mod archives;
mod backfill;
mod common;
mod concurrency;
mod events;
mod faults;
mod lineage;
mod paging;
mod rss;
mod search;
mod share;
