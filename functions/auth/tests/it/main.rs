//! The auth function end to end: the router built by its one wiring (`Auth::build`) over a
//! fresh table in moto. The rules themselves are tested on fakes beside the use cases.

mod api;
mod common;
mod concurrency;
mod costs;
mod events;
mod leaving;
mod logs;
mod sessions;
