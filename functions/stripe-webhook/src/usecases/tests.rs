//! The money rules of billing on in-memory fakes: grants once per session in any order and
//! repetition, refunds and disputes take back their share once (never below zero, the rest
//! owed), won disputes give it back, every order of Stripe's events ends where Stripe's final
//! state says, and what is not ours is ignored with its reason.

use std::sync::Arc;

use artforge_domain::{
    Credits, Ledger, PackId, Packs, PaidFor, Payment, PurchaseStatus, Purchases, UserId, Wallet,
};
use artforge_fakes::{FakePayments, MemoryStore, contract::account};
use serde_json::json;
use time::OffsetDateTime;

use super::*;

fn billing(store: &MemoryStore) -> Billing<MemoryStore, FakePayments> {
    Billing {
        store: store.clone(),
        payments: FakePayments::new(),
        packs: Arc::new(Packs::parse("starter:50:1000:usd:price_1").expect("packs")),
        livemode: Some(false),
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

async fn wallet(store: &MemoryStore, user: UserId) -> Wallet {
    store.wallet(user).await.expect("a wallet")
}

async fn purchase(store: &MemoryStore, user: UserId, session: &str) -> artforge_domain::Purchase {
    store
        .purchase(user, session)
        .await
        .expect("read")
        .expect("the purchase")
}

fn completed(id: &str, user: UserId) -> Envelope {
    event("checkout.session.completed", session(id, user, true, 1000))
}

fn dispute(kind: &str, session_id: &str, dispute: &str, amount: u64, status: &str) -> Envelope {
    event(
        kind,
        json!({"id": dispute, "object": "dispute", "amount": amount, "status": status,
               "charge": format!("ch_{session_id}"), "payment_intent": format!("pi_{session_id}")}),
    )
}

fn opened(session_id: &str, id: &str, amount: u64) -> Envelope {
    dispute(
        "charge.dispute.created",
        session_id,
        id,
        amount,
        "needs_response",
    )
}

fn closed(session_id: &str, id: &str, amount: u64, status: &str) -> Envelope {
    dispute("charge.dispute.closed", session_id, id, amount, status)
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
            .all(|a| matches!(a, Ok(Applied::Done("already known"))))
    );
    assert_eq!(balance(&store, user).await, 50);
    assert_eq!(
        purchase(&store, user, "cs_1").await.status,
        PurchaseStatus::Paid
    );
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
    assert_eq!(
        purchase(&store, user, "cs_2").await.status,
        PurchaseStatus::Paid
    );
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
        .apply(&completed("cs_4", UserId::new()), now())
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
    let no_intent = billing
        .apply(
            &event(
                "charge.refunded",
                json!({"id": "ch_1", "amount_refunded": 5}),
            ),
            now(),
        )
        .await
        .expect("applied");
    assert!(matches!(no_intent, Applied::Ignored(Ignored::NotOurs(_))));
}

#[tokio::test]
async fn an_event_of_the_other_mode_is_acknowledged_and_changes_nothing() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    let mut live = completed("cs_live", user);
    live.livemode = Some(true);
    let applied = billing.apply(&live, now()).await.expect("applied");
    assert!(
        matches!(applied, Applied::Ignored(Ignored::NotOurs(_))),
        "{applied:?}"
    );
    assert_eq!(balance(&store, user).await, 0);
    let mut test = completed("cs_live", user);
    test.livemode = Some(false);
    billing.apply(&test, now()).await.expect("applied");
    assert_eq!(
        balance(&store, user).await,
        50,
        "the configured mode's event grants"
    );
}

