//! The Stripe adapter: creates and retrieves Checkout Sessions through `async-stripe`'s typed
//! client (`stripe` and `stripe_checkout`, with the `checkout_session` requests only), at
//! `STRIPE_API_BASE` (Stripe itself, or the local stand-in).
//!
//! The client pins the API version its models are generated from (`2026-09-30.endive` for
//! 1.0.0-rc.10) and parses the whole session into them: an enum value it does not know (a new
//! `status`, `ui_mode`...) becomes that enum's `Unknown(..)` with a logged warning, never a
//! failure, and fields it does not know are skipped. A response missing a field its model
//! requires fails as a deserialisation error, which is an unavailable provider here.
//!
//! It replaced a hand-written form POST (docs/decisions/0019, superseded by 0080 for the
//! client; 0080 has the size and cold-start figures).

use std::{collections::HashMap, time::Duration};

use artforge_domain::{CheckoutPage, Pack, PaymentError, Payments, SessionState, User};
use stripe::{Client, ClientBuilder, StripeError};
use stripe_checkout::{
    CheckoutSession, CheckoutSessionMode, CheckoutSessionPaymentStatus,
    checkout_session::{
        CreateCheckoutSession, CreateCheckoutSessionLineItems, RetrieveCheckoutSession,
    },
};

/// Checkout is a click away for the user and the return page waits on a retrieval: a slow
/// Stripe is an error, not a hung request. One attempt, no retries (the client's
/// `RequestStrategy::Once`), bounded as a whole: connection, TLS, answer and body.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Stripe's API through `async-stripe`, for the [`Payments`] port.
#[derive(Clone)]
pub struct StripeCheckout {
    client: Client,
    api_base: String,
    success_url: String,
    cancel_url: String,
}

impl std::fmt::Debug for StripeCheckout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeCheckout")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// The client could not be built: a secret key that is not a header value, a malformed base
/// URL.
#[derive(Debug, thiserror::Error)]
#[error("building the Stripe client failed")]
pub struct ClientError(#[source] StripeError);

/// What Stripe answered instead of a session: its status and its own message.
#[derive(Debug, thiserror::Error)]
#[error("Stripe answered {status}: {message}")]
pub struct StripeRefusal {
    pub status: u16,
    /// Stripe's error `code` when it gave one (`resource_missing`, `api_key_expired`...).
    pub code: Option<String>,
    pub message: String,
}

impl StripeCheckout {
    /// `api_base` ends in `/` (`https://api.stripe.com/`), as the client requires.
    pub fn new(
        secret_key: &str,
        api_base: &str,
        success_url: String,
        cancel_url: String,
    ) -> Result<Self, ClientError> {
        Self::with_timeout(secret_key, api_base, success_url, cancel_url, TIMEOUT)
    }

    /// As [`StripeCheckout::new`], with another bound on each call (tests of a slow Stripe).
    pub fn with_timeout(
        secret_key: &str,
        api_base: &str,
        success_url: String,
        cancel_url: String,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let client = ClientBuilder::new(secret_key)
            .url(api_base)
            .timeout(timeout)
            .build()
            .map_err(ClientError)?;
        Ok(Self {
            client,
            api_base: api_base.to_owned(),
            success_url,
            cancel_url,
        })
    }

    /// `POST /v1/checkout/sessions` for `user` buying `pack`.
    fn create(&self, user: &User, pack: &Pack) -> CreateCheckoutSession {
        let user_id = user.id.to_string();
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(pack.price_id.clone());
        item.quantity = Some(1);
        CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(vec![item])
            .client_reference_id(user_id.clone())
            .customer_email(user.email.as_str())
            .metadata(HashMap::from([
                ("userId".to_owned(), user_id),
                ("packId".to_owned(), pack.id.to_string()),
            ]))
            .success_url(self.success_url.clone())
            .cancel_url(self.cancel_url.clone())
    }
}

/// Stripe's ids are ASCII letters, digits and `_`. Anything else is no session Stripe knows,
/// and is never put into a request path.
fn is_session_id(id: &str) -> bool {
    (1..=255).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Stripe's refusal keeps its status and message; anything else (a timeout, a connection
/// failure, an answer the model cannot read) is kept as the source.
fn unavailable(error: StripeError) -> PaymentError {
    match error {
        StripeError::Stripe(api, status) => PaymentError::Unavailable(Box::new(StripeRefusal {
            status,
            code: api.code.as_ref().map(|c| c.as_str().to_owned()),
            message: api
                .message
                .clone()
                .unwrap_or_else(|| api.type_.as_str().to_owned()),
        })),
        other => PaymentError::Unavailable(Box::new(other)),
    }
}

/// The parts of a session the domain reads.
fn state(session: &CheckoutSession) -> SessionState {
    let metadata = |key: &str| session.metadata.as_ref().and_then(|m| m.get(key)).cloned();
    SessionState {
        id: session.id.as_str().to_owned(),
        paid: matches!(session.payment_status, CheckoutSessionPaymentStatus::Paid),
        payment_intent: session
            .payment_intent
            .as_ref()
            .map(|intent| intent.id().as_str().to_owned()),
        amount_total: session.amount_total.and_then(|a| u64::try_from(a).ok()),
        currency: session.currency.as_ref().map(ToString::to_string),
        user: metadata("userId"),
        pack: metadata("packId"),
    }
}

impl Payments for StripeCheckout {
    async fn checkout(&self, user: &User, pack: &Pack) -> Result<CheckoutPage, PaymentError> {
        let session = self
            .create(user, pack)
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        Ok(CheckoutPage {
            session_id: session.id.as_str().to_owned(),
            url: session.url.ok_or(PaymentError::NoPage)?,
        })
    }

    async fn session(&self, id: &str) -> Result<Option<SessionState>, PaymentError> {
        if !is_session_id(id) {
            return Ok(None);
        }
        match RetrieveCheckoutSession::new(id).send(&self.client).await {
            Ok(session) => Ok(Some(state(&session))),
            Err(StripeError::Stripe(_, 404)) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_session_id;

    #[test]
    fn only_stripe_shaped_ids_reach_a_request_path() {
        assert!(is_session_id("cs_test_a1B2c3"));
        for id in [
            "",
            "cs/../../v1/customers",
            "cs_1?expand[]=x",
            "cs 1",
            "cs_é",
            "cs#1",
        ] {
            assert!(!is_session_id(id), "{id}");
        }
        assert!(!is_session_id(&"a".repeat(256)));
    }
}
