//! The OpenAI adapter against the local stand-in.

mod provider;
mod streaming;
