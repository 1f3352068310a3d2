//! The money rules of billing on in-memory fakes: grants once per session in any order and
//! repetition, refunds take back their share once and never below zero, and what is not ours
//! is ignored with its reason.

use std::sync::Arc;

use artforge_domain::{Credits, Ledger, Packs, PurchaseStatus, Purchases, UserId};
use artforge_fakes::{FakePayments, MemoryStore, contract::account};
use serde_json::json;
use time::OffsetDateTime;

use super::*;

fn billing(store: &MemoryStore) -> Billing<MemoryStore, FakePayments> {
    Billing {
        store: store.clone(),
        payments: FakePayments::new(),
        packs: Arc::new(Packs::parse("starter:50:1000:usd:price_1").expect("packs")),
    }
}

fn event(kind: &str, object: serde_json::Value) -> Envelope {
    serde_json::from_value(json!({"id": "evt_1", "type": kind, "data": {"object": object}}))
        .expect("an event")
}

fn session(id: &str, user: UserId, paid: bool, amount: u64) -> serde_json::Value {
    json!({
        "id": id,
        "payment_status": if paid { "paid" } else { "unpaid" },
        "amount_total": amount,
        "currency": "usd",
        "client_reference_id": user.to_string(),
        "metadata": {"userId": user.to_string(), "packId": "starter"},
        "payment_intent": format!("pi_{id}"),
    })
}

fn refund(session_id: &str, refunded: u64) -> Envelope {
    event(
        "charge.refunded",
        json!({"id": format!("ch_{session_id}"), "amount_refunded": refunded,
               "payment_intent": format!("pi_{session_id}")}),
    )
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn balance(store: &MemoryStore, user: UserId) -> u64 {
    store.balance(user).await.expect("a balance").get()
}

#[tokio::test]
async fn a_checkout_records_a_pending_purchase_and_grants_nothing() {
    let store = MemoryStore::new();
    let user = account(&store, 3).await;
    let billing = billing(&store);
    let page = billing
        .checkout(user, "starter", now())
        .await
        .expect("opened");
    let listed = store
        .purchases(
            user,
            artforge_domain::PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await
        .expect("listed");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].checkout_session, page.session_id);
    assert_eq!(listed.items[0].status, PurchaseStatus::Pending);
    assert_eq!(balance(&store, user).await, 3);
    assert!(matches!(
        billing.checkout(user, "platinum", now()).await,
        Err(CheckoutRefusal::UnknownPack)
    ));
    assert!(matches!(
        billing.checkout(UserId::new(), "starter", now()).await,
        Err(CheckoutRefusal::NoAccount)
    ));
    billing.payments.faults.fail("checkout", 1);
    assert!(matches!(
        billing.checkout(user, "starter", now()).await,
        Err(CheckoutRefusal::Payments(_))
    ));
}

#[tokio::test]
async fn a_paid_session_grants_once_however_often_and_however_it_is_reported() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    let paid = session("cs_1", user, true, 1000);
    for kind in [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.completed",
    ] {
        billing
            .apply(&event(kind, paid.clone()), now())
            .await
            .expect("applied");
    }
    assert_eq!(balance(&store, user).await, 50);
    let delivery = event("checkout.session.completed", paid.clone());
    let concurrent =
        futures::future::join_all((0..10).map(|_| billing.apply(&delivery, now()))).await;
    assert!(
        concurrent
            .iter()
            .all(|a| matches!(a, Ok(Applied::Done("already granted"))))
    );
    assert_eq!(balance(&store, user).await, 50);
    assert!(store.books_balance());
}

