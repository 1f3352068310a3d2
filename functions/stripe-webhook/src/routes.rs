//! The billing handlers. The webhook answers 400 to a bad signature, 2xx to anything authentic
//! it handled or chose to ignore (so Stripe does not retry it for days), and 5xx only when the
//! store failed, so Stripe retries.

use artforge_domain::Purchases;
use artforge_http::{
    ApiError, ErrorCode, Json, Query, SignedIn,
    client::{ClientIp, admit_paid},
    json::read_body_up_to,
    problem::ProblemBody,
    query::{Listing, PageParams},
};
use axum::extract::{Path, Request, State};
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tracing::{error, info, instrument, warn};

use crate::{
    App,
    events::Envelope,
    requests::CheckoutBody,
    usecases::{Applied, CheckoutRefusal, Ignored, LookupRefusal},
};

const PURCHASES_LIST: &str = "purchases";

/// The largest webhook body accepted: Stripe sets no documented limit on an event's size, so
/// this is as large as a Lambda invocation allows once API Gateway has base64-encoded it
/// (6 MB request payload; 4 MiB becomes 5.6 MB). A body over it could never be accepted, so
/// Stripe's retries would be in vain: see docs/decisions/0048.
pub const WEBHOOK_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackView {
    id: String,
    credits: u64,
    amount: u64,
    currency: String,
}

/// `GET /billing/packs`: public.
#[utoipa::path(get, path = "/billing/packs", tag = "billing", operation_id = "listPacks",
    responses((status = 200, description = "The credit packs on sale.", body = Listing<PackView>)))]
