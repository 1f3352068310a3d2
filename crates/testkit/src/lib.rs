//! Test-only helpers (a dev-dependency, never linked into a function): one moto server per test
//! process, started on first use, and a fresh table per test so tests run in parallel;
//! [`faults`], a proxy in front of moto that injects AWS-shaped failures; [`invariants`], the
//! money and storage invariants checked over a whole table and bucket.

pub mod faults;
pub mod http;
pub mod invariants;

use std::sync::OnceLock;

use artforge_aws::SdkConfig;
use artforge_devstack::moto::MotoServer;
use artforge_dynamo::DynamoStore;

/// Session keys for tests: two keys, as during a rotation. Never used outside tests.
pub const JWT_KEYS: &str = "test-1:dGVzdC1rZXktMS0tMzItYnl0ZXMtb2YtcmFuZG9tLWRhdGEh,test-0:dGVzdC1rZXktMC0tMzItYnl0ZXMtb2YtcmFuZG9tLWRhdGEh";
pub const JWT_ISSUER: &str = "artforge-test";
pub const JWT_AUDIENCE: &str = "artforge-test-web";

/// The moto endpoint: `ARTFORGE_MOTO_ENDPOINT` if set, else a server this process starts once.
pub fn moto_endpoint() -> String {
    static SERVER: OnceLock<Result<MotoServer, String>> = OnceLock::new();
    if let Ok(endpoint) = std::env::var("ARTFORGE_MOTO_ENDPOINT") {
        return endpoint;
    }
    match SERVER.get_or_init(|| {
        MotoServer::start(0).map_err(|e| format!("{e}: {:?}", std::error::Error::source(&e)))
    }) {
        Ok(server) => server.endpoint(),
        Err(e) => panic!("moto is needed by this test: {e}"),
    }
}

pub fn sdk_config() -> SdkConfig {
    artforge_devstack::sdk_config(&moto_endpoint())
}

/// A unique name, for tables and other per-test resources.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    )
}

/// A store over a new, empty table of the deployed shape.
pub async fn fresh_store() -> DynamoStore {
    let config = sdk_config();
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("t");
    if let Err(e) = artforge_dynamo::schema::create_table(&client, &table).await {
        panic!("creating test table {table}: {e:?}");
    }
    DynamoStore::new(client, table)
}

/// Files in a new, empty bucket, addressed path-style as moto needs.
pub async fn fresh_files() -> artforge_s3::S3Files {
    let config = sdk_config();
    let client = artforge_s3::client(&config, true);
    let bucket = unique("b");
    if let Err(e) = client.create_bucket().bucket(&bucket).send().await {
        panic!("creating test bucket {bucket}: {e:?}");
    }
    artforge_s3::S3Files::new(client, bucket, std::time::Duration::from_secs(300))
}

/// A new, empty plain queue (the account queue's stand-in for a test): its URL.
pub async fn fresh_queue() -> String {
    let sqs = aws_sdk_sqs::Client::new(&sdk_config());
    let name = unique("aq");
    match sqs.create_queue().queue_name(&name).send().await {
        Ok(out) => out.queue_url().unwrap_or_default().to_owned(),
        Err(e) => panic!("creating test queue {name}: {e:?}"),
    }
}

/// The session settings tests sign tokens with.
pub fn session_config() -> artforge_http::session::SessionConfig {
    artforge_http::session::SessionConfig {
        keyring: artforge_http::token::Keyring::parse(JWT_KEYS).expect("test keys"),
        issuer: JWT_ISSUER.to_owned(),
        audience: JWT_AUDIENCE.to_owned(),
        ttl: time::Duration::hours(1),
        cookie_secure: true,
    }
}

/// A user account in `store` (no password use), and a valid session token for it.
pub async fn signed_in_user(store: &DynamoStore) -> (artforge_domain::UserId, String) {
    use artforge_domain::{Accounts, Credits, Email, PasswordHash, UserId, ports::NewAccount};
    let id = UserId::new();
    let account = NewAccount {
        id,
        email: Email::parse(&format!("{}@example.com", id.to_string().to_lowercase()))
            .expect("email"),
        name: None,
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        ),
        signup_credits: Credits::new(3),
        created_at: time::OffsetDateTime::now_utc(),
    };
    store.create(account).await.expect("account");
    let token = session_config()
        .tokens()
        .issue(id, 0, time::OffsetDateTime::now_utc())
        .expect("token")
        .token;
    (id, token)
}

/// A new, empty queue and its dead-letter queue, as the generation queues are deployed;
/// returns the client and both queue URLs.
pub async fn fresh_queues() -> (
    aws_sdk_sqs::Client,
    artforge_devstack::resources::Provisioned,
) {
    let config = sdk_config();
    let names = artforge_devstack::resources::Names::prefixed(&unique("q"));
    let sqs = aws_sdk_sqs::Client::new(&config);
    match artforge_devstack::resources::provision_queues(&sqs, names).await {
        Ok(provisioned) => (sqs, provisioned),
        Err(e) => panic!("creating test queues: {e:?}"),
    }
}
