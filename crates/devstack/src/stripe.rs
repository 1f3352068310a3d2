//! A local stand-in for Stripe Checkout (DESIGN §8):
//!
//! - `POST /v1/checkout/sessions` answers like Stripe: a whole Checkout Session object, as
//!   `async-stripe`'s typed client parses it, whose `url` is a local checkout page;
//! - `GET /v1/checkout/sessions/{id}` answers the session as it is now (`payment_status`
//!   `paid`, `status` `complete` and a `payment_intent` once paid), or Stripe's 404
//!   (`resource_missing`) for an id it never opened;
//! - `POST /stripe/checkout/{id}/pay` (the page's "Pay") marks the session paid, sends a
//!   correctly signed `checkout.session.completed` to the webhook, then redirects to the
//!   success URL;
//! - `POST /stripe/checkout/{id}/pay?webhook=none` marks it paid and redirects, delivering
//!   nothing: a lost webhook, so the return page's retrieval is what grants the credits.
//!
//! Both API routes refuse a request without a secret key, as Stripe does.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

/// A price the stand-in knows: minor units and currency.
#[derive(Debug, Clone)]
pub struct Price {
    pub amount: u64,
    pub currency: String,
}

#[derive(Debug, Clone)]
struct Opened {
    session: Value,
    success_url: String,
}

#[derive(Clone)]
pub struct StandIn {
    prices: Arc<HashMap<String, Price>>,
    sessions: Arc<Mutex<HashMap<String, Opened>>>,
    /// Where the checkout page lives (this server's origin).
    public_base: Arc<str>,
    webhook_url: Arc<str>,
    webhook_secret: Arc<str>,
    http: reqwest::Client,
}

impl StandIn {
    pub fn new(
        prices: HashMap<String, Price>,
        public_base: &str,
        webhook_url: &str,
        webhook_secret: &str,
    ) -> Self {
        Self {
            prices: Arc::new(prices),
            sessions: Arc::default(),
            public_base: public_base.trim_end_matches('/').into(),
            webhook_url: webhook_url.into(),
            webhook_secret: webhook_secret.into(),
            http: crate::http_client()
                .build()
                .unwrap_or_else(|e| panic!("the stand-in's client: {e}")),
        }
    }

    /// The stand-in's routes: Stripe's API path and the local checkout page.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/v1/checkout/sessions", post(create))
            .route("/v1/checkout/sessions/{id}", get(retrieve))
            .route("/stripe/checkout/{id}", get(page))
            .route("/stripe/checkout/{id}/pay", post(pay))
            .with_state(self)
    }
}

fn stripe_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": {"type": "invalid_request_error", "message": message}}).to_string(),
    )
        .into_response()
}

/// Random enough for local ids: a ULID, lower-cased.
fn random_suffix() -> String {
    ulid::Ulid::generate().to_string().to_lowercase()
}

/// Stripe refuses a request without a secret key before it reads anything else: the refusal,
/// if any.
fn unauthorised(headers: &axum::http::HeaderMap) -> Option<Response> {
    let authorised = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer sk_"));
    (!authorised).then(|| stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided"))
}

impl StandIn {
    fn session(&self, id: &str) -> Option<Opened> {
        self.sessions.lock().ok().and_then(|s| s.get(id).cloned())
    }
}

/// `GET /v1/checkout/sessions/{id}`: the session as it is now (paid after "Pay").
async fn retrieve(
    State(stand_in): State<StandIn>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorised(&headers) {
        return refused;
    }
    match stand_in.session(&id) {
        Some(opened) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            opened.session.to_string(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error": {
                "code": "resource_missing",
                "message": format!("No such checkout.session: '{id}'"),
                "param": "session",
                "type": "invalid_request_error",
            }})
            .to_string(),
        )
            .into_response(),
    }
}

