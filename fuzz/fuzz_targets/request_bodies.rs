//! Every route's JSON body through the `Json` extractor itself (Content-Type, size cap, parse
//! into the route's request type), then through the checks its handler makes into domain
//! types. Input: a route byte, a framing byte (Content-Type, Content-Length), the body.
//!
//! Asserts: nothing panics; every rejection is a 4xx problem of the expected kind (415, 413,
//! 400 `invalid_json`, 422 `validation_failed` naming a field), never a 5xx; what the checks
//! accept keeps their rules (lower-cased email, trimmed names, priced generation requests...).
#![no_main]

use artforge_domain::{DisplayName, Email, PackId, Password, Tags};
use artforge_fuzz::{
    CATALOG, PACKS, assert_client_error, auth_requests as auth, billing_requests as billing,
    block_on, gallery_requests as gallery, generate_requests as generate,
};
use artforge_http::{ApiError, ErrorCode, Json, json::MAX_BODY_BYTES};
use axum::extract::FromRequest;
use http::header;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

/// The body through the extractor with the framing the fuzzer chose; checks what a rejection
/// must be for that framing.
fn extract<T: DeserializeOwned>(framing: u8, body: &[u8]) -> Option<T> {
    let content_type = match framing & 0b111 {
        0 | 1 => Some("application/json"),
        2 => Some("application/json; charset=utf-8"),
        3 => Some(" Application/JSON ;"),
        4 => Some("text/plain"),
        5 => Some("application/jsonx"),
        _ => None,
    };
    let json = framing & 0b111 <= 3;
    let declared = match (framing >> 3) & 0b11 {
        0 => None,
        1 => Some(body.len()),
        2 => Some(MAX_BODY_BYTES + 1),
        _ => Some(0),
    };
    let mut request = http::Request::builder().method("POST").uri("/");
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(length) = declared {
        request = request.header(header::CONTENT_LENGTH, length);
    }
    let request = request
        .body(axum::body::Body::from(body.to_vec()))
        .expect("a request");
    match block_on(Json::<T>::from_request(request, &())) {
        Ok(Json(value)) => {
            assert!(
                json,
                "a body without Content-Type: application/json was taken"
            );
            assert!(
                declared.is_none_or(|d| d <= MAX_BODY_BYTES) && body.len() <= MAX_BODY_BYTES,
                "an oversize body was taken"
            );
            Some(value)
        }
        Err(err) => {
            let expected: &[ErrorCode] = if !json {
                &[ErrorCode::UnsupportedMediaType]
            } else if declared.is_some_and(|d| d > MAX_BODY_BYTES) || body.len() > MAX_BODY_BYTES {
                &[ErrorCode::PayloadTooLarge]
            } else {
                &[ErrorCode::InvalidJson, ErrorCode::ValidationFailed]
            };
            assert!(
                expected.contains(&err.code()),
                "{err:?} for framing {framing:#x}"
            );
            if err.code() == ErrorCode::ValidationFailed {
                assert!(!err.fields().is_empty(), "a 422 naming no field: {err:?}");
            }
            assert_client_error(err);
            None
        }
    }
}

/// A handler's checks failed: the fields it names make a 422.
fn rejected(fields: impl IntoIterator<Item = Option<artforge_domain::FieldError>>) {
    let fields: Vec<_> = fields.into_iter().flatten().collect();
    assert!(!fields.is_empty(), "a check failed naming no field");
    let err = ApiError::validation(fields);
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert_client_error(err);
}

fn email_ok(email: &Email) {
    let text = email.as_str();
    assert!(!text.is_empty() && text.len() <= 254, "{text:?}");
    assert_eq!(text, text.trim());
    assert_eq!(text, text.to_lowercase());
    assert_eq!(
        Email::parse(text).as_ref().ok(),
        Some(email),
        "not idempotent"
    );
}

fn name_ok(name: &DisplayName) {
    let text = name.as_str();
    assert!(!text.is_empty() && text == text.trim() && text.chars().count() <= 80);
    assert_eq!(DisplayName::parse(text).as_ref().ok(), Some(name));
}

