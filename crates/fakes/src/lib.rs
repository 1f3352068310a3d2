//! In-memory fakes of the domain's ports, so use cases are tested in milliseconds, and the
//! contract suite ([`contract`]) that runs against these fakes and against the real adapters
//! on moto alike, so a fake cannot drift from what the adapter does.
//!
//! A dev-dependency only: nothing here is linked into a function. Each fake keeps its state
//! behind one lock, so every port method is atomic, as the adapters' transactions are; the
//! rules the adapters keep by conditions (a guard per credit cause, a lease per job, an
//! idempotency key per submission, the daily counters) are kept here by the same checks.
//! [`Faults`] makes a named operation fail, for the use cases' partial-failure paths.

pub mod contract;
mod faults;
mod files;
mod models;
mod provider;
mod queue;
mod store;
mod tasks;

pub use faults::Faults;
pub use files::MemoryFiles;
pub use models::FakeModels;
pub use provider::{FakePayments, FakeProvider};
pub use queue::MemoryQueue;
pub use store::MemoryStore;
pub use tasks::MemoryTasks;

#[cfg(test)]
mod tests {
    crate::contract_tests!(crate::MemoryStore::new());

    #[tokio::test]
    async fn the_fake_payment_provider_reports_sessions_as_they_stand() {
        let payments = crate::FakePayments::new();
        crate::contract::a_checkout_session_is_reported_as_it_stands(&payments, |id| {
            let payments = payments.clone();
            async move {
                payments.pay(&id).expect("a session it opened");
            }
        })
        .await;
    }
}
