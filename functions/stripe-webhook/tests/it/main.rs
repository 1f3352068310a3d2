//! The billing function end to end: the router built by its one wiring (`App::build`) over a
//! fresh table in moto, with the local Stripe stand-in where Stripe's API is needed. The rules
//! themselves are tested on fakes beside the use cases (`src/usecases/tests.rs`).

mod checkout;
mod common;
mod events;
mod faults;
mod stripe_api;
mod webhook;
