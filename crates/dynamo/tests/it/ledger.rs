//! The credit ledger mechanism against moto: the balance is never negative, always equals the
//! sum of the ledger, and a cause moves credits at most once, however it is repeated or raced.

use artforge_domain::{
    Accounts, Change, CreditCause, Credits, Email, JobId, Ledger, LedgerOutcome, Movement,
    PageRequest, PasswordHash, StoreError, UserId, ports::NewAccount,
};
use artforge_dynamo::{DynamoStore, ledger::ApplyError, transaction::Transaction};
use aws_sdk_dynamodb::types::{AttributeValue, Put};
use proptest::prelude::*;
use time::OffsetDateTime;

async fn open_account(store: &DynamoStore, credits: u64) -> UserId {
    let id = UserId::new();
    store
        .create(NewAccount {
            id,
            email: Email::parse(&format!("{id}@example.com")).expect("email"),
            name: None,
            password_hash: PasswordHash::from_phc(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
            ),
            signup_credits: Credits::new(credits),
            created_at: OffsetDateTime::now_utc(),
        })
        .await
        .expect("account");
    id
}

async fn balance(store: &DynamoStore, user: UserId) -> u64 {
    store
        .get(user)
        .await
        .expect("read")
        .expect("user")
        .credits
        .get()
}

/// Every ledger entry of `user`, through the paginated history.
async fn ledger_sum(store: &DynamoStore, user: UserId) -> (i64, usize) {
    let (mut sum, mut count, mut after) = (0, 0, None);
    loop {
        let page = store
            .history(user, PageRequest { limit: 7, after })
            .await
            .expect("history");
        count += page.items.len();
        sum += page.items.iter().map(|e| e.delta).sum::<i64>();
        match page.next {
            Some(next) => after = Some(next),
            None => return (sum, count),
        }
    }
}

#[tokio::test]
async fn a_debit_the_balance_cannot_cover_is_refused_and_writes_nothing() {
    let store = artforge_testkit::fresh_store().await;
    let user = open_account(&store, 3).await;
    let cause = CreditCause::JobDebit(JobId::new());
    let err = store
        .apply(user, &cause, Movement::Debit(Credits::new(4)))
        .await
        .expect_err("uncovered");
    assert!(
        matches!(err, StoreError::InsufficientCredits(e) if e.balance == Credits::new(3)),
        "{err:?}"
    );
    assert_eq!(balance(&store, user).await, 3);
    assert_eq!(ledger_sum(&store, user).await, (3, 1));
    // The refused cause did not burn its guard: it can still happen once covered.
    store
        .apply(
            user,
            &CreditCause::Purchase {
                checkout_session: "cs_1".into(),
                step: 1,
                reason: Change::Paid,
            },
            Movement::Purchase(Credits::new(1)),
        )
        .await
        .expect("grant");
    let outcome = store
        .apply(user, &cause, Movement::Debit(Credits::new(4)))
        .await
        .expect("covered now");
    assert_eq!(outcome.balance(), Credits::ZERO);
}