#[tokio::test]
async fn an_unpaid_session_waits_and_its_asynchronous_outcome_decides() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    let applied = billing
        .apply(
            &event(
                "checkout.session.completed",
                session("cs_2", user, false, 1000),
            ),
            now(),
        )
        .await
        .expect("applied");
    assert_eq!(applied, Applied::Done("awaiting payment"));
    assert_eq!(balance(&store, user).await, 0);
    billing
        .apply(
            &event(
                "checkout.session.async_payment_succeeded",
                session("cs_2", user, true, 1000),
            ),
            now(),
        )
        .await
        .expect("applied");
    assert_eq!(balance(&store, user).await, 50);
    // A late failure of a paid session changes nothing.
    billing
        .apply(
            &event(
                "checkout.session.async_payment_failed",
                session("cs_2", user, false, 1000),
            ),
            now(),
        )
        .await
        .expect("applied");
    let purchase = store
        .paid_with("pi_cs_2")
        .await
        .expect("read")
        .expect("the purchase");
    assert_eq!(purchase.status, PurchaseStatus::Paid);
}

#[tokio::test]
async fn a_payment_that_does_not_match_its_pack_grants_nothing() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let applied = billing(&store)
        .apply(
            &event("checkout.session.completed", session("cs_3", user, true, 1)),
            now(),
        )
        .await
        .expect("applied");
    assert!(
        matches!(applied, Applied::Ignored(Ignored::Mismatch { .. })),
        "{applied:?}"
    );
    assert_eq!(balance(&store, user).await, 0);
}

#[tokio::test]
async fn what_is_not_ours_is_ignored_with_its_reason() {
    let store = MemoryStore::new();
    let billing = billing(&store);
    let stranger = billing
        .apply(
            &event(
                "checkout.session.completed",
                session("cs_4", UserId::new(), true, 1000),
            ),
            now(),
        )
        .await
        .expect("applied");
    assert_eq!(stranger, Applied::Ignored(Ignored::NotOurs("no such user")));
    let other = billing
        .apply(&event("invoice.paid", json!({"id": "in_1"})), now())
        .await
        .expect("applied");
    assert!(matches!(other, Applied::Ignored(Ignored::NotOurs(_))));
    let malformed = billing
        .apply(&event("charge.refunded", json!({"id": 7})), now())
        .await
        .expect("applied");
    assert!(matches!(malformed, Applied::Ignored(Ignored::Malformed(_))));
    let unknown = billing
        .apply(&refund("cs_none", 500), now())
        .await
        .expect("applied");
    assert_eq!(
        unknown,
        Applied::Ignored(Ignored::NotOurs("a payment of no purchase"))
    );
}

#[tokio::test]
async fn refunds_take_back_their_share_once_and_never_below_zero() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    billing
        .apply(
            &event(
                "checkout.session.completed",
                session("cs_5", user, true, 1000),
            ),
            now(),
        )
        .await
        .expect("granted");
    billing
        .apply(&refund("cs_5", 300), now())
        .await
        .expect("partial");
    billing
        .apply(&refund("cs_5", 300), now())
        .await
        .expect("repeated");
    assert_eq!(balance(&store, user).await, 35, "30% of 50 taken back once");
    // Spend most of what is left, then the rest is refunded.
    store
        .apply(
            user,
            &CreditCause::JobDebit(artforge_domain::JobId::new()),
            artforge_domain::Movement::Debit(Credits::new(30)),
        )
        .await
        .expect("spent");
    billing
        .apply(&refund("cs_5", 1000), now())
        .await
        .expect("full");
    assert_eq!(balance(&store, user).await, 0, "never below zero");
    let purchase = store
        .paid_with("pi_cs_5")
        .await
        .expect("read")
        .expect("the purchase");
    assert_eq!(purchase.status, PurchaseStatus::Refunded);
    assert_eq!(purchase.clawed_back, Credits::new(50));
    assert_eq!(
        purchase.shortfall,
        Credits::new(30),
        "what was spent already"
    );
    // An older, smaller total arriving late takes nothing more.
    billing
        .apply(&refund("cs_5", 300), now())
        .await
        .expect("late");
    assert_eq!(balance(&store, user).await, 0);
    assert!(store.books_balance());
}
