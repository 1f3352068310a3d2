//! The auth router over a fresh table in moto, driven through `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

use artforge_dynamo::DynamoStore;
use auth::{AuthState, Config};
use axum::{Router, body::Body};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

pub fn config(table: &str) -> Config {
    Config {
        table_name: table.to_owned(),
        session: artforge_testkit::session_config(),
        signup_credits: artforge_domain::Credits::new(3),
    }
}

pub struct App {
    pub router: Router,
    pub store: DynamoStore,
    pub state: AuthState<DynamoStore>,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn token(&self) -> String {
        self.json["token"]
            .as_str()
            .expect("a token in the body")
            .to_owned()
    }

    /// The id of the user in a session answer.
    pub fn user_id(&self) -> artforge_domain::UserId {
        self.json["user"]["id"]
            .as_str()
            .expect("a user id")
            .parse()
            .expect("a ULID")
    }

    pub fn fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl App {
    pub async fn new() -> Self {
        let store = artforge_testkit::fresh_store().await;
        let state = AuthState::new(&config(store.table()), store.clone());
        Self {
            router: auth::router(state.clone()),
            store,
            state,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            json,
            text,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_owned())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("request")).await
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
