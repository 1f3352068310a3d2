//! The Stripe adapter: opens Checkout Sessions with one form POST to `STRIPE_API_BASE` (Stripe
//! itself, or the local stand-in) and reads back the two fields it needs.
//!
//! Why not `async-stripe`'s typed client, which this used before: it parsed the whole Checkout
//! Session into its model of one API version (an unknown enum value such as `ui_mode: hosted`
//! already logged a warning), and its generated types were over half of this function's
//! binary (6.85 MB zipped, against 6 MB for the others' goal). One documented endpoint, a
//! form body and two response fields are less code to trust than that.

use std::time::Duration;

use artforge_domain::{CheckoutPage, Pack, PaymentError, Payments, SessionState, User};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The API version the requests are written against (Stripe answers in it).
pub const STRIPE_VERSION: &str = "2026-09-30.endive";
/// Checkout is a click away for the user: a slow Stripe is an error, not a hung request.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct StripeCheckout {
    http: reqwest::Client,
    endpoint: String,
    secret_key: SecretString,
    success_url: String,
    cancel_url: String,
}

impl std::fmt::Debug for StripeCheckout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeCheckout")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("building the Stripe HTTP client failed")]
pub struct ClientError(#[from] reqwest::Error);

/// What Stripe answered instead of a session.
#[derive(Debug, thiserror::Error)]
#[error("Stripe answered {status}: {message}")]
pub struct StripeError {
    status: u16,
    message: String,
}

/// The parts of a Checkout Session this adapter reads; the rest is left unparsed.
#[derive(Debug, Deserialize)]
struct SessionCreated {
    id: String,
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

impl StripeCheckout {
    /// `api_base` ends in `/` (`https://api.stripe.com/`).
    pub fn new(
        secret_key: &str,
        api_base: &str,
        success_url: String,
        cancel_url: String,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(artforge_tls::client_config())
            .timeout(TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            endpoint: format!("{api_base}v1/checkout/sessions"),
            secret_key: secret_key.into(),
            success_url,
            cancel_url,
        })
    }

    /// The form body of `POST /v1/checkout/sessions` for `user` buying `pack`.
    fn form(&self, user: &User, pack: &Pack) -> String {
        let user_id = user.id.to_string();
        let pack_id = pack.id.to_string();
        form_urlencoded::Serializer::new(String::new())
            .append_pair("mode", "payment")
            .append_pair("line_items[0][price]", &pack.price_id)
            .append_pair("line_items[0][quantity]", "1")
            .append_pair("client_reference_id", &user_id)
            .append_pair("customer_email", user.email.as_str())
            .append_pair("metadata[userId]", &user_id)
            .append_pair("metadata[packId]", &pack_id)
            .append_pair("success_url", &self.success_url)
            .append_pair("cancel_url", &self.cancel_url)
            .finish()
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> PaymentError {
    PaymentError::Unavailable(Box::new(e))
}

impl Payments for StripeCheckout {
    async fn checkout(&self, user: &User, pack: &Pack) -> Result<CheckoutPage, PaymentError> {
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.secret_key.expose_secret())
            .header("Stripe-Version", STRIPE_VERSION)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(self.form(user, pack))
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&body)
                .ok()
                .and_then(|b| b.error?.message)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
            return Err(unavailable(StripeError {
                status: status.as_u16(),
                message,
            }));
        }
        let session: SessionCreated = serde_json::from_slice(&body).map_err(unavailable)?;
        Ok(CheckoutPage {
            session_id: session.id,
            url: session.url.ok_or(PaymentError::NoPage)?,
        })
    }

    async fn session(&self, id: &str) -> Result<Option<SessionState>, PaymentError> {
        let response = self
            .http
            .get(format!("{}/{id}", self.endpoint))
            .bearer_auth(self.secret_key.expose_secret())
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await
            .map_err(unavailable)?;
        if response.status() == http::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable)?;
        if !status.is_success() {
            return Err(unavailable(StripeError {
                status: status.as_u16(),
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }));
        }
        let session: crate::events::Session = serde_json::from_slice(&body).map_err(unavailable)?;
        Ok(Some(SessionState {
            paid: session.payment_status.as_deref() == Some("paid"),
            payment_intent: session.payment_intent.as_ref().map(|p| p.id().to_owned()),
            amount_total: session.amount_total,
            currency: session.currency.clone(),
            user: session.metadata("userId").map(str::to_owned),
            pack: session.metadata("packId").map(str::to_owned),
            id: session.id,
        }))
    }
}