#[tokio::test]
async fn refunds_take_back_their_share_once_and_what_was_spent_is_owed() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    billing
        .apply(&completed("cs_5", user), now())
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
    assert_eq!(
        wallet(&store, user).await,
        Wallet {
            balance: Credits::ZERO,
            free: Credits::ZERO,
            debt: Credits::new(30)
        },
        "never below zero: the rest is owed"
    );
    let refunded = purchase(&store, user, "cs_5").await;
    assert_eq!(refunded.status, PurchaseStatus::Refunded);
    assert_eq!(refunded.taken_back(), Credits::new(50));
    assert_eq!(
        refunded.shortfall,
        Credits::new(30),
        "what was spent already"
    );
    // An older, smaller total arriving late takes nothing more.
    billing
        .apply(&refund("cs_5", 300), now())
        .await
        .expect("late");
    assert_eq!(balance(&store, user).await, 0);

    // The next purchase pays the debt first.
    billing
        .apply(&completed("cs_6", user), now())
        .await
        .expect("granted");
    assert_eq!(
        wallet(&store, user).await,
        Wallet {
            balance: Credits::new(20),
            free: Credits::ZERO,
            debt: Credits::ZERO
        }
    );
    assert!(store.books_balance());
}

#[tokio::test]
async fn a_refund_before_its_grant_is_netted_in_the_grant() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    let early = billing
        .apply(&refund("cs_7", 1000), now())
        .await
        .expect("remembered");
    assert_eq!(early, Applied::Done("refunded"));
    billing
        .apply(&completed("cs_7", user), now())
        .await
        .expect("granted");
    assert_eq!(
        balance(&store, user).await,
        0,
        "a fully refunded purchase grants nothing"
    );
    assert_eq!(
        purchase(&store, user, "cs_7").await.status,
        PurchaseStatus::Refunded
    );

    billing
        .apply(&refund("cs_8", 300), now())
        .await
        .expect("remembered");
    billing
        .apply(&completed("cs_8", user), now())
        .await
        .expect("granted");
    assert_eq!(balance(&store, user).await, 35);
    assert!(store.books_balance());
}

#[tokio::test]
async fn a_dispute_takes_the_credits_back_until_it_is_won_and_each_once() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    billing
        .apply(&completed("cs_9", user), now())
        .await
        .expect("granted");
    for _ in 0..2 {
        billing
            .apply(&opened("cs_9", "dp_1", 1000), now())
            .await
            .expect("disputed");
    }
    assert_eq!(balance(&store, user).await, 0, "taken back once");
    assert_eq!(
        purchase(&store, user, "cs_9").await.status,
        PurchaseStatus::Disputed
    );
    for _ in 0..2 {
        billing
            .apply(&closed("cs_9", "dp_1", 1000, "won"), now())
            .await
            .expect("won");
    }
    assert_eq!(balance(&store, user).await, 50, "given back once");
    assert_eq!(
        purchase(&store, user, "cs_9").await.status,
        PurchaseStatus::Paid
    );
    let late = billing
        .apply(&closed("cs_9", "dp_1", 1000, "lost"), now())
        .await
        .expect("a contradiction");
    assert_eq!(
        late,
        Applied::Done("already known"),
        "a closed dispute stays closed"
    );
    assert_eq!(balance(&store, user).await, 50);

    // A second purchase's dispute is lost: its credits stay taken.
    billing
        .apply(&completed("cs_10", user), now())
        .await
        .expect("granted");
    billing
        .apply(&opened("cs_10", "dp_2", 1000), now())
        .await
        .expect("disputed");
    billing
        .apply(&closed("cs_10", "dp_2", 1000, "lost"), now())
        .await
        .expect("lost");
    assert_eq!(balance(&store, user).await, 50);
    assert!(store.books_balance());
}

#[tokio::test]
async fn a_dispute_of_spent_credits_becomes_a_debt_that_winning_it_repays() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    billing
        .apply(&completed("cs_11", user), now())
        .await
        .expect("granted");
    store
        .apply(
            user,
            &CreditCause::JobDebit(artforge_domain::JobId::new()),
            artforge_domain::Movement::Debit(Credits::new(45)),
        )
        .await
        .expect("spent");
    billing
        .apply(&opened("cs_11", "dp_3", 1000), now())
        .await
        .expect("disputed");
    assert_eq!(
        wallet(&store, user).await,
        Wallet {
            balance: Credits::ZERO,
            free: Credits::ZERO,
            debt: Credits::new(45)
        }
    );
    billing
        .apply(&closed("cs_11", "dp_3", 1000, "won"), now())
        .await
        .expect("won");
    assert_eq!(
        wallet(&store, user).await,
        Wallet {
            balance: Credits::new(5),
            free: Credits::ZERO,
            debt: Credits::ZERO
        }
    );
}

