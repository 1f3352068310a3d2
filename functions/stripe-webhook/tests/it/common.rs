//! The billing router, built by the function's one wiring over a fresh table in moto, and
//! Stripe-shaped events signed with Stripe's own scheme (`async-stripe-webhook`'s test headers,
//! imported as `stripe_signer`).

use artforge_aws::SdkConfig;
use artforge_devstack::stripe::{Price, StandIn};
use artforge_domain::{Accounts, UserId};
use artforge_dynamo::DynamoStore;
use axum::{Router, body::Body};
use http::{Request, header};
use serde_json::json;
use stripe_webhook::{Config, config::StripeConfig, signature::WebhookSecrets};

pub const SECRET: &str = "whsec_test_current";
pub const PREVIOUS_SECRET: &str = "whsec_test_previous";

pub struct App {
    pub router: Router,
    /// The function's table, read and written directly (not through the router).
    pub store: DynamoStore,
}

pub use artforge_testkit::http::Answer;

pub const PACKS: &str = "starter:50:1000:usd:price_s,creator:300:3000:usd:price_c";

/// Where Stripe's API is unreachable.
const NO_STRIPE: &str = "http://127.0.0.1:9/";

fn config(table: &str, stripe_base: &str) -> Config {
    Config {
        table_name: table.to_owned(),
        session: artforge_testkit::session_config(),
        packs: artforge_domain::Packs::parse(PACKS).expect("packs"),
        webhook_secrets: WebhookSecrets::parse(&format!("{SECRET},{PREVIOUS_SECRET}")),
        stripe: StripeConfig {
            secret_key: "sk_test_stand_in".to_owned().into(),
            api_base: stripe_base.to_owned(),
            success_url:
                "https://artforge.example/credits?checkout=success&session_id={CHECKOUT_SESSION_ID}"
                    .into(),
            cancel_url: "https://artforge.example/credits?checkout=cancelled".into(),
        },
        paid: artforge_domain::PaidLimits::default(),
    }
}

impl App {
    /// The billing router; Stripe's API is unreachable.
    pub async fn new() -> Self {
        let store = artforge_testkit::fresh_store().await;
        Self::wired(store, &artforge_testkit::sdk_config(), NO_STRIPE)
    }