async fn create(
    State(stand_in): State<StandIn>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Response {
    if let Some(refused) = unauthorised(&headers) {
        return refused;
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let Some(price) = form
        .get("line_items[0][price]")
        .and_then(|p| stand_in.prices.get(p))
    else {
        return stripe_error(StatusCode::BAD_REQUEST, "No such price");
    };
    let (Some(success_url), Some(cancel_url)) = (form.get("success_url"), form.get("cancel_url"))
    else {
        return stripe_error(StatusCode::BAD_REQUEST, "Missing success_url or cancel_url");
    };
    let id = format!("cs_test_{}", random_suffix());
    let metadata: HashMap<&str, &str> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k, v.as_str()))
        })
        .collect();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "adaptive_pricing": null,
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": price.amount,
        "amount_total": price.amount,
        "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
        "billing_address_collection": null,
        "cancel_url": cancel_url,
        "client_reference_id": form.get("client_reference_id"),
        "collected_information": null,
        "consent": null,
        "consent_collection": null,
        "created": now,
        "currency": price.currency,
        "custom_fields": [],
        "custom_text": {"after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null},
        "customer": null,
        "customer_creation": "if_required",
        "customer_details": null,
        "customer_email": form.get("customer_email"),
        "discounts": [],
        "expires_at": now + 86_400,
        "invoice": null,
        "invoice_creation": {"enabled": false, "invoice_data": {"account_tax_ids": null, "custom_fields": null, "description": null, "footer": null, "issuer": null, "metadata": {}, "rendering_options": null}},
        "livemode": false,
        "locale": null,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": null,
        "payment_link": null,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": null,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": false},
        "recovered_from": null,
        "saved_payment_method_options": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_options": [],
        "status": "open",
        "submit_type": null,
        "subscription": null,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": format!("{}/stripe/checkout/{id}", stand_in.public_base),
        "wallet_options": null
    });
    let opened = Opened {
        session: session.clone(),
        success_url: success_url.replace("{CHECKOUT_SESSION_ID}", &id),
    };
    if let Ok(mut sessions) = stand_in.sessions.lock() {
        sessions.insert(id, opened);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        session.to_string(),
    )
        .into_response()
}

async fn page(State(stand_in): State<StandIn>, Path(id): Path<String>) -> Response {
    let Some(opened) = stand_in.session(&id) else {
        return (StatusCode::NOT_FOUND, "no such checkout session").into_response();
    };
    let amount = opened.session["amount_total"].as_u64().unwrap_or(0);
    let currency = opened.session["currency"]
        .as_str()
        .unwrap_or("usd")
        .to_uppercase();
    let email = opened.session["customer_email"].as_str().unwrap_or("");
    // Checkout's back link: the session's cancel URL (ours, from configuration), escaped for HTML.
    let cancel = opened.session["cancel_url"]
        .as_str()
        .unwrap_or("/")
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:,"><title>Test checkout</title></head><body style="font-family:system-ui;max-width:28rem;margin:4rem auto">
<h1>Test checkout</h1><p>This is the local stand-in for Stripe Checkout. No money moves.</p>
<p>{email}</p><p><strong>{}.{:02} {currency}</strong></p>
<form method="post" action="/stripe/checkout/{id}/pay"><button type="submit" id="pay">Pay</button></form>
<form method="post" action="/stripe/checkout/{id}/pay?webhook=none"><button type="submit" id="pay-lost-webhook">Pay, and lose the webhook</button></form>
<p>The second button pays without delivering <code>checkout.session.completed</code>, as if the webhook were lost: the credits then come from the return page.</p>
<p><a id="cancel" href="{cancel}">Cancel and go back</a></p>
</body></html>"#,
        amount / 100,
        amount % 100
    ))
    .into_response()
}

/// Whether "Pay" delivers the webhook: `?webhook=none` does not (a lost webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Signed,
    Lost,
}

impl Delivery {
    /// The choice `?webhook=` makes, or why it is refused.
    fn from_query(query: &HashMap<String, String>) -> Result<Self, String> {
        match query.get("webhook").map(String::as_str) {
            None => Ok(Self::Signed),
            Some("none") => Ok(Self::Lost),
            Some(other) => Err(format!("webhook={other}: the only choice is webhook=none")),
        }
    }
}

async fn pay(
    State(stand_in): State<StandIn>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let delivery = match Delivery::from_query(&query) {
        Ok(delivery) => delivery,
        Err(refused) => return (StatusCode::BAD_REQUEST, refused).into_response(),
    };
    let Some(mut opened) = stand_in.session(&id) else {
        return (StatusCode::NOT_FOUND, "no such checkout session").into_response();
    };
    opened.session["payment_status"] = "paid".into();
    opened.session["status"] = "complete".into();
    opened.session["payment_intent"] = format!("pi_test_{}", random_suffix()).into();
    if let Ok(mut sessions) = stand_in.sessions.lock() {
        sessions.insert(id.clone(), opened.clone());
    }
    if delivery == Delivery::Lost {
        return Redirect::to(&opened.success_url).into_response();
    }
    let event = json!({
        "id": format!("evt_test_{}", random_suffix()),
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": time::OffsetDateTime::now_utc().unix_timestamp(),
        "data": {"object": opened.session},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": "checkout.session.completed"
    })
    .to_string();
    let signature =
        stripe_signer::Webhook::generate_test_header(&event, &stand_in.webhook_secret, None);
    let delivered = stand_in
        .http
        .post(stand_in.webhook_url.as_ref())
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(event)
        .send()
        .await;
    match delivered {
        Ok(response) if response.status().is_success() => {
            Redirect::to(&opened.success_url).into_response()
        }
        Ok(response) => (
            StatusCode::BAD_GATEWAY,
            format!("the webhook answered {}", response.status()),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("the webhook is unreachable: {e}"),
        )
            .into_response(),
    }
}
