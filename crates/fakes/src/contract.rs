//! The contract every storage adapter keeps, as tests that run against the in-memory fake and
//! against `DynamoStore` on moto alike (`contract_tests!`), so the fake the use cases are tested
//! on cannot drift from the adapter they run on.
//!
//! Each check takes a fresh, empty store and panics, naming what broke, when the contract does
//! not hold.

use std::time::Duration;

use artforge_domain::{
    Accounts, Admission, Claim, CreditCause, Credits, DailyLimits, DisplayName, Email, Fulfilment,
    GenerationRequest, Holder, Idempotency, IdempotencyKey, Image, ImageFilter, ImageFormat,
    Images, Job, JobStatus, Jobs, Ledger, LedgerOutcome, Likes, LimitReached, LoginThrottle,
    Movement, NewAccount, PackId, PageRequest, PasswordHash, Preset, Prompt, Purchase,
    PurchaseStatus, Purchases, Quality, Sessions, StoreError, Style, SubmitRefusal, Tag, Tags,
    TakeBack, Tier, UserId, Visibility,
};
use artforge_domain::{StuckJobs, Unfinished};
use time::OffsetDateTime;

/// Generates one `#[tokio::test]` per contract, each on the store `$fresh` makes.
#[macro_export]
macro_rules! contract_tests {
    ($fresh:expr) => {
        $crate::contract_tests!(@each $fresh;
            accounts_open_once_per_email_with_their_signup_grant,
            sessions_end_with_revocation_and_password_changes,
            login_failures_count_within_their_window,
            the_ledger_moves_credits_once_per_cause_and_never_below_zero,
            images_list_filtered_newest_first_in_full_pages,
            likes_count_once_per_user_and_only_where_the_image_may_be_seen,
            a_submission_debits_its_job_once_within_its_limits,
            a_job_is_claimed_by_one_worker_and_finished_once,
            a_purchase_grants_once_and_refunds_take_back_once,
            unfinished_jobs_are_listed_oldest_first_until_finished,
        );
    };
    (@each $fresh:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $fresh;
                $crate::contract::$name(&store).await;
            }
        )+
    };
}

const NOW: OffsetDateTime = time::macros::datetime!(2026-12-01 12:00 UTC);

/// A new account with `credits` signup credits.
pub async fn account<S: Accounts>(store: &S, credits: u64) -> UserId {
    let id = UserId::new();
    let email =
        Email::parse(&format!("{}@example.com", id.to_string().to_lowercase())).expect("an email");
    store
        .create(NewAccount {
            id,
            email,
            name: None,
            password_hash: PasswordHash::from_phc("$argon2id$v=19$fake".into()),
            signup_credits: Credits::new(credits),
            created_at: NOW,
        })
        .await
        .expect("the account opens");
    id
}

fn page(limit: u16, after: Option<String>) -> PageRequest {
    PageRequest { limit, after }
}