    /// The billing router over a table that does not exist: every store call fails.
    pub fn over_missing_table() -> Self {
        let aws = artforge_testkit::sdk_config();
        let missing = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), "no-such-table");
        Self::wired(missing, &aws, NO_STRIPE)
    }

    /// The billing router over `table`, every AWS call of the function and of the test's store
    /// going through `aws` (e.g. a fault proxy in front of moto); Stripe's API is unreachable.
    pub fn through(aws: &SdkConfig, table: &str) -> Self {
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table);
        Self::wired(store, aws, NO_STRIPE)
    }

    /// The function built by its one wiring over `aws` and `store`'s table.
    fn wired(store: DynamoStore, aws: &SdkConfig, stripe_base: &str) -> Self {
        let app = stripe_webhook::App::build(config(store.table(), stripe_base), aws)
            .expect("the billing function builds");
        Self {
            router: app.router(),
            store,
        }
    }

    /// The billing router served on a port, with the local Stripe stand-in on another whose
    /// "Pay" sends its signed webhook to this billing server.
    pub async fn with_stand_in() -> (Self, String) {
        let store = artforge_testkit::fresh_store().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let billing_url = format!("http://{}", listener.local_addr().expect("address"));
        let prices = artforge_domain::Packs::parse(PACKS)
            .expect("packs")
            .iter()
            .map(|p| {
                (
                    p.price_id.clone(),
                    Price {
                        amount: p.amount,
                        currency: p.currency.clone(),
                    },
                )
            })
            .collect();
        let stand_in_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let stand_in_url = format!(
            "http://{}",
            stand_in_listener.local_addr().expect("address")
        );
        let stand_in = StandIn::new(
            prices,
            &stand_in_url,
            &format!("{billing_url}/billing/webhook"),
            SECRET,
        );
        tokio::spawn(async move { axum::serve(stand_in_listener, stand_in.routes()).await });
        let app = Self::wired(
            store,
            &artforge_testkit::sdk_config(),
            &format!("{stand_in_url}/"),
        );
        let router = app.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (app, stand_in_url)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> Answer {
        self.send(artforge_testkit::http::request(
            "POST",
            path,
            token,
            Some(body),
        ))
        .await
    }

    pub async fn user(&self) -> (UserId, String) {
        artforge_testkit::signed_in_user(&self.store).await
    }

    pub async fn balance(&self, user: UserId) -> u64 {
        self.store
            .get(user)
            .await
            .expect("read")
            .expect("user")
            .credits
            .get()
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        artforge_testkit::http::send(&self.router, request).await
    }

    /// Posts `body` to the webhook with `signature` as the `Stripe-Signature` header.
    pub async fn deliver_with(&self, body: &str, signature: Option<&str>) -> Answer {
        let mut request =
            Request::post("/billing/webhook").header(header::CONTENT_TYPE, "application/json");
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        self.send(request.body(Body::from(body.to_owned())).expect("request"))
            .await
    }

    /// Posts `body` signed with the current secret, now.
    pub async fn deliver(&self, body: &str) -> Answer {
        let header = sign(body, SECRET, None);
        self.deliver_with(body, Some(&header)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(artforge_testkit::http::request("GET", path, token, None))
            .await
    }
}

pub fn sign(body: &str, secret: &str, timestamp: Option<i64>) -> String {
    stripe_signer::Webhook::generate_test_header(body, secret, timestamp)
}

/// A `checkout.session.*` event as Stripe sends it (the fields that matter, real-shaped).
pub fn session_event(
    kind: &str,
    session: &str,
    user: UserId,
    pack: &str,
    amount: u64,
    payment_status: &str,
) -> String {
    json!({
        "id": format!("evt_{}_{}", kind.replace('.', "_"), session),
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": 1_795_435_200,
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
        "data": {"object": {
            "id": session,
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": payment_status,
            "amount_subtotal": amount,
            "amount_total": amount,
            "currency": "usd",
            "client_reference_id": user.to_string(),
            "customer_email": "ada@example.com",
            "metadata": {"userId": user.to_string(), "packId": pack},
            "payment_intent": format!("pi_{session}"),
            "livemode": false
        }}
    })
    .to_string()
}

/// A `charge.refunded` event: `amount_refunded` is the total refunded so far.
pub fn refund_event(session: &str, amount: u64, amount_refunded: u64) -> String {
    json!({
        "id": format!("evt_refund_{session}_{amount_refunded}"),
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": 1_795_435_300,
        "livemode": false,
        "pending_webhooks": 1,
        "type": "charge.refunded",
        "data": {"object": {
            "id": format!("ch_{session}"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": amount_refunded,
            "currency": "usd",
            "paid": true,
            "refunded": amount_refunded >= amount,
            "payment_intent": format!("pi_{session}"),
            "status": "succeeded"
        }}
    })
    .to_string()
}

/// A `charge.dispute.created` or `charge.dispute.closed` event of the session's payment.
pub fn dispute_event(
    kind: &str,
    session: &str,
    dispute: &str,
    amount: u64,
    status: &str,
) -> String {
    json!({
        "id": format!("evt_{}_{dispute}_{status}", kind.replace('.', "_")),
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": 1_795_435_400,
        "livemode": false,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": {
            "id": dispute,
            "object": "dispute",
            "amount": amount,
            "currency": "usd",
            "charge": format!("ch_{session}"),
            "payment_intent": format!("pi_{session}"),
            "reason": "fraudulent",
            "status": status,
            "livemode": false
        }}
    })
    .to_string()
}
