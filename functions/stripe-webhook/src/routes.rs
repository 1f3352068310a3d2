//! The billing handlers. The webhook answers 400 to a bad signature, 2xx to anything authentic
//! it handled or chose to ignore (so Stripe does not retry it for days), and 5xx only when the
//! store failed, so Stripe retries.

use artforge_domain::{
    Accounts, ClawBack, Fulfilment, PackId, Payments, Purchase, PurchaseStatus, Purchases,
    StoreError, UserId,
};
use artforge_http::{
    ApiError, ErrorCode, Json, Query, SignedIn,
    json::read_body,
    problem::ProblemBody,
    query::{Listing, PageParams},
    requests::billing::CheckoutBody,
};
use axum::extract::{Request, State};
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tracing::{error, info, instrument, warn};

use crate::{
    BillingState,
    events::{Charge, Envelope, Session},
};

const PURCHASES_LIST: &str = "purchases";

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
pub async fn packs<S, P>(State(state): State<BillingState<S, P>>) -> Json<Listing<PackView>> {
    Json(Listing {
        items: state
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
    status: &'static str,
    /// The refunded share of the credits.
    credits_refunded: u64,
    /// Of those, what could not be taken back because it was already spent.
    credits_unrecovered: u64,
    created_at: String,
}

/// `GET /billing/purchases`: the caller's purchases, newest first.
#[utoipa::path(get, path = "/billing/purchases", tag = "billing", operation_id = "listPurchases", security(("bearer" = []), ("cookie" = [])),
    params(PageParams),
    responses((status = 200, description = "The caller's purchases, newest first.", body = Listing<PurchaseView>)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn purchases<S: Purchases, P>(
    State(state): State<BillingState<S, P>>,
    caller: SignedIn,
    Query(params): Query<PageParams>,
) -> Result<Json<Listing<PurchaseView>>, ApiError> {
    let owner = caller.user.to_string();
    let page = params.page(&state.cursors, &owner, PURCHASES_LIST)?;
    let found = state.store.purchases(caller.user, page).await?;
    Ok(Json(Listing {
        items: found
            .items
            .into_iter()
            .map(|p| PurchaseView {
                session_id: p.checkout_session,
                pack: p.pack.to_string(),
                credits: p.credits.get(),
                amount: p.amount,
                currency: p.currency,
                status: p.status.as_str(),
                credits_refunded: p.clawed_back.get(),
                credits_unrecovered: p.shortfall.get(),
                created_at: p.created_at.format(&Rfc3339).unwrap_or_default(),
            })
            .collect(),
        next_cursor: found
            .next
            .map(|p| state.cursors.seal(&owner, PURCHASES_LIST, &p)),
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
        (status = 502, description = "provider_unavailable: Stripe did not answer.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn checkout<S: Accounts + Purchases, P: Payments>(
    State(state): State<BillingState<S, P>>,
    caller: SignedIn,
    Json(body): Json<CheckoutBody>,
) -> Result<Json<CheckoutView>, ApiError> {
    let unknown = || {
        ApiError::from(artforge_domain::FieldError::new(
            "pack",
            "is not one of the offered packs",
        ))
    };
    let pack_id = PackId::parse(&body.pack).map_err(|_| unknown())?;
    let pack = state.packs.get(&pack_id).ok_or_else(unknown)?;
    let user =
        state.store.get(caller.user).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthorized, "the account no longer exists")
        })?;
    let page = state.payments.checkout(&user, pack).await.map_err(|e| {
        ApiError::new(
            ErrorCode::ProviderUnavailable,
            "the payment provider is unavailable; try again",
        )
        .caused_by(e)
    })?;
    state
        .store
        .start(&Purchase {
            checkout_session: page.session_id.clone(),
            user: user.id,
            pack: pack.id.clone(),
            credits: pack.credits,
            amount: pack.amount,
            currency: pack.currency.clone(),
            status: PurchaseStatus::Pending,
            created_at: OffsetDateTime::now_utc(),
            clawed_back: artforge_domain::Credits::ZERO,
            shortfall: artforge_domain::Credits::ZERO,
        })
        .await?;
    info!(session = %page.session_id, pack = %pack.id, "checkout opened");
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

/// Why an authentic event changed nothing.
#[derive(Debug)]
enum Ignored {
    Malformed(String),
    NotOurs(&'static str),
    Mismatch { expected: String, got: String },
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "its object is malformed: {e}"),
            Self::NotOurs(why) => f.write_str(why),
            Self::Mismatch { expected, got } => write!(f, "expected {expected}, got {got}"),
        }
    }
}

/// The purchase a Checkout Session is for, from its metadata, checked against its pack.
fn purchase_of<S, P>(
    state: &BillingState<S, P>,
    session: &Session,
    check_amount: bool,
) -> Result<Purchase, Ignored> {
    let user: UserId = session
        .metadata("userId")
        .or(session.client_reference_id.as_deref())
        .and_then(|u| u.parse().ok())
        .ok_or(Ignored::NotOurs("no user in the session"))?;
    let pack_id = session
        .metadata("packId")
        .and_then(|p| PackId::parse(p).ok())
        .ok_or(Ignored::NotOurs("no pack in the session"))?;
    let pack = state
        .packs
        .get(&pack_id)
        .ok_or(Ignored::NotOurs("unknown pack"))?;
    let currency = session.currency.clone().unwrap_or_default().to_lowercase();
    if check_amount && (session.amount_total != Some(pack.amount) || currency != pack.currency) {
        return Err(Ignored::Mismatch {
            expected: format!("{} {}", pack.amount, pack.currency),
            got: format!("{:?} {currency}", session.amount_total),
        });
    }
    Ok(Purchase {
        checkout_session: session.id.clone(),
        user,
        pack: pack_id,
        credits: pack.credits,
        amount: pack.amount,
        currency: pack.currency.clone(),
        status: PurchaseStatus::Pending,
        created_at: OffsetDateTime::now_utc(),
        clawed_back: artforge_domain::Credits::ZERO,
        shortfall: artforge_domain::Credits::ZERO,
    })
}

fn object<T: serde::de::DeserializeOwned>(event: &Envelope) -> Result<T, Ignored> {
    serde_json::from_value(event.data.object.clone()).map_err(|e| Ignored::Malformed(e.to_string()))
}

/// Acts on one authentic event. `Ok(Err(_))`: handled by ignoring it; `Err(_)`: a store
/// failure, worth a retry.
async fn handle<S: Purchases, P>(
    state: &BillingState<S, P>,
    event: &Envelope,
) -> Result<Result<&'static str, Ignored>, StoreError> {
    match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let session: Session = match object(event) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            let paid = session.payment_status.as_deref() == Some("paid");
            if !paid {
                // Completed but unpaid: an asynchronous method is still settling.
                return match purchase_of(state, &session, false) {
                    Ok(purchase) => {
                        state.store.start(&purchase).await?;
                        Ok(Ok("awaiting payment"))
                    }
                    Err(e) => Ok(Err(e)),
                };
            }
            let purchase = match purchase_of(state, &session, true) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let payment = session.payment_intent.as_ref().map(|p| p.id().to_owned());
            match state.store.fulfil(&purchase, payment.as_deref()).await {
                Ok(Fulfilment::Granted { balance }) => {
                    info!(user_id = %purchase.user, session = %purchase.checkout_session, credits = purchase.credits.get(), balance = balance.get(), "credits granted");
                    Ok(Ok("granted"))
                }
                Ok(Fulfilment::AlreadyGranted) => Ok(Ok("already granted")),
                Err(StoreError::NotFound) => Ok(Err(Ignored::NotOurs("no such user"))),
                Err(e) => Err(e),
            }
        }
        "checkout.session.async_payment_failed" => {
            let session: Session = match object(event) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            match purchase_of(state, &session, false) {
                Ok(purchase) => state
                    .store
                    .fail(&purchase)
                    .await
                    .map(|()| Ok("marked failed")),
                Err(e) => Ok(Err(e)),
            }
        }
        "charge.refunded" => {
            let charge: Charge = match object(event) {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let Some(payment) = charge.payment_intent.as_ref() else {
                return Ok(Err(Ignored::NotOurs("a charge without a payment intent")));
            };
            match state
                .store
                .claw_back(payment.id(), &charge.id, charge.amount_refunded)
                .await?
            {
                ClawBack::Taken { taken, shortfall } => {
                    if shortfall.get() > 0 {
                        warn!(charge = %charge.id, taken = taken.get(), shortfall = shortfall.get(), "refund exceeded the unspent credits; the shortfall is recorded on the purchase");
                    } else {
                        info!(charge = %charge.id, taken = taken.get(), "credits taken back");
                    }
                    Ok(Ok("clawed back"))
                }
                ClawBack::Nothing => Ok(Ok("nothing to take back")),
                ClawBack::UnknownPayment => Ok(Err(Ignored::NotOurs("a payment of no purchase"))),
            }
        }
        _ => Ok(Err(Ignored::NotOurs(
            "an event type this function does not handle",
        ))),
    }
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
pub async fn webhook<S: Purchases, P>(
    State(state): State<BillingState<S, P>>,
    request: Request,
) -> Result<Json<Received>, ApiError> {
    let header = request
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(invalid_signature)?;
    let body = read_body(request).await?;
    let payload = std::str::from_utf8(&body).map_err(|_| invalid_signature())?;
    if !state.secrets.verify(payload, &header) {
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
    match handle(&state, &event).await {
        Ok(Ok(outcome)) => info!(event = %event.id, kind = %event.kind, outcome, "webhook handled"),
        Ok(Err(Ignored::Mismatch { expected, got })) => {
            error!(event = %event.id, kind = %event.kind, %expected, %got, "PAYMENT DOES NOT MATCH ITS PACK: no credits granted");
        }
        Ok(Err(reason)) => info!(event = %event.id, kind = %event.kind, %reason, "webhook ignored"),
        Err(e) => {
            return Err(ApiError::unavailable(e));
        }
    }
    Ok(Json(Received { received: true }))
}