pub async fn accounts_open_once_per_email_with_their_signup_grant<S: Accounts + Ledger>(store: &S) {
    let id = account(store, 3).await;
    let user = store.get(id).await.expect("read").expect("the account");
    assert_eq!(user.credits, Credits::new(3));
    assert_eq!(store.balance(id).await.expect("balance"), Credits::new(3));
    let history = store.history(id, page(10, None)).await.expect("history");
    assert_eq!(
        history.items.len(),
        1,
        "the signup grant is the first entry"
    );
    assert_eq!(history.items[0].reason, "signup");

    let again = store
        .create(NewAccount {
            id: UserId::new(),
            email: user.email.clone(),
            name: None,
            password_hash: PasswordHash::from_phc("x".into()),
            signup_credits: Credits::new(3),
            created_at: NOW,
        })
        .await;
    assert!(matches!(again, Err(StoreError::EmailTaken)), "{again:?}");
    let (found, _) = store
        .credentials(&user.email)
        .await
        .expect("read")
        .expect("found by email");
    assert_eq!(found.id, id);

    let name = DisplayName::parse("Ada").expect("a name");
    assert_eq!(
        store.rename(id, &name).await.expect("renamed").name,
        Some(name)
    );
    assert!(matches!(
        store
            .rename(UserId::new(), &DisplayName::parse("x").expect("a name"))
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn sessions_end_with_revocation_and_password_changes<S: Accounts + Sessions>(store: &S) {
    let id = account(store, 0).await;
    assert!(store.is_active(id, 0, "t1").await.expect("read"));
    store.revoke(id, "t1", NOW).await.expect("revoked");
    assert!(!store.is_active(id, 0, "t1").await.expect("read"));
    assert!(store.is_active(id, 0, "t2").await.expect("read"));

    let hash = PasswordHash::from_phc("new".into());
    let changed = store.change_password(id, &hash, 0).await.expect("changed");
    assert_eq!(changed.token_version, 1);
    assert!(!store.is_active(id, 0, "t2").await.expect("read"));
    assert!(
        matches!(
            store.change_password(id, &hash, 0).await,
            Err(StoreError::Contention)
        ),
        "a stale token version changes nothing"
    );
    store.revoke_all_tokens(id).await.expect("revoked");
    assert!(!store.is_active(id, 1, "t3").await.expect("read"));
    assert!(store.is_active(id, 2, "t3").await.expect("read"));
    assert!(!store.is_active(UserId::new(), 0, "t").await.expect("read"));
}

pub async fn login_failures_count_within_their_window<S: LoginThrottle>(store: &S) {
    let email = Email::parse("someone@example.com").expect("an email");
    let window = time::Duration::minutes(15);
    assert_eq!(store.failures(&email).await.expect("read"), None);
    for minute in 0..3 {
        store
            .record_failure(&email, NOW + time::Duration::minutes(minute), window)
            .await
            .expect("counted");
    }
    let open = store
        .failures(&email)
        .await
        .expect("read")
        .expect("a window");
    assert_eq!((open.failures, open.started), (3, NOW));
    let later = NOW + time::Duration::minutes(20);
    store
        .record_failure(&email, later, window)
        .await
        .expect("counted");
    let fresh = store
        .failures(&email)
        .await
        .expect("read")
        .expect("a window");
    assert_eq!((fresh.failures, fresh.started), (1, later), "a new window");
    store.clear(&email).await.expect("cleared");
    assert_eq!(store.failures(&email).await.expect("read"), None);
}

pub async fn the_ledger_moves_credits_once_per_cause_and_never_below_zero<S: Accounts + Ledger>(
    store: &S,
) {
    let id = account(store, 3).await;
    let cause = CreditCause::Purchase {
        checkout_session: "cs_contract".into(),
    };
    let granted = store
        .apply(id, &cause, Movement::Grant(Credits::new(5)))
        .await
        .expect("granted");
    assert!(matches!(granted, LedgerOutcome::Applied { .. }));
    assert_eq!(granted.balance(), Credits::new(8));
    let again = store
        .apply(id, &cause, Movement::Grant(Credits::new(5)))
        .await
        .expect("a repeat");
    assert_eq!(
        again,
        LedgerOutcome::AlreadyApplied {
            balance: Credits::new(8)
        }
    );

    let short = store
        .apply(
            id,
            &CreditCause::JobDebit(artforge_domain::JobId::new()),
            Movement::Debit(Credits::new(9)),
        )
        .await;
    assert!(
        matches!(short, Err(StoreError::InsufficientCredits(_))),
        "{short:?}"
    );
    assert_eq!(store.balance(id).await.expect("balance"), Credits::new(8));

    let clawed = store
        .apply(
            id,
            &CreditCause::PurchaseRefund {
                refund: "re_contract".into(),
            },
            Movement::ClawBack(Credits::new(10)),
        )
        .await
        .expect("clawed back");
    match clawed {
        LedgerOutcome::Applied { entry, shortfall } => {
            assert_eq!((entry.delta, entry.balance_after), (-8, Credits::ZERO));
            assert_eq!(shortfall, Credits::new(2));
        }
        other => panic!("expected a claw-back, got {other:?}"),
    }

    let first = store.history(id, page(2, None)).await.expect("a page");
    let deltas: Vec<i64> = first.items.iter().map(|e| e.delta).collect();
    assert_eq!(deltas, [-8, 5], "newest first");
    let rest = store
        .history(id, page(2, first.next.clone()))
        .await
        .expect("the next page");
    assert_eq!(rest.items.iter().map(|e| e.delta).collect::<Vec<_>>(), [3]);
    assert_eq!(rest.next, None);
    assert!(matches!(
        store
            .history(id, page(2, Some("not a position".into())))
            .await,
        Err(StoreError::BadPosition)
    ));
}

/// An image of `owner` as the worker records it.
pub fn image(owner: UserId, preset: Preset, tags: &[&str]) -> Image {
    Image {
        id: artforge_domain::ImageId::new(),
        owner,
        job: artforge_domain::JobId::new(),
        prompt: "a lighthouse at dawn".into(),
        tier: Tier::V2,
        style: Style::Natural,
        preset,
        quality: Quality::Low,
        width: preset.size().0,
        height: preset.size().1,
        tags: Tags::parse(tags).expect("tags"),
        visibility: Visibility::Private,
        likes: 0,
        created_at: NOW,
        original_format: ImageFormat::Png,
        variant_format: ImageFormat::Jpeg,
    }
}

pub async fn images_list_filtered_newest_first_in_full_pages<S: Accounts + Images>(store: &S) {
    let owner = account(store, 0).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let preset = if i % 2 == 0 {
            Preset::Story
        } else {
            Preset::Square
        };
        let image = image(owner, preset, if i < 3 { &["sea"] } else { &[] });
        store.add(&image).await.expect("added");
        ids.push(image.id);
    }
    let stories = ImageFilter {
        preset: Some(Preset::Story),
        ..ImageFilter::default()
    };
    let first = store
        .images(owner, &stories, page(3, None))
        .await
        .expect("a page");
    // Ids are ULIDs: newest first is their descending order.
    let mut expected: Vec<_> = [0, 2, 4, 6].iter().map(|i| ids[*i]).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        first.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        expected[..3],
        "newest first, full, filtered"
    );
    let rest = store
        .images(owner, &stories, page(3, first.next))
        .await
        .expect("the next page");
    assert_eq!(
        rest.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        expected[3..]
    );
    assert_eq!(rest.next, None);

    let sea = Tag::parse("sea").expect("a tag");
    assert_eq!(
        store.tag_counts(owner).await.expect("counts"),
        vec![(sea.clone(), 3)]
    );

    let public = store
        .update(owner, ids[1], None, Some(Visibility::Public))
        .await
        .expect("published");
    assert_eq!(public.visibility, Visibility::Public);
    let feed = store.feed(page(10, None)).await.expect("the feed");
    assert_eq!(
        feed.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [ids[1]]
    );
    assert!(store.public_image(ids[1]).await.expect("read").is_some());
    assert!(store.public_image(ids[0]).await.expect("read").is_none());

    let retired = store.retire(owner, ids[1]).await.expect("retired");
    assert_eq!(retired.map(|i| i.id), Some(ids[1]));
    assert!(store.image(owner, ids[1]).await.expect("read").is_none());
    assert!(
        store
            .feed(page(10, None))
            .await
            .expect("feed")
            .items
            .is_empty()
    );
    assert!(matches!(
        store
            .update(owner, ids[1], Some(&Tags::default()), None)
            .await,
        Err(StoreError::NotFound)
    ));
    store.forget(owner, ids[1]).await.expect("forgotten");
    assert_eq!(store.retire(owner, ids[1]).await.expect("read"), None);
    let found = store
        .images_by_id(owner, &[ids[2], ids[1], ids[0]])
        .await
        .expect("read");
    assert_eq!(
        found.iter().map(|i| i.id).collect::<Vec<_>>(),
        [ids[2], ids[0]]
    );
}

pub async fn likes_count_once_per_user_and_only_where_the_image_may_be_seen<
    S: Accounts + Images + Likes,
>(
    store: &S,
) {
    let owner = account(store, 0).await;
    let fan = account(store, 0).await;
    let private = image(owner, Preset::Square, &[]);
    store.add(&private).await.expect("added");
    assert!(matches!(
        store.like(fan, &private).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.like(owner, &private).await.expect("liked"), 1);
    assert_eq!(store.like(owner, &private).await.expect("again"), 1);

    let public = store
        .update(owner, private.id, None, Some(Visibility::Public))
        .await
        .expect("published");
    assert_eq!(store.like(fan, &public).await.expect("liked"), 2);
    let liked = store
        .liked(fan, &ImageFilter::default(), page(10, None))
        .await
        .expect("liked list");
    assert_eq!(
        liked.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [public.id]
    );
    assert_eq!(
        store
            .liked_among(fan, &[public.id])
            .await
            .expect("read")
            .len(),
        1
    );
    assert_eq!(store.unlike(fan, &public).await.expect("unliked"), 1);
    assert_eq!(store.unlike(fan, &public).await.expect("again"), 1);
    store
        .update(owner, public.id, None, Some(Visibility::Private))
        .await
        .expect("private again");
    assert!(
        store
            .liked(owner, &ImageFilter::default(), page(10, None))
            .await
            .expect("own likes")
            .items
            .len()
            == 1,
        "own private images stay in one's likes"
    );
}

/// A queued job of `owner` for `count` images at one credit each.
pub fn job(owner: UserId, count: u8) -> Job {
    let request = GenerationRequest {
        prompt: Prompt::parse("a lighthouse").expect("a prompt"),
        tier: Tier::V2,
        style: Style::Natural,
        preset: Preset::Story,
        quality: Quality::Low,
        count,
        tags: Tags::default(),
    };
    Job::new(owner, request, Credits::new(1), NOW).expect("priced")
}

fn admission(images_per_user: u32) -> Admission {
    Admission {
        spend_micros: 1,
        limits: DailyLimits {
            images_per_user,
            spend_cap_micros: 1_000_000,
        },
    }
}

pub async fn a_submission_debits_its_job_once_within_its_limits<S: Accounts + Ledger + Jobs>(
    store: &S,
) {
    let owner = account(store, 3).await;
    let key = IdempotencyKey::parse("contract-key").expect("a key");
    let idem = Idempotency {
        key: key.clone(),
        fingerprint: "fp".into(),
    };
    let first = job(owner, 2);
    let balance = store
        .submit(&first, Some(&idem), &admission(4), NOW)
        .await
        .expect("submitted");
    assert_eq!(balance, Credits::new(1));
    let remembered = store
        .remembered(owner, &key, NOW)
        .await
        .expect("read")
        .expect("the key is remembered");
    assert_eq!(
        (remembered.job, remembered.fingerprint.as_str()),
        (first.id, "fp")
    );
    assert_eq!(
        store
            .remembered(owner, &key, NOW + time::Duration::days(2))
            .await
            .expect("read"),
        None,
        "keys expire"
    );

    let taken = store
        .submit(&job(owner, 1), Some(&idem), &admission(4), NOW)
        .await;
    assert!(matches!(taken, Err(SubmitRefusal::KeyTaken)), "{taken:?}");
    let over = store.submit(&job(owner, 1), None, &admission(2), NOW).await;
    assert!(
        matches!(over, Err(SubmitRefusal::Limit(LimitReached::DailyQuota))),
        "{over:?}"
    );
    let short = store.submit(&job(owner, 2), None, &admission(9), NOW).await;
    assert!(
        matches!(short, Err(SubmitRefusal::Insufficient(_))),
        "{short:?}"
    );
    assert_eq!(
        store.balance(owner).await.expect("balance"),
        Credits::new(1)
    );
    let jobs = store.jobs(owner, page(10, None)).await.expect("jobs");
    assert_eq!(
        jobs.items.iter().map(|j| j.id).collect::<Vec<_>>(),
        [first.id]
    );
    assert_eq!(
        store
            .job(owner, first.id)
            .await
            .expect("read")
            .map(|j| j.status),
        Some(JobStatus::Queued)
    );
}

pub async fn a_job_is_claimed_by_one_worker_and_finished_once<S: Accounts + Ledger + Jobs>(
    store: &S,
) {
    let owner = account(store, 3).await;
    let queued = job(owner, 3);
    store
        .submit(&queued, None, &admission(10), NOW)
        .await
        .expect("submitted");
    let lease = Duration::from_secs(60);
    let Claim::Claimed(running, held) = store
        .claim(owner, queued.id, lease, NOW)
        .await
        .expect("claim")
    else {
        panic!("a queued job is claimed");
    };
    assert_eq!(running.status, JobStatus::Running);
    let busy = store
        .claim(owner, queued.id, lease, NOW + time::Duration::seconds(1))
        .await
        .expect("claim");
    assert!(
        matches!(&busy, Claim::Refused(Some(j)) if j.status == JobStatus::Running),
        "{busy:?}"
    );
    let Claim::Claimed(_, taken_over) = store
        .claim(owner, queued.id, lease, NOW + time::Duration::seconds(61))
        .await
        .expect("claim")
    else {
        panic!("an expired lease is taken over");
    };
    assert!(matches!(
        store
            .claim(owner, artforge_domain::JobId::new(), lease, NOW)
            .await
            .expect("claim"),
        Claim::Refused(None)
    ));

    let delivered = Image {
        job: queued.id,
        id: queued.slots[0],
        ..image(owner, Preset::Story, &[])
    };
    let finished = Job {
        status: JobStatus::Succeeded,
        images: vec![delivered.id],
        refunded: Credits::new(2),
        ..running
    };
    assert!(
        !store
            .finish(
                &finished,
                Holder::Lease(&held),
                std::slice::from_ref(&delivered)
            )
            .await
            .expect("finish"),
        "a lease that passed to another worker finishes nothing"
    );
    assert!(
        store
            .finish(
                &finished,
                Holder::Lease(&taken_over),
                std::slice::from_ref(&delivered)
            )
            .await
            .expect("finish")
    );
    assert_eq!(
        store.balance(owner).await.expect("balance"),
        Credits::new(2)
    );
    assert_eq!(
        store.job(owner, queued.id).await.expect("read"),
        Some(finished.clone())
    );
    assert!(
        !store
            .finish(&finished, Holder::Anyone, &[])
            .await
            .expect("finish"),
        "a final job is not finished again"
    );
    assert_eq!(
        store.balance(owner).await.expect("balance"),
        Credits::new(2)
    );
    let Claim::Refused(Some(done)) = store
        .claim(owner, queued.id, lease, NOW + time::Duration::hours(1))
        .await
        .expect("claim")
    else {
        panic!("a finished job is not claimed");
    };
    assert_eq!(done.status, JobStatus::Succeeded);
}

/// A pending purchase of `user`'s of 50 credits for 1000.
pub fn purchase(user: UserId, session: &str) -> Purchase {
    Purchase {
        checkout_session: session.to_owned(),
        user,
        pack: PackId::parse("starter").expect("a pack id"),
        credits: Credits::new(50),
        amount: 1000,
        currency: "usd".into(),
        status: PurchaseStatus::Pending,
        created_at: NOW,
        clawed_back: Credits::ZERO,
        shortfall: Credits::ZERO,
    }
}

pub async fn a_purchase_grants_once_and_refunds_take_back_once<S: Accounts + Ledger + Purchases>(
    store: &S,
) {
    let user = account(store, 0).await;
    let pending = purchase(user, "cs_contract_1");
    store.start(&pending).await.expect("started");
    store.start(&pending).await.expect("a repeat is harmless");
    let paid = Purchase {
        status: PurchaseStatus::Paid,
        ..pending.clone()
    };
    assert_eq!(
        store
            .fulfil(&paid, Some("pi_contract"))
            .await
            .expect("granted"),
        Fulfilment::Granted {
            balance: Credits::new(50)
        }
    );
    assert_eq!(
        store
            .fulfil(&paid, Some("pi_contract"))
            .await
            .expect("again"),
        Fulfilment::AlreadyGranted
    );
    let failed = Purchase {
        status: PurchaseStatus::Failed,
        ..pending.clone()
    };
    store.settle_pending(&failed).await.expect("no change");
    let found = store
        .paid_with("pi_contract")
        .await
        .expect("read")
        .expect("the purchase");
    assert_eq!(
        found.status,
        PurchaseStatus::Paid,
        "a paid purchase does not fail"
    );
    assert_eq!(store.paid_with("pi_unknown").await.expect("read"), None);

    let cause = CreditCause::PurchaseRefund {
        refund: "ch_contract@300".into(),
    };
    let after = Purchase {
        status: PurchaseStatus::Refunded,
        clawed_back: Credits::new(15),
        ..found.clone()
    };
    assert_eq!(
        store
            .take_back(&found, &after, &cause, Credits::new(15))
            .await
            .expect("taken back"),
        TakeBack::Taken {
            taken: Credits::new(15),
            shortfall: Credits::ZERO
        }
    );
    assert_eq!(
        store
            .take_back(&found, &after, &cause, Credits::new(15))
            .await
            .expect("again"),
        TakeBack::AlreadyTaken
    );
    let other = CreditCause::PurchaseRefund {
        refund: "ch_contract@1000".into(),
    };
    assert_eq!(
        store
            .take_back(&found, &after, &other, Credits::new(35))
            .await
            .expect("read as before"),
        TakeBack::Raced,
        "the purchase changed since it was read"
    );
    let now = store
        .paid_with("pi_contract")
        .await
        .expect("read")
        .expect("the purchase");
    assert_eq!(
        (now.status, now.clawed_back),
        (PurchaseStatus::Refunded, Credits::new(15))
    );
    assert_eq!(
        store.balance(user).await.expect("balance"),
        Credits::new(35)
    );
    let listed = store.purchases(user, page(10, None)).await.expect("listed");
    assert_eq!(listed.items, vec![now]);
}

/// What the sweeper sees of a store's unfinished jobs: ids, leases and re-sends.
fn seen(
    found: &[Unfinished],
) -> Vec<(
    artforge_domain::JobId,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
)> {
    found
        .iter()
        .map(|u| (u.job.id, u.lease_until, u.resent_at))
        .collect()
}

pub async fn unfinished_jobs_are_listed_oldest_first_until_finished<
    S: Accounts + Ledger + Jobs + StuckJobs,
>(
    store: &S,
) {
    let owner = account(store, 3).await;
    let minutes = time::Duration::minutes;
    let oldest = Job {
        created_at: NOW - minutes(20),
        ..job(owner, 1)
    };
    let older = Job {
        created_at: NOW - minutes(10),
        ..job(owner, 1)
    };
    let recent = job(owner, 1);
    // Submitted newest first: the order listed is the jobs' own, not the writes'.
    for queued in [&recent, &older, &oldest] {
        store
            .submit(queued, None, &admission(10), NOW)
            .await
            .expect("submitted");
    }
    let before = NOW - minutes(5);
    let found = store.unfinished(before, 10).await.expect("unfinished");
    assert_eq!(
        seen(&found),
        [(oldest.id, None, None), (older.id, None, None)],
        "unfinished jobs submitted before the time, oldest first"
    );
    assert_eq!(found[0].job, oldest);
    assert_eq!(
        seen(&store.unfinished(before, 1).await.expect("unfinished")),
        [(oldest.id, None, None)],
        "at most the limit"
    );

    assert!(
        store
            .mark_resent(owner, oldest.id, NOW)
            .await
            .expect("resend")
    );
    assert!(
        !store
            .mark_resent(owner, oldest.id, NOW)
            .await
            .expect("resend"),
        "a job is sent again once"
    );
    let lease = Duration::from_secs(60);
    let Claim::Claimed(_, held) = store
        .claim(owner, older.id, lease, NOW)
        .await
        .expect("claim")
    else {
        panic!("a queued job is claimed");
    };
    assert!(
        !store
            .mark_resent(owner, older.id, NOW)
            .await
            .expect("resend"),
        "a running job is not sent again"
    );
    assert_eq!(
        seen(&store.unfinished(before, 10).await.expect("unfinished")),
        [
            (oldest.id, None, Some(NOW)),
            (older.id, Some(held.until), None)
        ]
    );

    let failed = |queued: &Job| Job {
        status: JobStatus::Failed,
        refunded: queued.cost,
        updated_at: NOW,
        ..queued.clone()
    };
    assert!(
        !store
            .finish(&failed(&older), Holder::Unclaimed, &[])
            .await
            .expect("finish"),
        "a claimed job is not unclaimed"
    );
    assert!(
        !store
            .finish(
                &failed(&older),
                Holder::Lapsed(held.until - minutes(1)),
                &[]
            )
            .await
            .expect("finish"),
        "a lease that had not ended by then holds"
    );
    assert!(
        store
            .finish(&failed(&older), Holder::Lapsed(held.until), &[])
            .await
            .expect("finish"),
        "a lease that ended lets the sweeper finish"
    );
    assert!(
        !store
            .finish(&failed(&older), Holder::Lease(&held), &[])
            .await
            .expect("finish"),
        "and the worker finds it finished"
    );
    assert!(
        store
            .finish(&failed(&oldest), Holder::Unclaimed, &[])
            .await
            .expect("finish")
    );
    assert!(
        !store
            .finish(&failed(&oldest), Holder::Unclaimed, &[])
            .await
            .expect("finish"),
        "once"
    );
    assert!(
        !store
            .mark_resent(owner, oldest.id, NOW)
            .await
            .expect("resend"),
        "a finished job is not sent again"
    );
    assert_eq!(
        store.balance(owner).await.expect("balance"),
        Credits::new(2),
        "two refunds of one credit each"
    );
    assert_eq!(
        seen(
            &store
                .unfinished(NOW + minutes(60), 10)
                .await
                .expect("unfinished")
        ),
        [(recent.id, None, None)],
        "finished jobs leave the list"
    );
}
