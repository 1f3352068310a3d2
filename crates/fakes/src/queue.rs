//! The job queue in memory: the messages sent, in order.

use std::sync::{Arc, Mutex, PoisonError};

use artforge_domain::{JobId, JobQueue, QueueError, UserId};

use crate::Faults;

#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    sent: Arc<Mutex<Vec<(UserId, JobId)>>>,
    pub faults: Faults,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far.
    pub fn sent(&self) -> Vec<(UserId, JobId)> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl JobQueue for MemoryQueue {
    async fn enqueue(&self, owner: UserId, job: JobId) -> Result<(), QueueError> {
        self.faults
            .check("enqueue")
            .map_err(|e| QueueError(Box::new(e)))?;
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((owner, job));
        Ok(())
    }
}
