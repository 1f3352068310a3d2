//! The model lifecycle, faked: [`MemoryStore`]'s findings of the check, and a provider model
//! list ([`FakeModels`]) that answers what the test set.

use std::sync::{Arc, Mutex, PoisonError};

use artforge_domain::{
    ListedModel, ModelNotice, ModelNotices, ProviderError, ProviderModels, StoreError,
};

use crate::MemoryStore;

impl ModelNotices for MemoryStore {
    async fn record(&self, notice: &ModelNotice) -> Result<(), StoreError> {
        self.faults.store("record_model_notice")?;
        self.notices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(notice.model.clone(), notice.clone());
        Ok(())
    }

    async fn notice(&self, model: &str) -> Result<Option<ModelNotice>, StoreError> {
        self.faults.store("model_notice")?;
        Ok(self
            .notices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .cloned())
    }
}

/// A provider's model list: what [`FakeModels::set`] gave it, or unavailable.
#[derive(Debug, Clone, Default)]
pub struct FakeModels {
    listed: Arc<Mutex<Option<Vec<ListedModel>>>>,
}

impl FakeModels {
    /// A provider listing `models`.
    pub fn listing(models: Vec<ListedModel>) -> Self {
        let fake = Self::default();
        fake.set(Some(models));
        fake
    }

    /// From now on the provider lists `models`; `None`: it is unavailable.
    pub fn set(&self, models: Option<Vec<ListedModel>>) {
        *self.listed.lock().unwrap_or_else(PoisonError::into_inner) = models;
    }
}

impl ProviderModels for FakeModels {
    async fn models(&self) -> Result<Vec<ListedModel>, ProviderError> {
        self.listed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| ProviderError::Unavailable("the model list is down".into()))
    }
}
