//! Accounts against moto: an email's signup credits are given once, even to a later account of
//! the same email (an account deleted item by item, as account deletion will).

use artforge_domain::{
    Accounts, Credits, Email, PasswordHash, StoreError, UserId, ports::NewAccount,
};
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

fn account(email: &Email, credits: u64) -> NewAccount {
    NewAccount {
        id: UserId::new(),
        email: email.clone(),
        name: None,
        password_hash: PasswordHash::from_phc("$argon2id$v=19$fake".into()),
        signup_credits: Credits::new(credits),
        created_at: OffsetDateTime::now_utc(),
    }
}

#[tokio::test]
async fn an_email_that_had_signup_credits_never_gets_them_again() {
    let store = artforge_testkit::fresh_store().await;
    let email = Email::parse("once@example.com").expect("an email");
    let first = store.create(account(&email, 3)).await.expect("opened");
    // The account goes, its email with it; the signup marker stays.
    for (pk, sk) in [
        (format!("EMAIL#{}", email.as_str()), "EMAIL".to_owned()),
        (format!("USER#{}", first.id), "PROFILE".to_owned()),
    ] {
        store
            .client()
            .delete_item()
            .table_name(store.table())
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk))
            .send()
            .await
            .expect("deleted");
    }
    let again = store.create(account(&email, 3)).await;
    assert!(
        matches!(again, Err(StoreError::SignupCreditsUsed)),
        "{again:?}"
    );
    let without = store
        .create(account(&email, 0))
        .await
        .expect("opens without signup credits");
    assert_eq!(without.credits, Credits::ZERO);
    let other = Email::parse("other@example.com").expect("an email");
    assert_eq!(
        store
            .create(account(&other, 3))
            .await
            .expect("opened")
            .credits,
        Credits::new(3),
        "another email is not affected"
    );
}