fn password_ok(password: &Password, new: bool) {
    let chars = password.expose().chars().count();
    assert!(chars <= 128 && chars >= if new { 8 } else { 1 }, "{chars}");
}

fn register(body: auth::RegisterBody) {
    let email = Email::parse(&body.email);
    let password = Password::parse(body.password, "password");
    let name = body.name.as_deref().map(DisplayName::parse).transpose();
    match (email, password, name) {
        (Ok(e), Ok(p), Ok(n)) => {
            email_ok(&e);
            password_ok(&p, true);
            n.iter().for_each(name_ok);
        }
        (e, p, n) => rejected([e.err(), p.err(), n.err()]),
    }
}

fn login(body: auth::LoginBody) {
    match (
        Email::parse(&body.email),
        Password::candidate(body.password, "password"),
    ) {
        (Ok(e), Ok(p)) => {
            email_ok(&e);
            password_ok(&p, false);
        }
        (e, p) => rejected([e.err(), p.err()]),
    }
}

fn rename(body: auth::RenameBody) {
    match DisplayName::parse(&body.name) {
        Ok(name) => name_ok(&name),
        Err(e) => rejected([Some(e)]),
    }
}

fn change_password(body: auth::ChangePasswordBody) {
    match (
        Password::candidate(body.current_password, "currentPassword"),
        Password::parse(body.new_password, "newPassword"),
    ) {
        (Ok(c), Ok(n)) => {
            password_ok(&c, false);
            password_ok(&n, true);
        }
        (c, n) => rejected([c.err(), n.err()]),
    }
}

fn generation(body: generate::GenerationBody) {
    match CATALOG.validate(body.into()) {
        Ok(request) => {
            let spec = CATALOG.tier(request.tier).expect("a validated tier");
            assert!((1..=spec.max_images).contains(&request.count));
            assert!(request.prompt.as_str().chars().count() <= 2000);
            assert!(
                CATALOG.unit_price(&request).is_some(),
                "unpriced: {request:?}"
            );
            assert!(CATALOG.provider_cost_micros(&request).is_some());
            assert!(CATALOG.provider_request(&request).is_some());
            assert!(request.tags.iter().count() <= artforge_domain::image::TAGS_MAX);
        }
        Err(fields) => rejected(fields.into_iter().map(Some)),
    }
}

fn update_image(body: gallery::UpdateBody) {
    match body.changes() {
        Ok((tags, _)) => {
            if let Some(tags) = tags {
                let all: Vec<_> = tags.iter().map(|t| t.as_str()).collect();
                assert!(all.len() <= artforge_domain::image::TAGS_MAX);
                assert_eq!(
                    Tags::parse(&all).as_ref().ok(),
                    Some(&tags),
                    "not idempotent"
                );
            }
        }
        Err(e) => {
            assert!(!e.fields().is_empty(), "a check failed naming no field");
            assert_eq!(e.code(), ErrorCode::ValidationFailed);
            assert_client_error(e);
        }
    }
}

fn checkout(body: billing::CheckoutBody) {
    match PackId::parse(&body.pack) {
        Ok(id) => {
            if PACKS.get(&id).is_none() {
                rejected([Some(artforge_domain::FieldError::new(
                    "pack",
                    "is not one of the offered packs",
                ))]);
            }
        }
        Err(e) => rejected([Some(e)]),
    }
}

fuzz_target!(|data: &[u8]| {
    let [route, framing, body @ ..] = data else {
        return;
    };
    match route % 8 {
        0 => extract(*framing, body).map(register),
        1 => extract(*framing, body).map(login),
        2 => extract(*framing, body).map(rename),
        3 => extract(*framing, body).map(change_password),
        4 | 5 => extract(*framing, body).map(generation),
        6 => extract(*framing, body).map(update_image),
        _ => extract(*framing, body).map(checkout),
    };
});
