//! The contract every storage adapter keeps, as tests that run against the in-memory fake and
//! against `DynamoStore` on moto alike (`contract_tests!`), so the fake the use cases are tested
//! on cannot drift from the adapter they run on.
//!
//! Each check takes a fresh, empty store and panics, naming what broke, when the contract does
//! not hold.

use std::time::Duration;

use artforge_domain::{
    Accounts, Admission, Attempt, Change, Claim, ClientAddress, CreditCause, Credits, DailyLimits,
    DisplayName, Email, GenerationRequest, Holder, Idempotency, IdempotencyKey, Image, ImageFilter,
    ImageFormat, Images, Job, JobStatus, Jobs, Ledger, LedgerOutcome, Likes, LimitReached,
    LoginThrottle, Movement, NewAccount, PackId, PageRequest, PaidFor, PasswordHash, Payment,
    Preset, Prompt, Purchase, PurchaseSettlement, PurchaseStatus, Purchases, Quality, RateKey,
    RateLimits, Report, Sessions, Settled, StoreError, Style, SubmitRefusal, Tag, Tags, Tier,
    UserId, Visibility, Wallet,
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
            login_attempts_are_numbered_held_and_forgotten,
            concurrent_login_attempts_each_count,
            rate_windows_count_every_request_once,
            the_ledger_moves_credits_once_per_cause_and_never_below_zero,
            images_list_filtered_newest_first_in_full_pages,
            search_matches_every_word_the_last_as_a_prefix_in_history_and_feed,
            likes_count_once_per_user_and_only_where_the_image_may_be_seen,
            a_submission_debits_its_job_once_within_its_limits,
            a_job_is_claimed_by_one_worker_and_finished_once,
            free_credits_spend_from_a_budget_of_their_own,
            payments_settle_at_increasing_versions_with_their_purchase_and_credits,
            unfinished_jobs_are_listed_oldest_first_until_finished,
            model_notices_are_kept_per_model_and_replaced_by_each_check,
            closing_an_account_erases_its_partition_but_the_kept_records,
            archives_are_recorded_pending_and_finished_once,
            an_edits_inputs_and_its_images_lineage_are_kept,
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
    assert_eq!(
        store.wallet(id).await.expect("wallet"),
        Wallet {
            balance: Credits::new(3),
            free: Credits::new(3),
            debt: Credits::ZERO
        },
        "signup credits are free credits"
    );
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

fn address(text: &str) -> ClientAddress {
    ClientAddress::parse(text).expect("an address")
}

pub async fn login_attempts_are_numbered_held_and_forgotten<S: LoginThrottle>(store: &S) {
    let email = Email::parse("someone@example.com").expect("an email");
    let (here, there) = (address("203.0.113.1"), address("2001:db8::1"));
    let keep = time::Duration::hours(1);
    for number in 1..=3 {
        assert_eq!(
            store
                .begin_attempt(&email, here, NOW, keep)
                .await
                .expect("counted"),
            Attempt::Counted { number, turn: None }
        );
    }
    let until = NOW + time::Duration::minutes(2);
    store.hold(&email, here, 4, until).await.expect("held");
    store
        .hold(&email, here, 9, NOW + time::Duration::minutes(1))
        .await
        .expect("an earlier hold changes nothing");
    assert_eq!(
        store
            .begin_attempt(&email, here, NOW, keep)
            .await
            .expect("read"),
        Attempt::Held { until },
        "held attempts are not counted"
    );
    assert_eq!(
        store
            .begin_attempt(&email, there, NOW, keep)
            .await
            .expect("counted"),
        Attempt::Counted {
            number: 1,
            turn: None
        },
        "another address counts on its own"
    );
    assert_eq!(
        store
            .begin_attempt(&email, here, until, keep)
            .await
            .expect("counted"),
        Attempt::Counted {
            number: 4,
            turn: Some(4)
        },
        "the hold is over: this attempt's turn"
    );
    let forgotten = until + keep + time::Duration::seconds(1);
    assert_eq!(
        store
            .begin_attempt(&email, here, forgotten, keep)
            .await
            .expect("counted"),
        Attempt::Counted {
            number: 1,
            turn: None
        },
        "kept only until `keep` after the last attempt"
    );
    store.clear(&email, here).await.expect("cleared");
    store
        .hold(&email, here, 2, until)
        .await
        .expect("a hold of nothing changes nothing");
    assert_eq!(
        store
            .begin_attempt(&email, here, NOW, keep)
            .await
            .expect("counted"),
        Attempt::Counted {
            number: 1,
            turn: None
        },
        "cleared, and the hold did not bring it back"
    );
}

pub async fn concurrent_login_attempts_each_count<S: LoginThrottle>(store: &S) {
    let email = Email::parse("someone@example.com").expect("an email");
    let from = address("198.51.100.7");
    let keep = time::Duration::hours(1);
    let (a, b) = tokio::join!(
        store.begin_attempt(&email, from, NOW, keep),
        store.begin_attempt(&email, from, NOW, keep)
    );
    let mut numbers = [a, b].map(|attempt| match attempt.expect("counted") {
        Attempt::Counted { number, .. } => number,
        held => panic!("expected a count, got {held:?}"),
    });
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2], "two concurrent attempts count two");
}

