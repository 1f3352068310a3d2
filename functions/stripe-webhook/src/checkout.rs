//! The Stripe adapter: Checkout Sessions through `async-stripe`, against `STRIPE_API_BASE`
//! (Stripe itself, or the local stand-in).

use std::collections::HashMap;

use artforge_domain::{CheckoutPage, Pack, PaymentError, Payments, User};
use stripe::{Client, ClientBuilder};
use stripe_checkout::checkout_session::{CreateCheckoutSession, CreateCheckoutSessionLineItems};
use stripe_shared::CheckoutSessionMode;

#[derive(Clone)]
pub struct StripeCheckout {
    client: Client,
    success_url: String,
    cancel_url: String,
}

impl std::fmt::Debug for StripeCheckout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeCheckout").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("building the Stripe client failed")]
pub struct ClientError(#[from] stripe::StripeError);

impl StripeCheckout {
    /// `api_base` ends in `/` (`https://api.stripe.com/`).
    pub fn new(
        secret_key: &str,
        api_base: &str,
        success_url: String,
        cancel_url: String,
    ) -> Result<Self, ClientError> {
        let client = ClientBuilder::new(secret_key).url(api_base).build()?;
        Ok(Self {
            client,
            success_url,
            cancel_url,
        })
    }
}

impl Payments for StripeCheckout {
    async fn checkout(&self, user: &User, pack: &Pack) -> Result<CheckoutPage, PaymentError> {
        let item = CreateCheckoutSessionLineItems {
            price: Some(pack.price_id.clone()),
            quantity: Some(1),
            ..Default::default()
        };
        let metadata = HashMap::from([
            ("userId".to_owned(), user.id.to_string()),
            ("packId".to_owned(), pack.id.to_string()),
        ]);
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(vec![item])
            .client_reference_id(user.id.to_string())
            .customer_email(user.email.as_str())
            .metadata(metadata)
            .success_url(self.success_url.as_str())
            .cancel_url(self.cancel_url.as_str())
            .send(&self.client)
            .await
            .map_err(|e| PaymentError::Unavailable(Box::new(e)))?;
        Ok(CheckoutPage {
            session_id: session.id.to_string(),
            url: session.url.ok_or(PaymentError::NoPage)?,
        })
    }
}
