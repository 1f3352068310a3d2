//! What a person asks of their account, decided over the ports it needs: register (with the
//! signup credits, limited per client address), log in (limited per client address, with a
//! back-off per email and address after repeated failures), change the password (checked
//! against the current one under a per-user limit of its own, revoking every other session),
//! log out (one session or all), rename.
//!
//! No client can lock out another: failed logins hold back only the address they came from,
//! and a signed-in owner's password change never meets the login back-off.
//!
//! Password hashing runs on a blocking thread: it takes tens of milliseconds of CPU. An unknown
//! email costs the same verification as a wrong password, and both answer the same.

use std::sync::Arc;

use artforge_domain::{
    Accounts, Attempt, Backoff, ClientAddress, Credits, DisplayName, Email, LoginThrottle,
    Password, PasswordHash, RateKey, RateLimit, RateLimits, Sessions, StoreError, User, UserId,
    Verdict, ports::NewAccount,
};
use time::{Duration, OffsetDateTime};
use tracing::info;

use crate::password::{HashError, PasswordHasher};

/// What a rate limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Signups,
    Logins,
}

/// Why an account action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The email or the password is wrong (the same for an unknown email).
    #[error("the email or the password is wrong")]
    WrongCredentials,
    /// Too many failed attempts at this password from here; try again after `retry_after`.
    #[error("too many failed attempts")]
    Throttled { retry_after: Duration },
    /// Too many requests of this kind from this client address.
    #[error("too many requests")]
    RateLimited {
        what: Limited,
        retry_after: Duration,
    },
    /// The signed-in account is gone.
    #[error("the account no longer exists")]
    NoAccount,
    /// The session was revoked while the password was being changed.
    #[error("the session was revoked")]
    Revoked,
    #[error("hashing the password failed")]
    Hashing(#[from] HashError),
    #[error("a blocking task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] artforge_domain::QueueError),
}

/// Which sessions a logout ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logout {
    /// This token, until it would have expired anyway.
    This {
        token_id: String,
        expires_at: OffsetDateTime,
    },
    /// Every token of the user.
    Everywhere,
}

/// How often accounts may be opened, logged into and their password checked (DESIGN §6, §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLimits {
    /// `SIGNUPS_PER_ADDRESS_PER_HOUR`, default 10.
    pub signups_per_address: RateLimit,
    /// `LOGINS_PER_ADDRESS_PER_MINUTE`, default 30, whatever the emails.
    pub logins_per_address: RateLimit,
    /// `PASSWORD_CHECKS_PER_USER_PER_HOUR`, default 10: a signed-in password change's check
    /// of the current password.
    pub password_checks_per_user: RateLimit,
    /// The back-off after failed logins per (email, client address).
    pub backoff: Backoff,
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self {
            signups_per_address: RateLimit::per_hour(10),
            logins_per_address: RateLimit::per_minute(30),
            password_checks_per_user: RateLimit::per_hour(10),
            backoff: Backoff::default(),
        }
    }
}

/// The account use cases over one store of accounts, sessions, login attempts and rates.
#[derive(Debug, Clone)]
pub struct Identity<S> {
    pub store: S,
    pub hasher: Arc<PasswordHasher>,
    pub signup_credits: Credits,
    pub limits: AccountLimits,
}

