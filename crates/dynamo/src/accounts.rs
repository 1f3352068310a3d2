//! User profiles, the unique-email lock and password changes.

use artforge_domain::{
    CreditCause, Credits, DisplayName, Email, PasswordHash, StoreError, User, UserId,
    ports::{Accounts, NewAccount},
};
use aws_sdk_dynamodb::{
    operation::update_item::builders::UpdateItemFluentBuilder, types::ReturnValue,
};

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::Conditional,
    keys,
    ledger::{self, Record},
    transaction::{Refusal, Transaction},
};

/// Attempts at opening an account when transactions on the same email collide.
const CREATE_ATTEMPTS: u32 = 5;

fn user_from_item(item: &Item) -> Result<User, StoreError> {
    let pk = get_s(item, keys::PK)?;
    let id = pk
        .strip_prefix("USER#")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{pk} is not a user key")))?;
    let email = Email::parse(get_s(item, "email")?)
        .map_err(|e| StoreError::Corrupt(format!("stored email: {e}")))?;
    let name = match attrs::get_opt_s(item, "name")? {
        Some(raw) => Some(
            DisplayName::parse(raw)
                .map_err(|e| StoreError::Corrupt(format!("stored name: {e}")))?,
        ),
        None => None,
    };
    Ok(User {
        id,
        email,
        name,
        credits: Credits::new(get_n(item, "credits")?),
        token_version: get_n(item, "tokenVersion")?,
        created_at: attrs::get_time(item, "createdAt")?,
    })
}

fn hash_from_item(item: &Item) -> Result<PasswordHash, StoreError> {
    Ok(PasswordHash::from_phc(
        get_s(item, "passwordHash")?.to_owned(),
    ))
}

impl DynamoStore {
    /// An open account's profile (a closed one keeps only its wallet: no account).
    async fn profile(&self, user: UserId) -> Result<Option<Item>, StoreError> {
        Ok(self
            .item(keys::user(user), keys::PROFILE)
            .await?
            .filter(|item| !item.contains_key("closedAt")))
    }

    /// An update of a profile, answering the user after it; `refused` when its condition
    /// failed.
    async fn update_profile(
        &self,
        request: UpdateItemFluentBuilder,
        refused: StoreError,
    ) -> Result<User, StoreError> {
        let result = request
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .refused()?;
        match result {
            Ok(out) => user_from_item(out.attributes().ok_or(StoreError::NotFound)?),
            Err(_) => Err(refused),
        }
    }

    async fn email_holder(&self, email: &Email) -> Result<Option<UserId>, StoreError> {
        self.item(keys::email_lock(email), keys::EMAIL_LOCK_SK)
            .await?
            .map(|lock| {
                get_s(&lock, "userId")?
                    .parse()
                    .map_err(|_| StoreError::Corrupt("email lock holds no user id".into()))
            })
            .transpose()
    }
}

/// The items of a new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creation {
    /// The email lock: its condition failing means the email is taken.
    Lock,
    Profile,
    Signup(Record),
    /// The email's signup marker: its condition failing means it had signup credits before.
    Marker,
}