#[tokio::test]
async fn a_claw_back_stops_at_zero_and_reports_what_it_could_not_take() {
    let store = artforge_testkit::fresh_store().await;
    let user = open_account(&store, 3).await;
    let cause = CreditCause::Purchase {
        checkout_session: "cs_1".into(),
        step: 2,
        reason: Change::Refunded,
    };
    let outcome = store
        .apply(user, &cause, Movement::ClawBack(Credits::new(50)))
        .await
        .expect("applied");
    match outcome {
        LedgerOutcome::Applied { entry, shortfall } => {
            assert_eq!(
                (entry.delta, entry.balance_after, shortfall),
                (-3, Credits::ZERO, Credits::new(47))
            );
            assert_eq!(entry.reason, "purchase_refund");
            assert_eq!(entry.reference.as_deref(), Some("cs_1"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ledger_sum(&store, user).await, (0, 2));
}

#[tokio::test]
async fn moving_credits_of_a_user_who_does_not_exist_is_not_found() {
    let store = artforge_testkit::fresh_store().await;
    let err = store
        .apply(
            UserId::new(),
            &CreditCause::Signup,
            Movement::GrantFree(Credits::new(3)),
        )
        .await
        .expect_err("no such user");
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_debits_of_one_credit_from_a_balance_of_one_succeed_once() {
    let store = artforge_testkit::fresh_store().await;
    let user = open_account(&store, 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .apply(
                        user,
                        &CreditCause::JobDebit(JobId::new()),
                        Movement::Debit(Credits::new(1)),
                    )
                    .await
            })
        })
        .collect();
    let mut applied = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(LedgerOutcome::Applied { .. }) => applied += 1,
            Err(StoreError::InsufficientCredits(_)) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((applied, refused), (1, 19));
    assert_eq!(balance(&store, user).await, 0);
    assert_eq!(ledger_sum(&store, user).await, (0, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_cause_delivered_ten_times_at_once_moves_credits_once() {
    let store = artforge_testkit::fresh_store().await;
    let user = open_account(&store, 0).await;
    let cause = CreditCause::Purchase {
        checkout_session: "cs_live_dup".into(),
        step: 1,
        reason: Change::Paid,
    };
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, cause) = (store.clone(), cause.clone());
            tokio::spawn(async move {
                store
                    .apply(user, &cause, Movement::Purchase(Credits::new(50)))
                    .await
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        match task.await.expect("task").expect("no error") {
            LedgerOutcome::Applied { .. } => applied += 1,
            LedgerOutcome::AlreadyApplied { balance } => assert!(balance.get() <= 50),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(balance(&store, user).await, 50);
    assert_eq!(ledger_sum(&store, user).await, (50, 2));
}

#[tokio::test]
async fn a_rejected_extra_item_cancels_the_whole_movement() {
    let store = artforge_testkit::fresh_store().await;
    let user = open_account(&store, 5).await;
    let existing = Put::builder()
        .table_name(store.table())
        .item("pk", AttributeValue::S(format!("USER#{user}")))
        .item("sk", AttributeValue::S("EFFECT#signup".into()))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("put");
    let extra = |_: &artforge_domain::Settlement| {
        let mut tx = Transaction::new();
        tx.put_built("existing", Ok(existing.clone()))?;
        Ok(tx)
    };
    let err = store
        .apply_with(
            user,
            &CreditCause::JobDebit(JobId::new()),
            Movement::Debit(Credits::new(2)),
            extra,
        )
        .await
        .expect_err("the extra item's condition fails");
    assert!(matches!(err, ApplyError::Refused("existing")), "{err:?}");
    assert_eq!(balance(&store, user).await, 5);
    assert_eq!(ledger_sum(&store, user).await, (5, 1));
}

/// Regression (issue 7, fault injection): a transaction with a conditioned extra item commits,
/// its answer is lost, and the SDK's retry fails every condition, the extra's included. That is
/// the caller's own write: it must read as applied, not as the extra being rejected (which left
/// a debited job that was never queued).
#[tokio::test]
async fn a_movement_whose_answer_was_lost_reads_as_applied_even_with_a_conditioned_extra() {
    use artforge_testkit::faults::{Fault, FaultProxy, Rule, When};
    let proxy = FaultProxy::start().await;
    let direct = artforge_testkit::fresh_store().await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&proxy.sdk_config()),
        direct.table().to_owned(),
    );
    let user = open_account(&direct, 5).await;
    let job = JobId::new();
    let item = Put::builder()
        .table_name(store.table())
        .item("pk", AttributeValue::S(format!("USER#{user}")))
        .item("sk", AttributeValue::S(format!("JOB#{job}")))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("put");
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Nth(1))
            .fault(Fault::Internal)
            .after_forward(),
    );
    let outcome = store
        .apply_with(
            user,
            &CreditCause::JobDebit(job),
            Movement::Debit(Credits::new(2)),
            |_| {
                let mut tx = Transaction::new();
                tx.put_built("job", Ok(item.clone()))?;
                Ok(tx)
            },
        )
        .await
        .expect("applied");
    assert!(
        matches!(outcome, LedgerOutcome::Applied { ref entry, .. } if entry.delta == -2),
        "{outcome:?}"
    );
    assert_eq!(proxy.injected(), 1);
    assert_eq!(balance(&direct, user).await, 3);
    assert_eq!(ledger_sum(&direct, user).await, (3, 2));
}

#[derive(Debug, Clone)]
enum Op {
    Grant(u8, u64),
    Debit(u8, u64),
    ClawBack(u8, u64),
}

fn op() -> impl Strategy<Value = Op> {
    // Few cause ids, so sequences repeat causes often.
    prop_oneof![
        (0u8..6, 0u64..20).prop_map(|(c, n)| Op::Grant(c, n)),
        (0u8..6, 0u64..20).prop_map(|(c, n)| Op::Debit(c, n)),
        (0u8..6, 0u64..20).prop_map(|(c, n)| Op::ClawBack(c, n)),
    ]
}

impl Op {
    fn cause_and_movement(&self) -> (CreditCause, Movement) {
        match *self {
            Op::Grant(c, n) => (
                CreditCause::Purchase {
                    checkout_session: format!("cs_{c}"),
                    step: 1,
                    reason: Change::Paid,
                },
                Movement::Purchase(Credits::new(n)),
            ),
            Op::Debit(c, n) => (
                CreditCause::JobDebit(job(c)),
                Movement::Debit(Credits::new(n)),
            ),
            Op::ClawBack(c, n) => (
                CreditCause::Purchase {
                    checkout_session: format!("cs_{c}"),
                    step: 2,
                    reason: Change::Refunded,
                },
                Movement::ClawBack(Credits::new(n)),
            ),
        }
    }
}

/// A fixed job id per small number, so a debit cause repeats.
fn job(n: u8) -> JobId {
    format!("01ARZ3NDEKTSV4RRFFQ69G5FA{}", char::from(b'0' + n))
        .parse()
        .expect("ulid")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_movements_keeps_the_ledger_whole_and_replays_change_nothing(
        start in 0u64..10,
        ops in proptest::collection::vec(op(), 1..25),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let store = artforge_testkit::fresh_store().await;
            let user = open_account(&store, start).await;
            // Signup credits are free credits.
            let mut model = artforge_domain::Wallet {
                balance: Credits::new(start),
                free: Credits::new(start),
                debt: Credits::ZERO,
            };
            let mut applied = std::collections::HashSet::new();
            for op in &ops {
                let (cause, movement) = op.cause_and_movement();
                let result = store.apply(user, &cause, movement).await;
                if applied.contains(&cause.effect_key()) {
                    prop_assert!(matches!(result, Ok(LedgerOutcome::AlreadyApplied { .. })), "{op:?}: {result:?}");
                } else {
                    match artforge_domain::settle(model, movement) {
                        Ok(s) => {
                            prop_assert!(matches!(&result, Ok(LedgerOutcome::Applied { entry, .. }) if entry.balance_after == s.after.balance), "{op:?}: {result:?}");
                            model = s.after;
                            applied.insert(cause.effect_key());
                        }
                        Err(_) => prop_assert!(matches!(result, Err(StoreError::InsufficientCredits(_))), "{op:?}: {result:?}"),
                    }
                }
                let stored = balance(&store, user).await;
                let (sum, _) = ledger_sum(&store, user).await;
                prop_assert_eq!(stored, model.balance.get());
                prop_assert_eq!(store.wallet(user).await.expect("wallet"), model, "the whole wallet");
                prop_assert_eq!(i64::try_from(stored).expect("fits"), sum, "balance == sum of ledger");
            }
            let entries_before = ledger_sum(&store, user).await;
            for op in &ops {
                let (cause, movement) = op.cause_and_movement();
                if applied.contains(&cause.effect_key()) {
                    let replay = store.apply(user, &cause, movement).await;
                    prop_assert!(matches!(replay, Ok(LedgerOutcome::AlreadyApplied { .. })), "{replay:?}");
                }
            }
            prop_assert_eq!(ledger_sum(&store, user).await, entries_before);
            prop_assert_eq!(balance(&store, user).await, model.balance.get());
            Ok(())
        })?;
    }
}