pub async fn rate_windows_count_every_request_once<S: RateLimits>(store: &S) {
    let key = RateKey::SignupsFrom(address("203.0.113.9"));
    let other = RateKey::LoginsFrom(address("203.0.113.9"));
    let end = NOW + time::Duration::minutes(1);
    let (a, b) = tokio::join!(store.count(&key, NOW, end), store.count(&key, NOW, end));
    let mut counts = [a.expect("counted"), b.expect("counted")];
    counts.sort_unstable();
    assert_eq!(counts, [1, 2], "two concurrent requests count two");
    assert_eq!(store.count(&key, NOW, end).await.expect("counted"), 3);
    assert_eq!(
        store.count(&other, NOW, end).await.expect("counted"),
        1,
        "another key counts on its own"
    );
    assert_eq!(
        store
            .count(&key, end, end + time::Duration::minutes(1))
            .await
            .expect("counted"),
        1,
        "the next window starts again"
    );
}

pub async fn the_ledger_moves_credits_once_per_cause_and_never_below_zero<S: Accounts + Ledger>(
    store: &S,
) {
    let id = account(store, 3).await;
    let step = |step, reason| CreditCause::Purchase {
        checkout_session: "cs_contract".into(),
        step,
        reason,
    };
    let cause = step(1, Change::Paid);
    let granted = store
        .apply(id, &cause, Movement::Purchase(Credits::new(5)))
        .await
        .expect("granted");
    assert!(matches!(granted, LedgerOutcome::Applied { .. }));
    assert_eq!(granted.balance(), Credits::new(8));
    let again = store
        .apply(id, &cause, Movement::Purchase(Credits::new(5)))
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
            &step(2, Change::Disputed),
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
    assert_eq!(
        store.wallet(id).await.expect("wallet"),
        Wallet {
            balance: Credits::ZERO,
            free: Credits::ZERO,
            debt: Credits::new(2)
        },
        "what could not be taken back is owed"
    );
    let paid_back = store
        .apply(
            id,
            &step(3, Change::DisputeWon),
            Movement::Purchase(Credits::new(10)),
        )
        .await
        .expect("given back");
    assert_eq!(
        paid_back.balance(),
        Credits::new(8),
        "the debt is paid first"
    );

    let first = store.history(id, page(2, None)).await.expect("a page");
    let deltas: Vec<i64> = first.items.iter().map(|e| e.delta).collect();
    assert_eq!(deltas, [8, -8], "newest first");
    let rest = store
        .history(id, page(2, first.next.clone()))
        .await
        .expect("the next page");
    assert_eq!(
        rest.items.iter().map(|e| e.delta).collect::<Vec<_>>(),
        [5, 3]
    );
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
        width: preset.size().map_or(1024, |s| s.0),
        height: preset.size().map_or(1024, |s| s.1),
        tags: Tags::parse(tags).expect("tags"),
        visibility: Visibility::Private,
        likes: 0,
        created_at: NOW,
        original_format: ImageFormat::Png,
        variant_format: ImageFormat::Jpeg,
        background: artforge_domain::Background::Auto,
        lineage: artforge_domain::edit::Lineage::default(),
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

/// An image of `owner` with this prompt.
fn prompted(owner: UserId, prompt: &str, tags: &[&str]) -> Image {
    Image {
        prompt: prompt.into(),
        ..image(owner, Preset::Square, tags)
    }
}

fn ids(page: &artforge_domain::Page<Image>) -> Vec<artforge_domain::ImageId> {
    page.items.iter().map(|i| i.id).collect()
}

pub async fn search_matches_every_word_the_last_as_a_prefix_in_history_and_feed<
    S: Accounts + Images,
>(
    store: &S,
) {
    let owner = account(store, 0).await;
    let other = account(store, 0).await;
    let prompts = [
        ("A red Lighthouse at dawn", &["Mer"][..]),
        ("a lighthouse in the STORM", &[][..]),
        ("Café crème on a red table", &["still-life"][..]),
        ("red lights of the city", &[][..]),
        ("an old lighthouse, red and white", &["coast"][..]),
    ];
    let mut made = Vec::new();
    for (prompt, tags) in prompts {
        let image = prompted(owner, prompt, tags);
        store.add(&image).await.expect("added");
        made.push(image.id);
    }
    // Another user's image never shows in this user's history.
    store
        .add(&prompted(other, "red lighthouse", &[]))
        .await
        .expect("added");
    let search = |q: &str| ImageFilter {
        search: Some(artforge_domain::Search::parse(q, "q").expect("a query")),
        ..ImageFilter::default()
    };
    let history = |q: &str, limit, after| {
        let filter = search(q);
        async move {
            store
                .images(owner, &filter, page(limit, after))
                .await
                .expect("a page")
        }
    };
    let newest_first = |picked: &[usize]| {
        let mut want: Vec<_> = picked.iter().map(|i| made[*i]).collect();
        want.sort_by(|a, b| b.cmp(a));
        want
    };

    // Every word, in any case and with or without accents; the last one as a prefix.
    let first = history("RED light", 2, None).await;
    assert_eq!(
        ids(&first),
        newest_first(&[0, 3, 4])[..2],
        "a full first page"
    );
    let rest = history("RED light", 2, first.next).await;
    assert_eq!(ids(&rest), newest_first(&[0, 3, 4])[2..], "the rest");
    assert_eq!(rest.next, None);
    assert_eq!(ids(&history("cafe CREME", 10, None).await), [made[2]]);
    assert_eq!(ids(&history("crème café", 10, None).await), [made[2]]);
    assert!(
        history("ligh red", 10, None).await.items.is_empty(),
        "only the last word is a prefix"
    );
    assert_eq!(
        ids(&history("mer", 10, None).await),
        [made[0]],
        "tags are words too"
    );
    assert_eq!(ids(&history("life", 10, None).await), [made[2]]);
    assert!(
        history("lighthouse purple", 10, None)
            .await
            .items
            .is_empty()
    );
    // Combined with the other filters.
    let tagged = ImageFilter {
        tag: Some(Tag::parse("coast").expect("a tag")),
        ..search("red")
    };
    assert_eq!(
        ids(&store
            .images(owner, &tagged, page(10, None))
            .await
            .expect("a page")),
        [made[4]]
    );

    // The feed finds public images only, and follows tags, visibility and deletes.
    let feed = |q: &str, limit, after| {
        let query = artforge_domain::Search::parse(q, "q").expect("a query");
        async move {
            store
                .search_feed(&query, page(limit, after))
                .await
                .expect("a page")
        }
    };
    assert!(
        feed("lighthouse", 10, None).await.items.is_empty(),
        "all private"
    );
    for i in [0, 1, 4] {
        store
            .update(owner, made[i], None, Some(Visibility::Public))
            .await
            .expect("published");
    }
    let first = feed("Lighthouse", 2, None).await;
    assert_eq!(ids(&first), newest_first(&[0, 1, 4])[..2]);
    let rest = feed("Lighthouse", 2, first.next).await;
    assert_eq!(ids(&rest), newest_first(&[0, 1, 4])[2..]);
    assert_eq!(rest.next, None);
    assert_eq!(
        ids(&feed("red lighth", 10, None).await),
        newest_first(&[0, 4])
    );
    assert_eq!(
        ids(&feed("st", 10, None).await),
        [made[1]],
        "a short prefix"
    );
    assert_eq!(ids(&feed("a storm", 10, None).await), [made[1]]);

    let retagged = Tags::parse(&["harbour"]).expect("tags");
    store
        .update(owner, made[0], Some(&retagged), None)
        .await
        .expect("retagged");
    assert!(
        feed("mer", 10, None).await.items.is_empty(),
        "the old tag is gone"
    );
    assert_eq!(ids(&feed("harb", 10, None).await), [made[0]]);
    assert_eq!(ids(&history("harbour", 10, None).await), [made[0]]);

    store
        .update(owner, made[1], None, Some(Visibility::Private))
        .await
        .expect("unpublished");
    assert!(
        feed("storm", 10, None).await.items.is_empty(),
        "private again"
    );
    assert_eq!(ids(&history("storm", 10, None).await), [made[1]]);

    store.retire(owner, made[4]).await.expect("retired");
    assert_eq!(ids(&feed("lighthouse", 10, None).await), [made[0]]);
    assert_eq!(ids(&history("coast", 10, None).await), Vec::new());
    store.forget(owner, made[4]).await.expect("forgotten");
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
        output: artforge_domain::ImageSpec::of_preset(Preset::Story).expect("a named preset"),
    };
    Job::new(owner, request, Credits::new(1), NOW).expect("priced")
}

