//! The few fields of Stripe events this function acts on, read leniently: an authentic event
//! of a newer API version still grants as long as these fields mean what they meant.

use std::collections::HashMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the event is of live or test mode (absent in hand-made events).
    #[serde(default)]
    pub livemode: Option<bool>,
    pub data: Data,
}

#[derive(Debug, Deserialize)]
pub struct Data {
    pub object: serde_json::Value,
}

/// An id, or the expanded object carrying it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// A Checkout Session (`checkout.session.*`).
#[derive(Debug, Deserialize)]
pub struct Session {
    pub id: String,
    pub payment_status: Option<String>,
    pub amount_total: Option<u64>,
    pub currency: Option<String>,
    pub client_reference_id: Option<String>,
    pub metadata: Option<HashMap<String, String>>,
    pub payment_intent: Option<Expandable>,
}

impl Session {
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|m| m.get(key))
            .map(String::as_str)
    }
}

/// A charge (`charge.refunded`): `amount_refunded` is the total of its refunds so far.
#[derive(Debug, Deserialize)]
pub struct Charge {
    pub amount_refunded: u64,
    pub payment_intent: Option<Expandable>,
}

/// A dispute (`charge.dispute.*`): `amount` is what is disputed; `status` once closed is
/// `won`, `lost` or `warning_closed` (an inquiry that never took the money).
#[derive(Debug, Deserialize)]
pub struct Dispute {
    pub id: String,
    pub amount: u64,
    pub status: String,
    pub payment_intent: Option<Expandable>,
}
