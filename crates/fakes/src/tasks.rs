//! Account tasks in memory: what was sent, with its delay, in order.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use artforge_domain::{AccountTask, AccountTasks, QueueError};

use crate::Faults;

#[derive(Debug, Clone, Default)]
pub struct MemoryTasks {
    sent: Arc<Mutex<Vec<(AccountTask, Duration)>>>,
    pub faults: Faults,
}

impl MemoryTasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every task sent so far, with its delay.
    pub fn sent(&self) -> Vec<(AccountTask, Duration)> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl AccountTasks for MemoryTasks {
    async fn send(&self, task: AccountTask, delay: Duration) -> Result<(), QueueError> {
        self.faults
            .check("send")
            .map_err(|e| QueueError(Box::new(e)))?;
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((task, delay));
        Ok(())
    }
}
