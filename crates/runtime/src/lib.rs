//! What every function does before its first request, the same way in Lambda, in the local
//! server and in tests:
//!
//! - [`config`]: configuration read once from the environment ([`Env`]), over defaults where a
//!   caller gives them (the local server's), with errors that name the variable;
//! - [`logging`]: the log output Lambda's logging configuration asks for.

pub mod config;
pub mod logging;

pub use config::{ConfigError, Env};
