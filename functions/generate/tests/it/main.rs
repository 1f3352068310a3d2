//! The generation API and worker end to end, over moto and the OpenAI stand-in: every part is
//! the production code built by its one wiring; only AWS and OpenAI are stood in for. The
//! rules themselves are tested on fakes beside the use cases (`src/usecases/tests.rs`).

mod api;
mod common;
mod edits;
mod events;
mod faults;
mod studio;
mod sweeper;
mod worker;