fn admission(images_per_user: u32) -> Admission {
    Admission {
        spend_micros: 1,
        limits: DailyLimits {
            images_per_user,
            spend_cap_micros: 1_000_000,
            free_spend_cap_micros: 1_000_000,
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
        credited: Credits::ZERO,
        shortfall: Credits::ZERO,
    }
}

pub async fn free_credits_spend_from_a_budget_of_their_own<S: Accounts + Ledger + Jobs>(store: &S) {
    // Each image's spend is 1; the free budget has room for two, the purchased one plenty.
    let limits = Admission {
        spend_micros: 1,
        limits: DailyLimits {
            images_per_user: 10,
            spend_cap_micros: 1_000,
            free_spend_cap_micros: 2,
        },
    };
    let free = account(store, 3).await;
    store
        .submit(&job(free, 1), None, &limits, NOW)
        .await
        .expect("free credits pay");
    let listed = store.jobs(free, page(10, None)).await.expect("jobs");
    assert_eq!(
        listed.items.iter().map(|j| j.free_cost).collect::<Vec<_>>(),
        [Credits::new(1)],
        "the job records what free credits paid"
    );
    store
        .submit(&job(free, 1), None, &limits, NOW)
        .await
        .expect("the budget has room for two");
    let spent = store.submit(&job(free, 1), None, &limits, NOW).await;
    assert!(
        matches!(spent, Err(SubmitRefusal::Limit(LimitReached::FreeBudget))),
        "{spent:?}"
    );
    assert_eq!(store.balance(free).await.expect("balance"), Credits::new(1));

    let paying = account(store, 0).await;
    let cause = CreditCause::Purchase {
        checkout_session: "cs_budget".into(),
        step: 1,
        reason: Change::Paid,
    };
    store
        .apply(paying, &cause, Movement::Purchase(Credits::new(5)))
        .await
        .expect("bought");
    store
        .submit(&job(paying, 3), None, &limits, NOW)
        .await
        .expect("free use never pauses paying users");
    assert_eq!(
        store.balance(paying).await.expect("balance"),
        Credits::new(2)
    );
}

/// What Stripe reported about `pi_contract` paying for `purchase`.
fn paid_for(purchase: &Purchase) -> PaidFor {
    PaidFor {
        user: purchase.user,
        checkout_session: purchase.checkout_session.clone(),
        pack: purchase.pack.clone(),
        credits: purchase.credits,
        amount: purchase.amount,
        currency: purchase.currency.clone(),
    }
}

pub async fn payments_settle_at_increasing_versions_with_their_purchase_and_credits<
    S: Accounts + Ledger + Purchases,
>(
    store: &S,
) {
    let user = account(store, 0).await;
    let pending = purchase(user, "cs_contract_1");
    store.start(&pending).await.expect("started");
    store.start(&pending).await.expect("a repeat is harmless");
    assert_eq!(
        store
            .purchase(user, "cs_contract_1")
            .await
            .expect("read")
            .map(|p| p.status),
        Some(PurchaseStatus::Pending)
    );
    assert_eq!(store.payment("pi_contract").await.expect("read"), None);

    // A dispute is reported before the payment: remembered, nothing moves.
    let (disputed, _) = Payment::new("pi_contract")
        .with(&Report::Disputed {
            dispute: "dp_1".into(),
            amount: 400,
        })
        .expect("a change");
    assert_eq!(
        store.settle(&disputed, None).await.expect("written"),
        Settled::Written {
            shortfall: Credits::ZERO
        }
    );
    assert_eq!(
        store.settle(&disputed, None).await.expect("a repeat"),
        Settled::Raced,
        "the stored payment is past the version this was computed from"
    );
    let stored = store
        .payment("pi_contract")
        .await
        .expect("read")
        .expect("the payment");
    assert_eq!(stored, disputed, "disputes round-trip");

    // Then the payment: the grant lands net of the dispute, with the purchase, once.
    let (paid, change) = stored
        .with(&Report::Paid(paid_for(&pending)))
        .expect("a change");
    let net = paid.worth();
    assert_eq!(net, Credits::new(30), "50 credits less 40% disputed");
    let settlement = PurchaseSettlement {
        purchase: Purchase {
            status: PurchaseStatus::Paid,
            credited: net,
            ..pending.clone()
        },
        movement: Some((
            CreditCause::Purchase {
                checkout_session: "cs_contract_1".into(),
                step: paid.version,
                reason: change,
            },
            Movement::Purchase(net),
        )),
    };
    assert_eq!(
        store
            .settle(&paid, Some(&settlement))
            .await
            .expect("granted"),
        Settled::Written {
            shortfall: Credits::ZERO
        }
    );
    assert_eq!(
        store.settle(&paid, Some(&settlement)).await.expect("again"),
        Settled::Raced,
        "a repeat moves nothing"
    );
    assert_eq!(
        store.balance(user).await.expect("balance"),
        Credits::new(30)
    );
    let failed = Purchase {
        status: PurchaseStatus::Failed,
        ..pending.clone()
    };
    store.settle_pending(&failed).await.expect("no change");
    let found = store
        .purchase(user, "cs_contract_1")
        .await
        .expect("read")
        .expect("the purchase");
    assert_eq!(
        (found.status, found.credited, found.created_at),
        (PurchaseStatus::Paid, Credits::new(30), NOW),
        "a paid purchase does not fail, and keeps when it started"
    );

    // The user spends 20, then the dispute is lost... and a refund of the rest arrives: what
    // the balance cannot cover becomes the purchase's shortfall and the user's debt.
    store
        .apply(
            user,
            &CreditCause::JobDebit(artforge_domain::JobId::new()),
            Movement::Debit(Credits::new(20)),
        )
        .await
        .expect("spent");
    let (refunded, change) = paid
        .with(&Report::Refunded { total: 600 })
        .expect("a change");
    assert_eq!(refunded.worth(), Credits::ZERO);
    let taking = PurchaseSettlement {
        purchase: Purchase {
            status: PurchaseStatus::Refunded,
            credited: Credits::ZERO,
            ..found.clone()
        },
        movement: Some((
            CreditCause::Purchase {
                checkout_session: "cs_contract_1".into(),
                step: refunded.version,
                reason: change,
            },
            Movement::ClawBack(Credits::new(30)),
        )),
    };
    assert_eq!(
        store
            .settle(&refunded, Some(&taking))
            .await
            .expect("taken back"),
        Settled::Written {
            shortfall: Credits::new(20)
        }
    );
    let now = store
        .purchase(user, "cs_contract_1")
        .await
        .expect("read")
        .expect("the purchase");
    assert_eq!(
        (now.status, now.credited, now.shortfall),
        (PurchaseStatus::Refunded, Credits::ZERO, Credits::new(20))
    );
    assert_eq!(
        store.wallet(user).await.expect("wallet"),
        Wallet {
            balance: Credits::ZERO,
            free: Credits::ZERO,
            debt: Credits::new(20)
        }
    );
    let listed = store.purchases(user, page(10, None)).await.expect("listed");
    assert_eq!(listed.items, vec![now]);
}

/// The payment provider's contract, kept by `FakePayments` and by the Stripe adapter against
/// the local Stripe stand-in: a session it opened is reported unpaid with the user, pack,
/// amount and currency it was opened for, then paid with a payment intent once `pay` (the
/// customer paying, as the provider or stand-in lets a test do) has run; a session it never
/// opened is `None`.
pub async fn a_checkout_session_is_reported_as_it_stands<P, F>(
    payments: &P,
    pay: impl Fn(String) -> F,
) where
    P: artforge_domain::Payments,
    F: std::future::Future<Output = ()>,
{
    use artforge_domain::{Packs, SessionState, User};
    let user = User {
        id: UserId::new(),
        email: Email::parse("payer@example.com").expect("an email"),
        name: None,
        credits: Credits::new(0),
        token_version: 0,
        created_at: NOW,
    };
    let pack = Packs::parse("starter:50:1000:usd:price_s")
        .expect("packs")
        .iter()
        .next()
        .expect("a pack")
        .clone();
    let page = payments
        .checkout(&user, &pack)
        .await
        .expect("a checkout page");
    let open = SessionState {
        id: page.session_id.clone(),
        paid: false,
        payment_intent: None,
        amount_total: Some(1000),
        currency: Some("usd".into()),
        user: Some(user.id.to_string()),
        pack: Some("starter".into()),
    };
    assert_eq!(
        payments.session(&page.session_id).await.expect("retrieved"),
        Some(open.clone()),
        "an open session"
    );
    pay(page.session_id.clone()).await;
    let paid = payments
        .session(&page.session_id)
        .await
        .expect("retrieved")
        .expect("a session it opened");
    let intent = paid
        .payment_intent
        .clone()
        .expect("a payment intent once paid");
    assert!(!intent.is_empty());
    assert_eq!(
        paid,
        SessionState {
            paid: true,
            payment_intent: Some(intent),
            ..open
        },
        "a paid session"
    );
    assert_eq!(
        payments
            .session("cs_test_never_opened")
            .await
            .expect("retrieved"),
        None,
        "a session it never opened"
    );
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
    assert_eq!(
        found[0].job,
        Job {
            free_cost: oldest.cost,
            ..oldest.clone()
        },
        "as submitted, paid with free credits"
    );
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

/// The lifecycle check's findings are kept per provider model, the last one standing.
pub async fn model_notices_are_kept_per_model_and_replaced_by_each_check<
    S: artforge_domain::ModelNotices,
>(
    store: &S,
) {
    use artforge_domain::ModelNotice;
    let model = format!("gpt-image-test-{}", ulid::Ulid::generate());
    assert_eq!(store.notice(&model).await.expect("read"), None);
    let first = ModelNotice {
        model: model.clone(),
        shutdown: Some(time::macros::date!(2027 - 05 - 04)),
        listed: true,
        checked_at: NOW,
    };
    store.record(&first).await.expect("recorded");
    assert_eq!(store.notice(&model).await.expect("read"), Some(first));
    let gone = ModelNotice {
        model: model.clone(),
        shutdown: None,
        listed: false,
        checked_at: NOW + time::Duration::minutes(5),
    };
    store.record(&gone).await.expect("recorded");
    assert_eq!(store.notice(&model).await.expect("read"), Some(gone));
    assert_eq!(
        store.notice(&format!("{model}-other")).await.expect("read"),
        None
    );
}

/// DESIGN §11: a closed account signs out everywhere and frees its email (the signup marker
/// stays); erasing it removes its jobs, images, likes (taken back from others' counts) and
/// archives, and keeps its wallet and ledger; both steps may be repeated.
pub async fn closing_an_account_erases_its_partition_but_the_kept_records<
    S: Accounts
        + Sessions
        + Ledger
        + Images
        + Likes
        + Jobs
        + artforge_domain::Erasure
        + artforge_domain::Archives,
>(
    store: &S,
) {
    use artforge_domain::{Archive, ArchiveId, ArchiveStatus, Standing, Variant};
    let leaving = account(store, 3).await;
    let staying = account(store, 0).await;
    let email = store.get(leaving).await.expect("read").expect("open").email;
    assert_eq!(store.standing(leaving).await.expect("read"), Standing::Open);
    let own = image(leaving, Preset::Square, &["sea"]);
    let theirs = image(staying, Preset::Square, &["sky"]);
    for i in [&own, &theirs] {
        store.add(i).await.expect("added");
        store
            .update(i.owner, i.id, None, Some(Visibility::Public))
            .await
            .expect("public");
    }
    assert_eq!(store.like(leaving, &theirs).await.expect("liked"), 1);
    assert_eq!(store.like(staying, &own).await.expect("liked"), 1);
    let queued = job(leaving, 1);
    store
        .submit(&queued, None, &admission(4), NOW)
        .await
        .expect("submitted");
    let archive = Archive {
        id: ArchiveId::new(),
        owner: leaving,
        images: vec![own.id],
        variant: Variant::Preset,
        status: ArchiveStatus::Pending,
        bytes: None,
        created_at: NOW,
    };
    store.add_archive(&archive).await.expect("added");

    store.close(leaving, NOW).await.expect("closed");
    store
        .close(leaving, NOW)
        .await
        .expect("closing again changes nothing");
    assert_eq!(
        store.standing(leaving).await.expect("read"),
        Standing::Closed(NOW)
    );
    assert_eq!(store.get(leaving).await.expect("read"), None, "no account");
    assert!(
        store.credentials(&email).await.expect("read").is_none(),
        "the email names no account"
    );
    assert!(
        !store.is_active(leaving, 0, "any").await.expect("read"),
        "every token stops working"
    );
    assert!(
        matches!(
            store.close(UserId::new(), NOW).await,
            Err(StoreError::NotFound)
        ),
        "an unknown account"
    );

    assert_eq!(store.erase_jobs(leaving).await.expect("erased"), 1);
    assert!(store.job(leaving, queued.id).await.expect("read").is_none());
    store.erase_rest(leaving).await.expect("erased");
    store
        .erase_rest(leaving)
        .await
        .expect("erasing again is harmless");
    assert!(store.image(leaving, own.id).await.expect("read").is_none());
    assert!(store.public_image(own.id).await.expect("read").is_none());
    assert!(
        store
            .archive(leaving, archive.id)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .liked_among(leaving, &[theirs.id])
            .await
            .expect("read")
            .is_empty()
    );
    assert_eq!(
        store
            .image(staying, theirs.id)
            .await
            .expect("read")
            .expect("theirs stays")
            .likes,
        0,
        "the like is taken back from the count"
    );
    assert_eq!(
        store.balance(leaving).await.expect("the wallet is kept"),
        Credits::new(2)
    );
    let ledger = store
        .history(leaving, page(10, None))
        .await
        .expect("the ledger is kept");
    assert_eq!(ledger.items.len(), 2, "signup and the job's debit");

    let again = store
        .create(NewAccount {
            id: UserId::new(),
            email: email.clone(),
            name: None,
            password_hash: PasswordHash::from_phc("$argon2id$v=19$fake".into()),
            signup_credits: Credits::new(3),
            created_at: NOW,
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::SignupCreditsUsed)),
        "the email opens again, without signup credits: {again:?}"
    );
}

/// An archive is recorded pending, finished once, and found only by its owner.
pub async fn archives_are_recorded_pending_and_finished_once<
    S: Accounts + artforge_domain::Archives,
>(
    store: &S,
) {
    use artforge_domain::{Archive, ArchiveId, ArchiveStatus, ImageId, Variant};
    let owner = account(store, 0).await;
    let archive = Archive {
        id: ArchiveId::new(),
        owner,
        images: vec![ImageId::new(), ImageId::new()],
        variant: Variant::Thumbnail,
        status: ArchiveStatus::Pending,
        bytes: None,
        created_at: NOW,
    };
    store.add_archive(&archive).await.expect("added");
    assert_eq!(
        store.archive(owner, archive.id).await.expect("read"),
        Some(archive.clone())
    );
    assert_eq!(
        store
            .archive(UserId::new(), archive.id)
            .await
            .expect("read"),
        None,
        "another user's archive is not found"
    );
    assert!(
        store
            .finish_archive(owner, archive.id, ArchiveStatus::Ready, Some(123))
            .await
            .expect("finished")
    );
    assert!(
        !store
            .finish_archive(owner, archive.id, ArchiveStatus::Failed, None)
            .await
            .expect("read"),
        "finished once"
    );
    let ready = store
        .archive(owner, archive.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        (ready.status, ready.bytes),
        (ArchiveStatus::Ready, Some(123))
    );
    assert!(
        !store
            .finish_archive(owner, ArchiveId::new(), ArchiveStatus::Ready, None)
            .await
            .expect("read"),
        "no such archive"
    );
}

/// An edit job keeps its sources (in order, with what each refers to), its mask and the image
/// it remixes; its images keep their lineage, in every read.
pub async fn an_edits_inputs_and_its_images_lineage_are_kept<
    S: Accounts + Ledger + Jobs + Images,
>(
    store: &S,
) {
    use artforge_domain::{
        ImageId, UploadId,
        edit::{Edit, JobInputs, Lineage, SourceFile, SourceRef},
    };
    let owner = account(store, 3).await;
    let upload = SourceRef::Upload(UploadId::new());
    let image = SourceRef::Image(ImageId::new());
    let remixed = ImageId::new();
    let mut job = job(owner, 1);
    job.inputs = JobInputs {
        edit: Some(Edit {
            sources: vec![
                SourceFile {
                    key: format!("uploads/{owner}/1"),
                    format: ImageFormat::Png,
                },
                SourceFile {
                    key: format!("images/{owner}/2/original.webp"),
                    format: ImageFormat::Webp,
                },
            ],
            mask: Some(SourceFile {
                key: format!("uploads/{owner}/3"),
                format: ImageFormat::Png,
            }),
            first: upload,
            refs: vec![upload, image],
        }),
        remix_of: Some(remixed),
    };
    store
        .submit(&job, None, &admission(10), NOW)
        .await
        .expect("submitted");
    let stored = store.job(owner, job.id).await.expect("read").expect("kept");
    assert_eq!(stored.inputs, job.inputs, "the job's inputs");

    let made = Image {
        lineage: Lineage {
            edited_from: Some(upload),
            remix_of: Some(remixed),
        },
        ..image_of(owner)
    };
    store.add(&made).await.expect("added");
    let read = store
        .image(owner, made.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(read.lineage, made.lineage, "the image's lineage");
    let plain = image_of(owner);
    store.add(&plain).await.expect("added");
    let read = store
        .image(owner, plain.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(read.lineage, Lineage::default(), "no lineage is none");
}

fn image_of(owner: UserId) -> Image {
    image(owner, Preset::Square, &[])
}
