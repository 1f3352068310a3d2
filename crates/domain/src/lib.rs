//! Artforge's domain: the types that are valid by construction, the rules that decide how
//! credits move, and the port traits that adapters implement. Nothing here performs I/O or
//! knows about AWS or HTTP.

pub mod account;
pub mod credits;
pub mod ids;
pub mod ports;
pub mod throttle;
pub mod validation;

pub use account::{DisplayName, Email, Password, PasswordHash, User};
pub use credits::{
    CreditCause, Credits, InsufficientCredits, LedgerEntry, Movement, Settlement, settle,
};
pub use ids::{JobId, UserId};
pub use ports::{
    Accounts, Ledger, LedgerOutcome, LoginThrottle, NewAccount, Page, PageRequest, Sessions,
    StoreError,
};
pub use throttle::{FailureWindow, ThrottlePolicy};
pub use validation::FieldError;