impl Accounts for DynamoStore {
    async fn create(&self, account: NewAccount) -> Result<User, StoreError> {
        let cause = CreditCause::Signup;
        let credits = account.signup_credits;
        let mut lock = attrs::key(keys::email_lock(&account.email), keys::EMAIL_LOCK_SK);
        lock.insert("userId".into(), attrs::s(account.id.to_string()));

        let mut profile = attrs::key(keys::user(account.id), keys::PROFILE);
        profile.insert("email".into(), attrs::s(account.email.as_str()));
        if let Some(name) = &account.name {
            profile.insert("name".into(), attrs::s(name.as_str()));
        }
        profile.insert(
            "passwordHash".into(),
            attrs::s(account.password_hash.as_phc()),
        );
        // The signup credits are free credits: spent first, from the free daily budget.
        profile.insert("credits".into(), attrs::n(credits.get()));
        profile.insert("free".into(), attrs::n(credits.get()));
        profile.insert("debt".into(), attrs::n(0));
        profile.insert("tokenVersion".into(), attrs::n(0));
        profile.insert("createdAt".into(), attrs::timestamp(account.created_at));

        // The profile is created holding the signup credits, so its creation is the ledger's
        // balance update; the guard and the entry come from the ledger mechanism.
        let delta = i64::try_from(credits.get())
            .map_err(|_| StoreError::Corrupt("signup credits overflow".into()))?;
        let (movement, _entry) =
            ledger::movement_items(self, account.id, &cause, delta, credits, account.created_at)?;
        let absent = Some("attribute_not_exists(pk)");
        let mut tx = Transaction::new();
        tx.put(Creation::Lock, self.table(), lock, absent)?;
        tx.put(Creation::Profile, self.table(), profile, absent)?;
        tx.extend(movement, Creation::Signup);
        if credits > Credits::ZERO {
            // An email gets signup credits once: the marker outlives the account.
            let mut marker = attrs::key(keys::email_lock(&account.email), keys::SIGNUP_SK);
            marker.insert("createdAt".into(), attrs::timestamp(account.created_at));
            tx.put(Creation::Marker, self.table(), marker, absent)?;
        }

        let created = User {
            id: account.id,
            email: account.email.clone(),
            name: account.name.clone(),
            credits,
            token_version: 0,
            created_at: account.created_at,
        };
        for _ in 0..CREATE_ATTEMPTS {
            match tx.commit(self.client()).await {
                Ok(()) => return Ok(created),
                // Taken, unless a lost answer hid that the lock is our own.
                Err(refusal) if refusal.refused(&Creation::Lock) => {
                    if self.email_holder(&account.email).await? == Some(account.id) {
                        return Ok(created);
                    }
                    return Err(StoreError::EmailTaken);
                }
                Err(refusal) if refusal.refused(&Creation::Marker) => {
                    return Err(StoreError::SignupCreditsUsed);
                }
                Err(Refusal::Conditions(_)) => {
                    return Err(StoreError::Corrupt(
                        "a new account's items already exist".into(),
                    ));
                }
                Err(Refusal::Conflict) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(Refusal::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }

    async fn credentials(&self, email: &Email) -> Result<Option<(User, PasswordHash)>, StoreError> {
        match self.email_holder(email).await? {
            Some(user) => self.credentials_of(user).await,
            None => Ok(None),
        }
    }

    async fn credentials_of(
        &self,
        user: UserId,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        match self.profile(user).await? {
            Some(item) => Ok(Some((user_from_item(&item)?, hash_from_item(&item)?))),
            None => Ok(None),
        }
    }

    async fn get(&self, user: UserId) -> Result<Option<User>, StoreError> {
        self.profile(user)
            .await?
            .map(|item| user_from_item(&item))
            .transpose()
    }

    async fn rename(&self, user: UserId, name: &DisplayName) -> Result<User, StoreError> {
        let request = self
            .update_at(attrs::key(keys::user(user), keys::PROFILE))
            .update_expression("SET #name = :name")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(closedAt)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", attrs::s(name.as_str()));
        self.update_profile(request, StoreError::NotFound).await
    }

    async fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        expected_version: u64,
    ) -> Result<User, StoreError> {
        let request = self
            .update_at(attrs::key(keys::user(user), keys::PROFILE))
            .update_expression("SET passwordHash = :hash, tokenVersion = tokenVersion + :one")
            .condition_expression("tokenVersion = :expected")
            .expression_attribute_values(":hash", attrs::s(hash.as_phc()))
            .expression_attribute_values(":one", attrs::n(1))
            .expression_attribute_values(":expected", attrs::n(expected_version));
        self.update_profile(request, StoreError::Contention).await
    }

    async fn revoke_all_tokens(&self, user: UserId) -> Result<(), StoreError> {
        let request = self
            .update_at(attrs::key(keys::user(user), keys::PROFILE))
            .update_expression("ADD tokenVersion :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", attrs::n(1));
        self.update_profile(request, StoreError::NotFound)
            .await
            .map(drop)
    }
}
