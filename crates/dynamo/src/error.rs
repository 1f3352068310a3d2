//! Turning SDK failures into the domain's `StoreError`, keeping the SDK error as the source.

use artforge_domain::StoreError;
use aws_sdk_dynamodb::{error::SdkError, types::CancellationReason};

pub fn unavailable<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(Box::new(err))
}

/// Why each item of a cancelled transaction failed, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    ConditionFailed,
    Conflict,
    Fine,
    Other,
}

pub fn cancellation_reasons(reasons: &[CancellationReason]) -> Vec<Cancelled> {
    reasons
        .iter()
        .map(|r| match r.code() {
            Some("ConditionalCheckFailed") => Cancelled::ConditionFailed,
            Some("TransactionConflict") => Cancelled::Conflict,
            None | Some("None") => Cancelled::Fine,
            Some(_) => Cancelled::Other,
        })
        .collect()
}
