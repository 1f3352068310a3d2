//! What the fuzz targets share: the one check every rejection must pass (a 4xx problem, never
//! a 5xx), a runtime for the async extractors, and the fixed keys and catalogue they run with.

use std::sync::LazyLock;

// Each function's request types, compiled from the function's own `src/requests.rs`: the
// targets parse exactly what the handlers parse, without building the functions' AWS SDKs (an
// instrumented build of those would be most of the fuzz build's time).
#[path = "../../functions/auth/src/requests.rs"]
pub mod auth_requests;
#[path = "../../functions/stripe-webhook/src/requests.rs"]
pub mod billing_requests;
#[path = "../../functions/gallery/src/requests.rs"]
pub mod gallery_requests;
#[path = "../../functions/generate/src/requests.rs"]
pub mod generate_requests;

use artforge_domain::{Catalog, Packs};
use artforge_http::{ApiError, problem::PROBLEM_JSON, token::Keyring};
use axum::response::IntoResponse;
use http::header;

/// The catalogue the generate function ships with (`config/models.json`).
pub static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::from_json(include_str!("../../config/models.json")).expect("the shipped catalogue")
});

/// Packs shaped like the configured ones (`CREDIT_PACKS`).
pub static PACKS: LazyLock<Packs> = LazyLock::new(|| {
    Packs::parse("starter:50:1000:usd:price_1,pro:200:3000:usd:price_2").expect("packs")
});

/// Two keys, current first, as `JWT_KEYS` lists them during a rotation.
pub const KEYS: &str =
    "k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY,k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA";

pub fn keyring(raw: &str) -> Keyring {
    Keyring::parse(raw).expect("keys")
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// Runs an extractor (or any future) to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.block_on(future)
}

/// A rejection of client input: a 4xx, answered as a problem whose body names the same code
/// and status. Panics (a finding) otherwise.
pub fn assert_client_error(err: ApiError) {
    let code = err.code();
    let status = code.status();
    assert!(
        status.is_client_error(),
        "{code:?} answers {status} to client input: {err:?}"
    );
    let response = err.into_response();
    assert_eq!(response.status(), status);
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(PROBLEM_JSON)
    );
    let body = block_on(axum::body::to_bytes(response.into_body(), usize::MAX)).expect("a body");
    let problem: serde_json::Value = serde_json::from_slice(&body).expect("a JSON problem");
    assert_eq!(problem["code"], code.as_str(), "{problem}");
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
}
