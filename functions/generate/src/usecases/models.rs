//! The model-lifecycle check (DESIGN §3): on the sweeper's schedule, read the provider's model
//! list, record for every configured provider model its announced shutdown date (or that the
//! provider does not list it), and count the models an operator must switch: those shutting
//! down within [`WARN_DAYS`](artforge_domain::lifecycle::WARN_DAYS), shut down, or unlisted
//! (the alarm reads that count). What a submission does with the findings is
//! [`retired`]'s: a model past its date is refused with words to act on.

use std::sync::Arc;

use artforge_domain::{
    Catalog, FieldError, ModelNotice, ModelNotices, ModelStanding, ProviderError, ProviderModels,
    StoreError, Tier,
};
use time::{OffsetDateTime, macros::format_description};
use tracing::{info, warn};

/// What one check found, per configured provider model (each once, in tier order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelReport {
    pub models: Vec<(String, ModelStanding)>,
}

impl ModelReport {
    /// How many configured models need an operator.
    pub fn needing_attention(&self) -> usize {
        self.models
            .iter()
            .filter(|(_, s)| s.needs_attention())
            .count()
    }
}

/// Why a check did not finish.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("the provider's model list could not be read")]
    Provider(#[source] ProviderError),
    #[error("a finding could not be recorded")]
    Store(#[from] StoreError),
}

/// The check, over the provider's list and where findings are kept.
pub struct ModelCheck<P, N> {
    pub provider: P,
    pub notices: N,
    pub catalog: Arc<Catalog>,
}

impl<P: ProviderModels, N: ModelNotices> ModelCheck<P, N> {
    /// One check at `now`.
    pub async fn check(&self, now: OffsetDateTime) -> Result<ModelReport, CheckError> {
        let listed = self.provider.models().await.map_err(CheckError::Provider)?;
        let mut models: Vec<(String, ModelStanding)> = Vec::new();
        let mut days_left = Vec::new();
        for tier in &self.catalog.tiers {
            let model = tier.provider_model.clone();
            if models.iter().any(|(m, _)| *m == model) {
                continue;
            }
            let found = listed.iter().find(|m| m.id == model);
            let notice = ModelNotice {
                model: model.clone(),
                shutdown: found.and_then(|m| m.shutdown),
                listed: found.is_some(),
                checked_at: now,
            };
            self.notices.record(&notice).await?;
            let standing = ModelStanding::of(&notice, now.date());
            if let Some(shutdown) = notice.shutdown {
                days_left.push((model.clone(), (shutdown - now.date()).whole_days()));
            }
            match standing {
                ModelStanding::Current => {
                    info!(%model, shutdown = ?notice.shutdown, "model current")
                }
                other => warn!(%model, standing = ?other, tier = %tier.id, "model needs switching"),
            }
            models.push((model, standing));
        }
        let report = ModelReport { models };
        artforge_metrics::models_checked(report.needing_attention(), &days_left);
        Ok(report)
    }
}

/// The refusal of a submission for `tier`, whose provider model `notices` says shut down on or
/// before `now`; `None` when it may go ahead. A finding that cannot be read lets it go ahead
/// (the worker fails and refunds the job should the provider refuse the model).
pub async fn retired<N: ModelNotices>(
    notices: &N,
    tier: Tier,
    model: &str,
    now: OffsetDateTime,
) -> Option<FieldError> {
    let notice = match notices.notice(model).await {
        Ok(notice) => notice?,
        Err(e) => {
            warn!(error = %e, %model, "the model's lifecycle could not be read; not refusing");
            return None;
        }
    };
    let ModelStanding::Retired { shutdown } = ModelStanding::of(&notice, now.date()) else {
        return None;
    };
    let day = shutdown
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    Some(FieldError::new(
        "model",
        format!(
            "{tier} is unavailable: its provider model was retired on {day}; choose another model"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use artforge_domain::{ListedModel, ModelNotices as _};
    use artforge_fakes::{FakeModels, MemoryStore};
    use time::macros::{date, datetime};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn catalog(v2: &str, v3: &str) -> Arc<Catalog> {
        let shipped =
            Catalog::from_json(crate::config::SHIPPED_CATALOG).expect("the shipped catalogue");
        Arc::new(
            shipped
                .with_provider_model(Tier::V2, v2)
                .with_provider_model(Tier::V3, v3),
        )
    }

    fn listed(id: &str, shutdown: Option<time::Date>) -> ListedModel {
        ListedModel {
            id: id.into(),
            shutdown,
        }
    }

    #[tokio::test]
    async fn a_model_shutting_down_within_thirty_days_is_recorded_and_counted_for_the_alarm() {
        let store = MemoryStore::new();
        let check = ModelCheck {
            provider: FakeModels::listing(vec![
                listed("gpt-image-2.5-flare", Some(date!(2026 - 12 - 20))),
                listed("gpt-image-2.6-sunburst", None),
                listed("gpt-image-2.6-flare", None),
            ]),
            notices: store.clone(),
            catalog: catalog("gpt-image-2.5-flare", "gpt-image-2.6-sunburst"),
        };
        let report = check.check(NOW).await.expect("checked");
        assert_eq!(
            report.models,
            [
                (
                    "gpt-image-2.5-flare".to_owned(),
                    ModelStanding::Retiring {
                        shutdown: date!(2026 - 12 - 20),
                        days_left: 17
                    }
                ),
                ("gpt-image-2.6-sunburst".to_owned(), ModelStanding::Current),
            ],
            "configured models only"
        );
        assert_eq!(report.needing_attention(), 1);
        let notice = store
            .notice("gpt-image-2.5-flare")
            .await
            .expect("read")
            .expect("recorded");
        assert_eq!(notice.shutdown, Some(date!(2026 - 12 - 20)));
        assert!(notice.listed);
        assert_eq!(
            store.notice("gpt-image-2.6-flare").await.expect("read"),
            None
        );
    }

    #[tokio::test]
    async fn a_model_the_provider_does_not_list_and_one_far_from_shutdown_are_told_apart() {
        let check = ModelCheck {
            provider: FakeModels::listing(vec![listed(
                "gpt-image-2.6-sunburst",
                Some(date!(2027 - 06 - 01)),
            )]),
            notices: MemoryStore::new(),
            catalog: catalog("gpt-image-typo", "gpt-image-2.6-sunburst"),
        };
        let report = check.check(NOW).await.expect("checked");
        assert_eq!(report.models[0].1, ModelStanding::Unlisted);
        assert_eq!(report.models[1].1, ModelStanding::Current, "180 days away");
        assert_eq!(report.needing_attention(), 1);
    }

    #[tokio::test]
    async fn a_check_that_cannot_read_the_list_records_nothing() {
        let store = MemoryStore::new();
        let provider = FakeModels::default();
        let check = ModelCheck {
            provider,
            notices: store.clone(),
            catalog: catalog("gpt-image-2.6-flare", "gpt-image-2.6-sunburst"),
        };
        assert!(matches!(
            check.check(NOW).await,
            Err(CheckError::Provider(_))
        ));
        assert_eq!(
            store.notice("gpt-image-2.6-flare").await.expect("read"),
            None
        );
    }

    #[tokio::test]
    async fn a_submission_is_refused_from_the_shutdown_day_naming_the_model_and_the_date() {
        let store = MemoryStore::new();
        let notice = |shutdown| ModelNotice {
            model: "gpt-image-2.5-flare".into(),
            shutdown: Some(shutdown),
            listed: true,
            checked_at: NOW,
        };
        assert_eq!(
            retired(&store, Tier::V2, "gpt-image-2.5-flare", NOW).await,
            None,
            "never checked"
        );
        store
            .record(&notice(date!(2026 - 12 - 04)))
            .await
            .expect("recorded");
        assert_eq!(
            retired(&store, Tier::V2, "gpt-image-2.5-flare", NOW).await,
            None,
            "tomorrow"
        );
        store
            .record(&notice(date!(2026 - 12 - 03)))
            .await
            .expect("recorded");
        let refusal = retired(&store, Tier::V2, "gpt-image-2.5-flare", NOW)
            .await
            .expect("refused");
        assert_eq!(refusal.field, "model");
        assert_eq!(
            refusal.message,
            "v2 is unavailable: its provider model was retired on 2026-12-03; choose another model"
        );
        store.faults.fail("model_notice", 1);
        assert_eq!(
            retired(&store, Tier::V2, "gpt-image-2.5-flare", NOW).await,
            None,
            "an unreadable finding does not refuse"
        );
    }
}