impl<S: Accounts + Sessions + LoginThrottle + RateLimits> Identity<S> {
    /// Opens an account with the signup credits, within the sign-ups allowed from `from`; without
    /// any credits when the email had them before (a deleted and re-created account starts at
    /// zero).
    pub async fn register(
        &self,
        email: Email,
        password: Password,
        name: Option<DisplayName>,
        from: ClientAddress,
        now: OffsetDateTime,
    ) -> Result<User, Refusal> {
        self.within(
            self.limits.signups_per_address,
            RateKey::SignupsFrom(from),
            Limited::Signups,
            now,
        )
        .await?;
        let hash = self.hash(password).await?;
        let account = NewAccount {
            id: UserId::new(),
            email,
            name,
            password_hash: hash,
            signup_credits: self.signup_credits,
            created_at: now,
        };
        let user = match self.store.create(account.clone()).await {
            Err(StoreError::SignupCreditsUsed) => {
                info!("the email had signup credits before: the account opens without them");
                self.store
                    .create(NewAccount {
                        signup_credits: Credits::ZERO,
                        ..account
                    })
                    .await?
            }
            other => other?,
        };
        info!(user_id = %user.id, credits = user.credits.get(), "account opened");
        Ok(user)
    }

    /// The account of `email` if `password` is its password, within the logins allowed from
    /// `from` and the back-off of this email from `from`.
    pub async fn log_in(
        &self,
        email: &Email,
        password: Password,
        from: ClientAddress,
        now: OffsetDateTime,
    ) -> Result<User, Refusal> {
        self.within(
            self.limits.logins_per_address,
            RateKey::LoginsFrom(from),
            Limited::Logins,
            now,
        )
        .await?;
        self.admit_attempt(email, from, now).await?;
        let account = self.store.credentials(email).await?;
        let (user, hash) = account.map_or((None, None), |(u, h)| (Some(u), Some(h)));
        if !self.verify(password, hash).await? {
            return Err(Refusal::WrongCredentials);
        }
        let user = user.ok_or(Refusal::WrongCredentials)?;
        self.store.clear(email, from).await?;
        info!(user_id = %user.id, "signed in");
        Ok(user)
    }

    /// Replaces the password of a signed-in user after checking the current one (under a
    /// per-user limit of its own, never the login back-off), revoking every session issued
    /// before: the user as it is now, for a fresh session.
    pub async fn change_password(
        &self,
        user: UserId,
        token_version: u64,
        current: Password,
        new: Password,
        now: OffsetDateTime,
    ) -> Result<User, Refusal> {
        self.check_password(user, current, now).await?;
        let new_hash = self.hash(new).await?;
        let user = self
            .store
            .change_password(user, &new_hash, token_version)
            .await
            .map_err(|e| match e {
                StoreError::Contention => Refusal::Revoked,
                other => other.into(),
            })?;
        info!("password changed; other sessions revoked");
        Ok(user)
    }

    /// Checks a signed-in user's current password (before a password change or a deletion),
    /// under a per-user limit of its own, never the login back-off: the account as it is.
    pub async fn check_password(
        &self,
        user: UserId,
        password: Password,
        now: OffsetDateTime,
    ) -> Result<User, Refusal> {
        if let Verdict::Refused { retry_after } = self
            .limits
            .password_checks_per_user
            .check(&self.store, RateKey::PasswordChecksBy(user), now)
            .await?
        {
            return Err(Refusal::Throttled { retry_after });
        }
        let (account, hash) = self
            .store
            .credentials_of(user)
            .await?
            .ok_or(Refusal::NoAccount)?;
        if !self.verify(password, Some(hash)).await? {
            return Err(Refusal::WrongCredentials);
        }
        Ok(account)
    }

    /// Ends this session, or every session of the user.
    pub async fn log_out(&self, user: UserId, which: Logout) -> Result<(), Refusal> {
        match which {
            Logout::Everywhere => {
                self.store.revoke_all_tokens(user).await?;
                info!(user_id = %user, "signed out everywhere");
            }
            Logout::This {
                token_id,
                expires_at,
            } => {
                self.store.revoke(user, &token_id, expires_at).await?;
                info!(user_id = %user, "signed out");
            }
        }
        Ok(())
    }

    /// The signed-in user.
    pub async fn me(&self, user: UserId) -> Result<User, Refusal> {
        self.store.get(user).await?.ok_or(Refusal::NoAccount)
    }

