//! What clients send to the billing function: the body of `POST /billing/checkout`, as the
//! serde shape `artforge_http`'s `Json` extractor parses (unknown fields refused).

use serde::Deserialize;

/// `POST /billing/checkout`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pack": "starter"}))]
pub struct CheckoutBody {
    pub pack: String,
}
