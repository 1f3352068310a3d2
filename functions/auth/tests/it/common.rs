//! The auth router, built by the function's one wiring over a fresh table in moto, driven
//! through `tower::ServiceExt::oneshot`; the same table read directly through a store.

use artforge_dynamo::DynamoStore;
use auth::{Auth, Config};
use axum::{Router, body::Body};
use http::{Request, StatusCode};

pub const PASSWORD: &str = "correct horse battery";

pub fn config(table: &str, bucket: &str, queue_url: &str) -> Config {
    Config {
        table_name: table.to_owned(),
        bucket: artforge_s3::BucketConfig {
            bucket_name: bucket.to_owned(),
            force_path_style: true,
            presign_ttl: std::time::Duration::from_secs(300),
        },
        account_queue_url: queue_url.to_owned(),
        public_base_url: "https://artforge.example".to_owned(),
        session: artforge_testkit::session_config(),
        signup_credits: artforge_domain::Credits::new(3),
        limits: auth::usecases::AccountLimits::default(),
    }
}

pub struct App {
    pub router: Router,
    /// The function's table, read and written directly (not through the router).
    pub store: DynamoStore,
    /// The image bucket, read and written directly.
    pub files: artforge_s3::S3Files,
    /// The account queue a deletion sends its back-up erasure to.
    pub queue_url: String,
}

pub use artforge_testkit::http::Answer;

/// What a session answer (register, login, password change) carries.
pub trait SessionAnswer {
    fn token(&self) -> String;
    fn user_id(&self) -> artforge_domain::UserId;
}

impl SessionAnswer for Answer {
    fn token(&self) -> String {
        self.json["token"]
            .as_str()
            .expect("a token in the body")
            .to_owned()
    }

    fn user_id(&self) -> artforge_domain::UserId {
        self.json["user"]["id"]
            .as_str()
            .expect("a user id")
            .parse()
            .expect("a ULID")
    }
}

impl App {
    pub async fn new() -> Self {
        let store = artforge_testkit::fresh_store().await;
        let files = artforge_testkit::fresh_files().await;
        let queue_url = artforge_testkit::fresh_queue().await;
        let auth = Auth::build(
            config(store.table(), files.bucket(), &queue_url),
            &artforge_testkit::sdk_config(),
        );
        Self {
            router: auth.router(),
            store,
            files,
            queue_url,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        artforge_testkit::http::send(&self.router, request).await
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        self.send(artforge_testkit::http::request(method, path, token, body))
            .await
    }

    /// `call`, from a client at `source_ip`.
    pub async fn call_from(
        &self,
        source_ip: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let request = artforge_testkit::http::request(method, path, token, body);
        self.send(artforge_testkit::http::from_address(request, source_ip))
            .await
    }

    pub async fn register(&self, email: &str) -> Answer {
        let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
        let answer = self.call("POST", "/auth/register", None, Some(&body)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        let body = serde_json::json!({"email": email, "password": password}).to_string();
        self.call("POST", "/auth/login", None, Some(&body)).await
    }
}