    pub async fn rename(&self, user: UserId, name: &DisplayName) -> Result<User, Refusal> {
        Ok(self.store.rename(user, name).await?)
    }

    async fn hash(&self, password: Password) -> Result<PasswordHash, Refusal> {
        let hasher = self.hasher.clone();
        Ok(tokio::task::spawn_blocking(move || hasher.hash(&password)).await??)
    }

    /// Counts one request against `limit` for `key`; refused past it.
    async fn within(
        &self,
        limit: RateLimit,
        key: RateKey,
        what: Limited,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        match limit.check(&self.store, key, now).await? {
            Verdict::Allowed => Ok(()),
            Verdict::Refused { retry_after } => Err(Refusal::RateLimited { what, retry_after }),
        }
    }

    /// Counts a login attempt at `email` from `from` (as a failure until the login succeeds)
    /// and lets it check its password only if the back-off allows it now. Past the free
    /// failures, the next attempt is held before this one's password is even checked, so
    /// concurrent guesses cannot slip through together.
    async fn admit_attempt(
        &self,
        email: &Email,
        from: ClientAddress,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let backoff = self.limits.backoff;
        let (number, turn) = match self
            .store
            .begin_attempt(email, from, now, backoff.forget_after)
            .await?
        {
            Attempt::Held { until } => {
                return Err(Refusal::Throttled {
                    retry_after: until - now,
                });
            }
            Attempt::Counted { number, turn } => (number, turn),
        };
        let judgement = backoff.judge(number, turn);
        if judgement.wait > Duration::ZERO {
            self.store
                .hold(email, from, number.saturating_add(1), now + judgement.wait)
                .await?;
        }
        if !judgement.admitted {
            return Err(Refusal::Throttled {
                retry_after: judgement.wait,
            });
        }
        Ok(())
    }

