//! What a person asks of their account, decided over the ports it needs: register (with the
//! signup credits), log in (throttled after repeated failures), change the password (revoking
//! every other session), log out (one session or all), rename.
//!
//! Password hashing runs on a blocking thread: it takes tens of milliseconds of CPU. An unknown
//! email costs the same verification as a wrong password, and both answer the same.

use std::sync::Arc;

use artforge_domain::{
    Accounts, Credits, DisplayName, Email, LoginThrottle, Password, PasswordHash, Sessions,
    StoreError, ThrottlePolicy, User, UserId, ports::NewAccount,
};
use time::OffsetDateTime;
use tracing::info;

use crate::password::{HashError, PasswordHasher};

/// Why an account action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The email or the password is wrong (the same for an unknown email).
    #[error("the email or the password is wrong")]
    WrongCredentials,
    /// Too many failed attempts for this email; try again after `retry_after`.
    #[error("too many failed attempts")]
    Throttled { retry_after: time::Duration },
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

/// The account use cases over one store of accounts, sessions and login failures.
#[derive(Debug, Clone)]
pub struct Identity<S> {
    pub store: S,
    pub hasher: Arc<PasswordHasher>,
    pub signup_credits: Credits,
    pub throttle: ThrottlePolicy,
}

impl<S: Accounts + Sessions + LoginThrottle> Identity<S> {
    /// Opens an account with the signup credits, or without any when the email had them
    /// before (a deleted and re-created account starts at zero).
    pub async fn register(
        &self,
        email: Email,
        password: Password,
        name: Option<DisplayName>,
        now: OffsetDateTime,
    ) -> Result<User, Refusal> {
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

    /// The account of `email` if `password` is its password.
    pub async fn log_in(
        &self,
        email: &Email,
        password: Password,
        now: OffsetDateTime,
    ) -> Result<User, Refusal> {
        let account = self.store.credentials(email).await?;
        let (user, hash) = account.map_or((None, None), |(u, h)| (Some(u), Some(h)));
        self.check_password(email, password, hash, now).await?;
        let user = user.ok_or(Refusal::WrongCredentials)?;
        info!(user_id = %user.id, "signed in");
        Ok(user)
    }

    /// Replaces the password of a signed-in user after checking the current one (under the
    /// same throttle as logins), revoking every session issued before: the user as it is now,
    /// for a fresh session.
    pub async fn change_password(
        &self,
        user: UserId,
        token_version: u64,
        current: Password,
        new: Password,
        now: OffsetDateTime,
    ) -> Result<User, Refusal> {
        let (account, hash) = self
            .store
            .credentials_of(user)
            .await?
            .ok_or(Refusal::NoAccount)?;
        self.check_password(&account.email, current, Some(hash), now)
            .await?;
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

    /// Checks `password` against `stored` (or against nothing, at the same cost, when the
    /// account does not exist), counting failures and refusing while the email is throttled.
    async fn check_password(
        &self,
        email: &Email,
        password: Password,
        stored: Option<PasswordHash>,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let window = self.store.failures(email).await?;
        if let Some(retry_after) = self.throttle.retry_after(window, now) {
            return Err(Refusal::Throttled { retry_after });
        }
        let hasher = self.hasher.clone();
        let matches = tokio::task::spawn_blocking(move || match stored {
            Some(hash) => hasher.verify(&password, &hash),
            None => Ok(hasher.verify_nobody(&password)),
        })
        .await??;
        if matches {
            if window.is_some() {
                self.store.clear(email).await?;
            }
            return Ok(());
        }
        self.store
            .record_failure(email, now, self.throttle.window)
            .await?;
        Err(Refusal::WrongCredentials)
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::Ledger;
    use artforge_fakes::MemoryStore;
    use time::Duration;

    use super::*;

    fn identity(store: &MemoryStore) -> Identity<MemoryStore> {
        Identity {
            store: store.clone(),
            hasher: Arc::new(PasswordHasher::owasp()),
            signup_credits: Credits::new(3),
            throttle: ThrottlePolicy::default(),
        }
    }

    fn email(text: &str) -> Email {
        Email::parse(text).expect("an email")
    }

    fn password(text: &str) -> Password {
        Password::parse(text.to_owned(), "password").expect("a password")
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-12-01 12:00 UTC);

    #[tokio::test]
    async fn a_new_account_gets_its_signup_credits_and_can_log_in() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ids
            .register(
                email("ada@example.com"),
                password("correct horse"),
                None,
                NOW,
            )
            .await
            .expect("registered");
        assert_eq!(user.credits, Credits::new(3));
        assert_eq!(
            store.balance(user.id).await.expect("balance"),
            Credits::new(3)
        );
        let back = ids
            .log_in(&email("ADA@example.com"), password("correct horse"), NOW)
            .await
            .expect("logged in");
        assert_eq!(back.id, user.id);
        let taken = ids
            .register(email("ada@example.com"), password("another one"), None, NOW)
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
        ids.register(
            email("ada@example.com"),
            password("correct horse"),
            None,
            NOW,
        )
        .await
        .expect("registered");
        for (who, what) in [
            ("ada@example.com", "wrong horse"),
            ("bob@example.com", "correct horse"),
        ] {
            let refused = ids.log_in(&email(who), password(what), NOW).await;
            assert!(
                matches!(refused, Err(Refusal::WrongCredentials)),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_sixth_attempt_after_five_failures_is_throttled_even_with_the_right_password() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let ada = email("ada@example.com");
        ids.register(ada.clone(), password("correct horse"), None, NOW)
            .await
            .expect("registered");
        for _ in 0..5 {
            let refused = ids.log_in(&ada, password("wrong horse"), NOW).await;
            assert!(matches!(refused, Err(Refusal::WrongCredentials)));
        }
        let Err(Refusal::Throttled { retry_after }) =
            ids.log_in(&ada, password("correct horse"), NOW).await
        else {
            panic!("throttled");
        };
        assert_eq!(retry_after, Duration::minutes(15));
        let later = NOW + Duration::minutes(16);
        ids.log_in(&ada, password("correct horse"), later)
            .await
            .expect("the window closed");
        assert_eq!(store.failures(&ada).await.expect("read"), None, "cleared");
    }

    #[tokio::test]
    async fn a_password_change_needs_the_current_password_and_revokes_older_sessions() {
        let store = MemoryStore::new();
        let ids = identity(&store);
        let user = ids
            .register(
                email("ada@example.com"),
                password("correct horse"),
                None,
                NOW,
            )
            .await
            .expect("registered");
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
        ids.log_in(&user.email, password("new horse"), NOW)
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
        let user = ids
            .register(
                email("ada@example.com"),
                password("correct horse"),
                None,
                NOW,
            )
            .await
            .expect("registered");
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