/// One fact about the test payment, as Stripe would deliver it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fact {
    Paid,
    PartialRefund,
    FullRefund,
    Disputed,
    Closed {
        won: bool,
    },
    /// The user spends 20 credits (refused when the balance cannot cover it).
    Spend,
}

impl Fact {
    fn event(self, user: UserId) -> Option<Envelope> {
        let s = "cs_order";
        Some(match self {
            Self::Paid => completed(s, user),
            Self::PartialRefund => refund(s, 300),
            Self::FullRefund => refund(s, 1000),
            Self::Disputed => opened(s, "dp_order", 500),
            Self::Closed { won } => closed(s, "dp_order", 500, if won { "won" } else { "lost" }),
            Self::Spend => return None,
        })
    }
}

/// What Stripe's final state says the purchase is worth, whatever the order it was told in.
fn implied(user: UserId, facts: &[Fact]) -> Credits {
    let paid = PaidFor {
        user,
        checkout_session: "cs_order".into(),
        pack: PackId::parse("starter").expect("an id"),
        credits: Credits::new(50),
        amount: 1000,
        currency: "usd".into(),
    };
    let mut payment = Payment::new("pi_cs_order");
    payment.paid_for = Some(paid);
    payment.refunded = facts
        .iter()
        .map(|f| match f {
            Fact::PartialRefund => 300,
            Fact::FullRefund => 1000,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    if facts.contains(&Fact::Disputed) || facts.iter().any(|f| matches!(f, Fact::Closed { .. })) {
        let won = facts.contains(&Fact::Closed { won: true });
        let status = if won {
            artforge_domain::DisputeStatus::Won
        } else if facts.contains(&Fact::Closed { won: false }) {
            artforge_domain::DisputeStatus::Lost
        } else {
            artforge_domain::DisputeStatus::Open
        };
        payment.disputes.insert(
            "dp_order".into(),
            artforge_domain::Dispute {
                amount: 500,
                status,
            },
        );
    }
    payment.worth()
}

/// Every permutation of `items` (Heap's algorithm).
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    fn heap<T: Clone>(k: usize, items: &mut Vec<T>, out: &mut Vec<Vec<T>>) {
        if k <= 1 {
            out.push(items.clone());
            return;
        }
        for i in 0..k {
            heap(k - 1, items, out);
            let j = if k.is_multiple_of(2) { i } else { 0 };
            items.swap(j, k - 1);
        }
    }
    let mut out = Vec::new();
    heap(items.len(), &mut items.to_vec(), &mut out);
    out
}

/// Delivers `order` (each event twice, the repeat right after) and checks the books: the
/// balance is the ledger's sum, and balance less debt is what the purchase is worth less what
/// was spent.
async fn deliver(order: &[Fact]) -> Result<(), String> {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    let mut spent = 0u64;
    for fact in order {
        match fact.event(user) {
            Some(event) => {
                for _ in 0..2 {
                    billing
                        .apply(&event, now())
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            None => {
                let debit = artforge_domain::Movement::Debit(Credits::new(20));
                let cause = CreditCause::JobDebit(artforge_domain::JobId::new());
                if store.apply(user, &cause, debit).await.is_ok() {
                    spent += 20;
                }
            }
        }
    }
    let w = wallet(&store, user).await;
    let worth = implied(user, order).get();
    let net = i128::from(w.balance.get()) - i128::from(w.debt.get());
    let expected = i128::from(worth) - i128::from(spent);
    if net != expected || !store.books_balance() {
        return Err(format!(
            "{order:?}: wallet {w:?}, worth {worth}, spent {spent}, books balance: {}",
            store.books_balance()
        ));
    }
    Ok(())
}

#[tokio::test]
async fn every_order_of_grant_refunds_and_dispute_ends_where_stripe_says() {
    let mut checked = 0;
    for won in [true, false] {
        let facts = [
            Fact::Paid,
            Fact::PartialRefund,
            Fact::FullRefund,
            Fact::Disputed,
            Fact::Closed { won },
            Fact::Spend,
        ];
        for order in permutations(&facts) {
            deliver(&order).await.expect("the books add up");
            checked += 1;
        }
        // Without the full refund, so the dispute's outcome shows in the credits.
        for order in permutations(
            &facts[..]
                .iter()
                .copied()
                .filter(|f| *f != Fact::FullRefund)
                .collect::<Vec<_>>(),
        ) {
            deliver(&order).await.expect("the books add up");
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * (720 + 120));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_every_event_move_credits_once_each() {
    for round in 0..50 {
        let store = MemoryStore::new();
        let user = account(&store, 0).await;
        let billing = Arc::new(billing(&store));
        let won = round % 2 == 0;
        let events: Vec<Envelope> = [
            Fact::Paid,
            Fact::PartialRefund,
            Fact::Disputed,
            Fact::Closed { won },
        ]
        .iter()
        .filter_map(|f| f.event(user))
        .collect();
        let tasks: Vec<_> = events
            .iter()
            .chain(events.iter())
            .chain(events.iter())
            .map(|e| {
                let billing = billing.clone();
                let e = serde_json::to_value(&e.data.object).expect("json");
                let kind = events
                    .iter()
                    .find(|x| x.data.object == e)
                    .map(|x| x.kind.clone())
                    .expect("a kind");
                tokio::spawn(async move { billing.apply(&event(&kind, e), now()).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("joined").expect("applied");
        }
        let expected = if won { 35 } else { 10 };
        assert_eq!(balance(&store, user).await, expected, "round {round}");
        assert!(store.books_balance());
    }
}

#[tokio::test]
async fn the_return_page_grants_a_session_stripe_says_is_paid_once_with_the_webhook() {
    let store = MemoryStore::new();
    let user = account(&store, 0).await;
    let billing = billing(&store);
    let page = billing
        .checkout(user, "starter", now())
        .await
        .expect("opened");
    let pending = billing
        .purchase(user, &page.session_id, now())
        .await
        .expect("looked up");
    assert_eq!(
        (pending.purchase.status, pending.checked),
        (PurchaseStatus::Pending, true),
        "not paid yet: pending, and Stripe was asked"
    );
    billing.payments.faults.fail("session", 1);
    let unreachable = billing
        .purchase(user, &page.session_id, now())
        .await
        .expect("looked up");
    assert_eq!(
        (unreachable.purchase.status, unreachable.checked),
        (PurchaseStatus::Pending, false),
        "Stripe unreachable: still pending, and said so"
    );

    billing
        .payments
        .pay(&page.session_id)
        .expect("an opened session");
    let paid = billing
        .purchase(user, &page.session_id, now())
        .await
        .expect("looked up");
    assert_eq!(paid.purchase.status, PurchaseStatus::Paid);
    assert_eq!(balance(&store, user).await, 50);
    // The webhook arrives later: nothing more.
    let mut late = session(&page.session_id, user, true, 1000);
    late["payment_intent"] = json!(format!("pi_fake_{}", page.session_id));
    let applied = billing
        .apply(&event("checkout.session.completed", late), now())
        .await
        .expect("applied");
    assert_eq!(applied, Applied::Done("already known"));
    billing
        .purchase(user, &page.session_id, now())
        .await
        .expect("looked up");
    assert_eq!(balance(&store, user).await, 50);

    let stranger = account(&store, 0).await;
    assert!(matches!(
        billing.purchase(stranger, &page.session_id, now()).await,
        Err(LookupRefusal::NotFound)
    ));
    assert!(store.books_balance());
}