    /// Whether `password` is `stored` (checked against nothing, at the same cost, when there
    /// is no account).
    async fn verify(
        &self,
        password: Password,
        stored: Option<PasswordHash>,
    ) -> Result<bool, Refusal> {
        let hasher = self.hasher.clone();
        Ok(tokio::task::spawn_blocking(move || match stored {
            Some(hash) => hasher.verify(&password, &hash),
            None => Ok(hasher.verify_nobody(&password)),
        })
        .await??)
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::Ledger;
    use artforge_fakes::MemoryStore;

    use super::*;

    fn identity(store: &MemoryStore) -> Identity<MemoryStore> {
        Identity {
            store: store.clone(),
            hasher: Arc::new(PasswordHasher::owasp()),
            signup_credits: Credits::new(3),
            limits: AccountLimits::default(),
        }
    }

    fn email(text: &str) -> Email {
        Email::parse(text).expect("an email")
    }

    fn password(text: &str) -> Password {
        Password::parse(text.to_owned(), "password").expect("a password")
    }

    fn address(text: &str) -> ClientAddress {
        ClientAddress::parse(text).expect("an address")
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-12-01 12:00 UTC);

    /// The owner's usual address, and somebody else's.
    fn home() -> ClientAddress {
        address("203.0.113.10")
    }

    fn elsewhere() -> ClientAddress {
        address("198.51.100.66")
    }

    async fn ada(ids: &Identity<MemoryStore>) -> User {
        ids.register(
            email("ada@example.com"),
            password("correct horse"),
            None,
            home(),
            NOW,
        )
        .await
        .expect("registered")
    }

    fn throttled(result: &Result<User, Refusal>) -> Option<Duration> {
        match result {
            Err(Refusal::Throttled { retry_after }) => Some(*retry_after),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_new_account_gets_its_signup_credits_and_can_log_in() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ada(&ids).await;
        assert_eq!(user.credits, Credits::new(3));
        assert_eq!(
            store.balance(user.id).await.expect("balance"),
            Credits::new(3)
        );
        let back = ids
            .log_in(
                &email("ADA@example.com"),
                password("correct horse"),
                home(),
                NOW,
            )
            .await
            .expect("logged in");
        assert_eq!(back.id, user.id);
        let taken = ids
            .register(
                email("ada@example.com"),
                password("another one"),
                None,
                home(),
                NOW,
            )
            .await;
        assert!(
            matches!(taken, Err(Refusal::Store(StoreError::EmailTaken))),
            "{taken:?}"
        );
    }

    #[tokio::test]
    async fn an_email_gets_signup_credits_once_even_across_accounts() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let first = ids
            .register(
                email("bo@example.com"),
                password("correct horse"),
                None,
                address("203.0.113.9"),
                NOW,
            )
            .await
            .expect("registered");
        assert_eq!(first.credits, Credits::new(3));
        store.close_account(first.id);
        let again = ids
            .register(
                email("bo@example.com"),
                password("correct horse"),
                None,
                address("203.0.113.9"),
                NOW,
            )
            .await
            .expect("registered again");
        assert_ne!(again.id, first.id);
        assert_eq!(again.credits, Credits::ZERO, "no second signup grant");
        assert_eq!(
            store.balance(again.id).await.expect("balance"),
            Credits::ZERO
        );
    }

    #[tokio::test]
    async fn an_unknown_email_and_a_wrong_password_are_refused_alike() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        ada(&ids).await;
        for (who, what) in [
            ("ada@example.com", "wrong horse"),
            ("bob@example.com", "correct horse"),
        ] {
            let refused = ids.log_in(&email(who), password(what), home(), NOW).await;
            assert!(
                matches!(refused, Err(Refusal::WrongCredentials)),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn five_failures_are_free_then_each_further_one_doubles_the_wait() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ada(&ids).await;
        for _ in 0..5 {
            let refused = ids
                .log_in(&user.email, password("wrong horse"), home(), NOW)
                .await;
            assert!(matches!(refused, Err(Refusal::WrongCredentials)));
        }
        let held = ids
            .log_in(&user.email, password("correct horse"), home(), NOW)
            .await;
        assert_eq!(throttled(&held), Some(Duration::seconds(30)), "{held:?}");
        let later = NOW + Duration::seconds(30);
        let refused = ids
            .log_in(&user.email, password("wrong horse"), home(), later)
            .await;
        assert!(matches!(refused, Err(Refusal::WrongCredentials)));
        let held = ids
            .log_in(&user.email, password("correct horse"), home(), later)
            .await;
        assert_eq!(throttled(&held), Some(Duration::minutes(1)), "doubled");
        let later = later + Duration::minutes(1);
        ids.log_in(&user.email, password("correct horse"), home(), later)
            .await
            .expect("the wait is over");
        for _ in 0..5 {
            let refused = ids
                .log_in(&user.email, password("wrong horse"), home(), later)
                .await;
            assert!(
                matches!(refused, Err(Refusal::WrongCredentials)),
                "a success starts the count again: {refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn fifty_wrong_passwords_from_one_address_leave_the_owner_able_to_log_in_and_change_it() {
        let store = MemoryStore::new();
        let mut ids = identity(&store);
        // The back-off alone holds the guesser here, not the limit on logins per address.
        ids.limits.logins_per_address = RateLimit::per_minute(1_000);
        let user = ada(&ids).await;
        let session_version = user.token_version;
        let mut held = 0;
        for second in 0..50 {
            let at = NOW + Duration::seconds(second);
            let guess = ids
                .log_in(&user.email, password("guess guess"), elsewhere(), at)
                .await;
            match guess {
                Err(Refusal::WrongCredentials) => {}
                Err(Refusal::Throttled { .. }) => held += 1,
                other => panic!("a guess got {other:?}"),
            }
        }
        assert!(held > 40, "the guesser was held back: {held} of 50");
        let after = NOW + Duration::seconds(50);
        let owner = ids
            .log_in(&user.email, password("correct horse"), home(), after)
            .await
            .expect("the owner, from another address, logs in");
        assert_eq!(owner.id, user.id);
        let changed = ids
            .change_password(
                user.id,
                session_version,
                password("correct horse"),
                password("a new horse"),
                after,
            )
            .await
            .expect("the owner's session changes the password");
        assert_eq!(changed.token_version, session_version + 1);
        let guesser = ids
            .log_in(&user.email, password("a new horse"), elsewhere(), after)
            .await;
        assert!(
            throttled(&guesser).is_some(),
            "the guesser's address is still held, right password or not: {guesser:?}"
        );
    }

    #[tokio::test]
    async fn two_concurrent_failures_count_two() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ada(&ids).await;
        let (a, b) = tokio::join!(
            ids.log_in(&user.email, password("wrong horse"), home(), NOW),
            ids.log_in(&user.email, password("wrong horse"), home(), NOW)
        );
        assert!(matches!(a, Err(Refusal::WrongCredentials)), "{a:?}");
        assert!(matches!(b, Err(Refusal::WrongCredentials)), "{b:?}");
        for _ in 0..3 {
            let refused = ids
                .log_in(&user.email, password("wrong horse"), home(), NOW)
                .await;
            assert!(matches!(refused, Err(Refusal::WrongCredentials)));
        }
        let held = ids
            .log_in(&user.email, password("correct horse"), home(), NOW)
            .await;
        assert!(
            throttled(&held).is_some(),
            "2 + 3 failures are the free five: {held:?}"
        );
    }

    #[tokio::test]
    async fn concurrent_guesses_past_the_free_failures_check_one_password_per_opening() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ada(&ids).await;
        for _ in 0..5 {
            let refused = ids
                .log_in(&user.email, password("wrong horse"), home(), NOW)
                .await;
            assert!(matches!(refused, Err(Refusal::WrongCredentials)));
        }
        let opening = NOW + Duration::seconds(30);
        let (a, b, c) = tokio::join!(
            ids.log_in(&user.email, password("wrong horse"), home(), opening),
            ids.log_in(&user.email, password("wrong horse"), home(), opening),
            ids.log_in(&user.email, password("wrong horse"), home(), opening)
        );
        let wrong = [&a, &b, &c]
            .iter()
            .filter(|r| matches!(r, Err(Refusal::WrongCredentials)))
            .count();
        let held = [&a, &b, &c]
            .iter()
            .filter(|r| throttled(r).is_some())
            .count();
        assert_eq!((wrong, held), (1, 2), "{a:?} {b:?} {c:?}");
    }

    #[tokio::test]
    async fn sign_ups_are_limited_per_client_address() {
        let store = MemoryStore::new();
        let mut ids = identity(&store);
        ids.limits.signups_per_address = RateLimit::per_hour(2);
        for n in 0..2 {
            ids.register(
                email(&format!("user{n}@example.com")),
                password("correct horse"),
                None,
                home(),
                NOW,
            )
            .await
            .expect("within the limit");
        }
        let third = ids
            .register(
                email("user2@example.com"),
                password("correct horse"),
                None,
                home(),
                NOW + Duration::minutes(10),
            )
            .await;
        let Err(Refusal::RateLimited {
            what: Limited::Signups,
            retry_after,
        }) = third
        else {
            panic!("expected a rate limit, got {third:?}");
        };
        assert_eq!(retry_after, Duration::minutes(50), "until the hour is over");
        ids.register(
            email("user2@example.com"),
            password("correct horse"),
            None,
            elsewhere(),
            NOW,
        )
        .await
        .expect("another address signs up");
        ids.register(
            email("user3@example.com"),
            password("correct horse"),
            None,
            home(),
            NOW + Duration::hours(1),
        )
        .await
        .expect("the next hour");
    }

    #[tokio::test]
    async fn logins_are_limited_per_client_address_whatever_the_email() {
        let store = MemoryStore::new();
        let mut ids = identity(&store);
        ids.limits.logins_per_address = RateLimit::per_minute(3);
        let user = ada(&ids).await;
        for n in 0..3 {
            let refused = ids
                .log_in(
                    &email(&format!("nobody{n}@example.com")),
                    password("correct horse"),
                    elsewhere(),
                    NOW,
                )
                .await;
            assert!(matches!(refused, Err(Refusal::WrongCredentials)));
        }
        let limited = ids
            .log_in(&user.email, password("correct horse"), elsewhere(), NOW)
            .await;
        assert!(
            matches!(
                limited,
                Err(Refusal::RateLimited {
                    what: Limited::Logins,
                    ..
                })
            ),
            "{limited:?}"
        );
        ids.log_in(&user.email, password("correct horse"), home(), NOW)
            .await
            .expect("another address logs in");
    }

    #[tokio::test]
    async fn a_password_change_checks_the_current_password_under_a_per_user_limit_of_its_own() {
        let store = MemoryStore::new();
        let mut ids = identity(&store);
        ids.limits.password_checks_per_user = RateLimit::per_hour(2);
        let user = ada(&ids).await;
        for _ in 0..2 {
            let wrong = ids
                .change_password(
                    user.id,
                    0,
                    password("wrong horse"),
                    password("new horse"),
                    NOW,
                )
                .await;
            assert!(matches!(wrong, Err(Refusal::WrongCredentials)), "{wrong:?}");
        }
        let limited = ids
            .change_password(
                user.id,
                0,
                password("correct horse"),
                password("new horse"),
                NOW,
            )
            .await;
        assert_eq!(throttled(&limited), Some(Duration::hours(1)), "{limited:?}");
        ids.log_in(&user.email, password("correct horse"), home(), NOW)
            .await
            .expect("wrong current passwords never hold back logins");
        ids.change_password(
            user.id,
            0,
            password("correct horse"),
            password("new horse"),
            NOW + Duration::hours(1),
        )
        .await
        .expect("the next hour");
    }

    #[tokio::test]
    async fn a_password_change_needs_the_current_password_and_revokes_older_sessions() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ada(&ids).await;
        let wrong = ids
            .change_password(
                user.id,
                0,
                password("wrong horse"),
                password("new horse"),
                NOW,
            )
            .await;
        assert!(matches!(wrong, Err(Refusal::WrongCredentials)), "{wrong:?}");
        let changed = ids
            .change_password(
                user.id,
                0,
                password("correct horse"),
                password("new horse"),
                NOW,
            )
            .await
            .expect("changed");
        assert_eq!(changed.token_version, 1);
        assert!(!store.is_active(user.id, 0, "old").await.expect("read"));
        ids.log_in(&user.email, password("new horse"), home(), NOW)
            .await
            .expect("the new password works");
        let stale = ids
            .change_password(
                user.id,
                0,
                password("new horse"),
                password("newer horse"),
                NOW,
            )
            .await;
        assert!(matches!(stale, Err(Refusal::Revoked)), "{stale:?}");
    }

    #[tokio::test]
    async fn logging_out_ends_this_session_or_every_session() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ada(&ids).await;
        ids.log_out(
            user.id,
            Logout::This {
                token_id: "t1".into(),
                expires_at: NOW,
            },
        )
        .await
        .expect("out");
        assert!(!store.is_active(user.id, 0, "t1").await.expect("read"));
        assert!(store.is_active(user.id, 0, "t2").await.expect("read"));
        ids.log_out(user.id, Logout::Everywhere).await.expect("out");
        assert!(!store.is_active(user.id, 0, "t2").await.expect("read"));
        let gone = ids.log_out(UserId::new(), Logout::Everywhere).await;
        assert!(
            matches!(gone, Err(Refusal::Store(StoreError::NotFound))),
            "{gone:?}"
        );
    }
}