pub async fn packs(State(app): State<App>) -> Json<Listing<PackView>> {
    Json(Listing {
        items: app
            .billing
            .packs
            .iter()
            .map(|p| PackView {
                id: p.id.to_string(),
                credits: p.credits.get(),
                amount: p.amount,
                currency: p.currency.clone(),
            })
            .collect(),
        next_cursor: None,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseView {
    session_id: String,
    pack: String,
    credits: u64,
    amount: u64,
    currency: String,
    #[schema(value_type = artforge_domain::PurchaseStatus)]
    status: &'static str,
    /// The credits refunds and disputes took back (or tried to) from the pack's.
    credits_refunded: u64,
    /// Of those, what could not be taken back because it was already spent: owed, and paid
    /// first from the next purchase.
    credits_unrecovered: u64,
    created_at: String,
}

impl From<artforge_domain::Purchase> for PurchaseView {
    fn from(p: artforge_domain::Purchase) -> Self {
        Self {
            credits_refunded: p.taken_back().get(),
            session_id: p.checkout_session,
            pack: p.pack.to_string(),
            credits: p.credits.get(),
            amount: p.amount,
            currency: p.currency,
            status: p.status.as_str(),
            credits_unrecovered: p.shortfall.get(),
            created_at: p.created_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseLookupView {
    #[serde(flatten)]
    purchase: PurchaseView,
    /// `false` when the purchase is pending and Stripe could not be asked just now: try again
    /// in a moment.
    confirmed_with_stripe: bool,
}

/// `GET /billing/purchases/{sessionId}`: one of the caller's purchases. A pending one is
/// checked with Stripe first, and granted if Stripe says it is paid (the webhook then grants
/// nothing more), so the return page shows the credits even when the webhook is late.
#[utoipa::path(get, path = "/billing/purchases/{sessionId}", tag = "billing", operation_id = "getPurchase", security(("bearer" = []), ("cookie" = [])),
    params(("sessionId" = String, Path, description = "The Checkout Session's id.")),
    responses(
        (status = 200, description = "The purchase, granted if Stripe says it is paid.", body = PurchaseLookupView),
        (status = 404, description = "not_found: no such purchase of the caller's.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn purchase(
    State(app): State<App>,
    caller: SignedIn,
    Path(session_id): Path<String>,
) -> Result<Json<PurchaseLookupView>, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such purchase");
    // Stripe's session ids are short and plain; anything else is no purchase of ours.
    let plausible = (1..=255).contains(&session_id.len())
        && session_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !plausible {
        return Err(not_found());
    }
    let lookup = app
        .billing
        .purchase(caller.user, &session_id, OffsetDateTime::now_utc())
        .await
        .map_err(|refusal| match refusal {
            LookupRefusal::NotFound => not_found(),
            LookupRefusal::Store(e) => e.into(),
        })?;
    Ok(Json(PurchaseLookupView {
        purchase: lookup.purchase.into(),
        confirmed_with_stripe: lookup.checked,
    }))
}

/// `GET /billing/purchases`: the caller's purchases, newest first.
#[utoipa::path(get, path = "/billing/purchases", tag = "billing", operation_id = "listPurchases", security(("bearer" = []), ("cookie" = [])),
    params(PageParams),
    responses((status = 200, description = "The caller's purchases, newest first.", body = Listing<PurchaseView>)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn purchases(
    State(app): State<App>,
    caller: SignedIn,
    Query(params): Query<PageParams>,
) -> Result<Json<Listing<PurchaseView>>, ApiError> {
    let owner = caller.user.to_string();
    let page = params.page(&app.cursors, &owner, PURCHASES_LIST)?;
    let found = app.billing.store.purchases(caller.user, page).await?;
    Ok(Json(Listing {
        items: found.items.into_iter().map(PurchaseView::from).collect(),
        next_cursor: found
            .next
            .map(|p| app.cursors.seal(&owner, PURCHASES_LIST, &p)),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutView {
    url: String,
    session_id: String,
}

/// `POST /billing/checkout {pack}`: a Stripe Checkout Session for the pack, and a pending
/// purchase. Credits come only from the webhook.
#[utoipa::path(post, path = "/billing/checkout", tag = "billing", operation_id = "createCheckout", security(("bearer" = []), ("cookie" = [])),
    request_body = CheckoutBody,
    responses(
        (status = 200, description = "A Stripe Checkout page for the pack; credits arrive with the webhook.", body = CheckoutView),
        (status = 429, description = "rate_limited: too many paid requests from this user or client address this minute (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
        (status = 502, description = "provider_unavailable: Stripe did not answer.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn checkout(
    State(app): State<App>,
    caller: SignedIn,
    ClientIp(from): ClientIp,
    Json(body): Json<CheckoutBody>,
) -> Result<Json<CheckoutView>, ApiError> {
    admit_paid(&app.paid, caller.user, from).await?;
    let page = app
        .billing
        .checkout(caller.user, &body.pack, OffsetDateTime::now_utc())
        .await
        .map_err(|refusal| match refusal {
            CheckoutRefusal::UnknownPack => {
                artforge_domain::FieldError::new("pack", "is not one of the offered packs").into()
            }
            CheckoutRefusal::NoAccount => {
                ApiError::new(ErrorCode::Unauthorized, "the account no longer exists")
            }
            CheckoutRefusal::Payments(e) => ApiError::new(
                ErrorCode::ProviderUnavailable,
                "the payment provider is unavailable; try again",
            )
            .caused_by(e),
            CheckoutRefusal::Store(e) => e.into(),
        })?;
    Ok(Json(CheckoutView {
        url: page.url,
        session_id: page.session_id,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    received: bool,
}

fn invalid_signature() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidSignature,
        "the Stripe-Signature header does not match the body",
    )
}

/// `POST /billing/webhook`: Stripe's events, verified on the raw body.
#[utoipa::path(post, path = "/billing/webhook", tag = "billing", operation_id = "receiveWebhook",
    params(("Stripe-Signature" = String, Header, description = "Stripe's `t=...,v1=...` signature of the raw body.")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "A Stripe event, verified on the raw bytes."),
    responses(
        (status = 200, description = "Authentic: handled, or ignored on purpose (so Stripe stops retrying).", body = Received),
        (status = 400, description = "invalid_signature: the signature is missing, stale or does not match the body.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "service_unavailable: the store failed; Stripe retries.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
pub async fn webhook(State(app): State<App>, request: Request) -> Result<Json<Received>, ApiError> {
    let header = request
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(invalid_signature)?;
    let body = read_body_up_to(request, WEBHOOK_MAX_BODY_BYTES).await?;
    let payload = std::str::from_utf8(&body).map_err(|_| invalid_signature())?;
    if !app.secrets.verify(payload, &header) {
        warn!("webhook with a bad signature refused");
        return Err(invalid_signature());
    }
    let event: Envelope = match serde_json::from_str(payload) {
        Ok(event) => event,
        Err(e) => {
            error!(error = %e, "an authentic webhook body is not an event; answered 200 so Stripe stops retrying");
            return Ok(Json(Received { received: true }));
        }
    };
    match app.billing.apply(&event, OffsetDateTime::now_utc()).await {
        Ok(Applied::Done(outcome)) => {
            info!(event = %event.id, kind = %event.kind, outcome, "webhook handled");
        }
        Ok(Applied::Ignored(Ignored::Mismatch { expected, got })) => {
            error!(event = %event.id, kind = %event.kind, %expected, %got, "PAYMENT DOES NOT MATCH ITS PACK: no credits granted");
        }
        Ok(Applied::Ignored(reason)) => {
            info!(event = %event.id, kind = %event.kind, %reason, "webhook ignored");
        }
        Err(e) => return Err(ApiError::unavailable(e)),
    }
    Ok(Json(Received { received: true }))
}
