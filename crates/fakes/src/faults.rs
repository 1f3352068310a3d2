//! Failures on demand: a fake's operation, named as its port method is, fails the next `n`
//! times it is called, as a store or a queue that is down would.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use artforge_domain::StoreError;

/// Shared between clones of a fake.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Per operation: calls to let through first, then calls to fail.
    pending: Arc<Mutex<HashMap<&'static str, (u32, u32)>>>,
    calls: Arc<Mutex<HashMap<&'static str, u32>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("injected failure of {0}")]
pub struct Injected(pub &'static str);

impl Faults {
    /// The next `times` calls of `operation` fail.
    pub fn fail(&self, operation: &'static str, times: u32) {
        self.fail_after(operation, 0, times);
    }

    /// After `skip` more calls of `operation` succeed, the next `times` fail.
    pub fn fail_after(&self, operation: &'static str, skip: u32, times: u32) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(operation, (skip, times));
    }

    /// How often `operation` was called, failed calls included.
    pub fn calls(&self, operation: &'static str) -> u32 {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Counts a call of `operation`; `Err` when it is to fail.
    pub fn check(&self, operation: &'static str) -> Result<(), Injected> {
        *self
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_default() += 1;
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match pending.get_mut(operation) {
            Some((skip, _)) if *skip > 0 => {
                *skip -= 1;
                Ok(())
            }
            Some((_, left)) if *left > 0 => {
                *left -= 1;
                Err(Injected(operation))
            }
            _ => Ok(()),
        }
    }

    /// [`Faults::check`] for a store: the failure is the store being unavailable.
    pub fn store(&self, operation: &'static str) -> Result<(), StoreError> {
        self.check(operation)
            .map_err(|e| StoreError::Unavailable(Box::new(e)))
    }
}
