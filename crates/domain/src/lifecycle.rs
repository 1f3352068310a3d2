//! Model lifecycle (DESIGN §3): the provider retires models on a date it announces in
//! `GET /v1/models` (`shutdown_date`). A scheduled check reads it for every configured model,
//! records what it found, and raises an alarm [`WARN_DAYS`] ahead; a submission for a model
//! whose date has passed is refused with words to act on, and a job the provider refuses
//! because its model is gone fails with a refund ([`crate::JobErrorCode::ModelRetired`]).

use time::{Date, OffsetDateTime};

use crate::{ProviderError, StoreError};

/// How many days before a configured model's shutdown the alarm is raised.
pub const WARN_DAYS: i64 = 30;

/// A model as the provider lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedModel {
    pub id: String,
    /// The announced shutdown date, if any.
    pub shutdown: Option<Date>,
}

/// The provider's list of models (`GET /v1/models`).
pub trait ProviderModels: Send + Sync {
    fn models(&self) -> impl Future<Output = Result<Vec<ListedModel>, ProviderError>> + Send;
}

/// What the last check found about one provider model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelNotice {
    pub model: String,
    /// The announced shutdown date, if any.
    pub shutdown: Option<Date>,
    /// Whether the provider listed the model at all.
    pub listed: bool,
    pub checked_at: OffsetDateTime,
}

/// Where the checks' findings are kept, for the API to read at submission.
pub trait ModelNotices: Send + Sync {
    /// Records (replaces) what a check found about `notice.model`.
    fn record(&self, notice: &ModelNotice) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The last finding about `model`, if it was ever checked.
    fn notice(
        &self,
        model: &str,
    ) -> impl Future<Output = Result<Option<ModelNotice>, StoreError>> + Send;
}

/// Where a model stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStanding {
    /// No shutdown announced, or one more than [`WARN_DAYS`] away.
    Current,
    /// Shutdown announced within [`WARN_DAYS`]: the alarm is raised.
    Retiring { shutdown: Date, days_left: i64 },
    /// The shutdown date has passed (or is today): submissions are refused.
    Retired { shutdown: Date },
    /// The provider does not list the model: the alarm is raised (a typo in configuration, or
    /// a model already removed).
    Unlisted,
}

impl ModelStanding {
    /// Where a model with `notice` stands on `today`.
    pub fn of(notice: &ModelNotice, today: Date) -> Self {
        if !notice.listed {
            return Self::Unlisted;
        }
        match notice.shutdown {
            None => Self::Current,
            Some(shutdown) if shutdown <= today => Self::Retired { shutdown },
            Some(shutdown) => {
                let days_left = (shutdown - today).whole_days();
                if days_left <= WARN_DAYS {
                    Self::Retiring {
                        shutdown,
                        days_left,
                    }
                } else {
                    Self::Current
                }
            }
        }
    }

    /// Whether an operator must act (switch the tier's model).
    pub fn needs_attention(self) -> bool {
        !matches!(self, Self::Current)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn notice(shutdown: Option<Date>, listed: bool) -> ModelNotice {
        ModelNotice {
            model: "gpt-image-2.5-flare".into(),
            shutdown,
            listed,
            checked_at: datetime!(2026-12-03 12:00 UTC),
        }
    }

    #[test]
    fn a_model_is_retiring_from_thirty_days_before_its_shutdown_and_retired_on_the_day() {
        let today = date!(2026 - 12 - 03);
        let at = |d| ModelStanding::of(&notice(Some(d), true), today);
        assert_eq!(at(date!(2027 - 01 - 03)), ModelStanding::Current, "31 days");
        assert_eq!(
            at(date!(2027 - 01 - 02)),
            ModelStanding::Retiring {
                shutdown: date!(2027 - 01 - 02),
                days_left: 30
            }
        );
        assert_eq!(
            at(date!(2026 - 12 - 04)),
            ModelStanding::Retiring {
                shutdown: date!(2026 - 12 - 04),
                days_left: 1
            }
        );
        assert_eq!(
            at(today),
            ModelStanding::Retired { shutdown: today },
            "shut down today"
        );
        assert!(at(date!(2026 - 11 - 04)).needs_attention());
        assert_eq!(
            ModelStanding::of(&notice(None, true), today),
            ModelStanding::Current
        );
        assert!(!ModelStanding::Current.needs_attention());
    }

    #[test]
    fn a_model_the_provider_does_not_list_needs_attention() {
        let standing = ModelStanding::of(&notice(None, false), date!(2026 - 12 - 03));
        assert_eq!(standing, ModelStanding::Unlisted);
        assert!(standing.needs_attention());
    }
}
