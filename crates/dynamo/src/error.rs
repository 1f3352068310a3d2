//! The one path from an SDK failure to the domain's [`StoreError`]: every call's error goes
//! through [`unavailable`], [`Conditional::refused`] (a single-item write whose condition may
//! fail) or [`crate::transaction::Transaction::commit`] (a transaction's cancellation, decoded
//! once into the labels of the items that failed). The SDK error is kept as the source.

use artforge_domain::StoreError;
use aws_sdk_dynamodb::{
    error::{BuildError, SdkError},
    operation::{
        delete_item::DeleteItemError, put_item::PutItemError, update_item::UpdateItemError,
    },
};

use crate::attrs::Item;

/// A request that failed for a reason the caller does not handle: the store is unavailable.
pub fn unavailable<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(Box::new(err))
}

/// A request the SDK refused to build: our own item is malformed.
pub fn malformed(err: BuildError) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

/// The answer to a single-item write with a condition.
pub trait Conditional<T> {
    /// `Ok(Ok(output))` when written; `Ok(Err(item))` when the condition refused it, with the
    /// item as it was if the request asked for it back; `Err` for any other failure.
    fn refused(self) -> Result<Result<T, Option<Item>>, StoreError>;
}

macro_rules! conditional {
    ($error:ident) => {
        impl<T, R> Conditional<T> for Result<T, SdkError<$error, R>>
        where
            R: std::fmt::Debug + Send + Sync + 'static,
        {
            fn refused(self) -> Result<Result<T, Option<Item>>, StoreError> {
                match self {
                    Ok(output) => Ok(Ok(output)),
                    Err(err) => match err.as_service_error() {
                        Some($error::ConditionalCheckFailedException(refused)) => {
                            Ok(Err(refused.item().cloned()))
                        }
                        _ => Err(unavailable(err)),
                    },
                }
            }
        }
    };
}

conditional!(UpdateItemError);
conditional!(PutItemError);
conditional!(DeleteItemError);
