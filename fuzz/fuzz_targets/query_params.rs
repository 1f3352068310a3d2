//! Query strings and path parameters as the handlers read them: the `Query` extractor's parse
//! into each route's parameter type, the paging parameters with their sealed cursor, the
//! gallery's filters, the download variant, path ids and the `Idempotency-Key` header.
//! Input: a selector byte, then the raw query string (or path segment, or header value).
//!
//! Asserts: nothing panics; a rejection is a 4xx problem (422 naming the parameter, 400 for a
//! cursor); an accepted page has a limit of 1 to 100; an accepted id prints back to itself.
#![no_main]

use std::sync::LazyLock;

use artforge_domain::{ImageId, JobId, UserId, Variant, generation::IdempotencyKey};
use artforge_fuzz::{
    KEYS, assert_client_error, auth_requests::LogoutParams, gallery_requests as gallery, keyring,
};
use artforge_http::{
    ErrorCode,
    cursor::Cursors,
    query::{self, MAX_LIMIT, PageParams},
};
use libfuzzer_sys::fuzz_target;

static CURSORS: LazyLock<Cursors> = LazyLock::new(|| Cursors::new(&keyring(KEYS)));
const OWNER: &str = "01JAAAAAAAAAAAAAAAAAAAAAAA";

fn page(params: &PageParams, list: &str) {
    match params.page(&CURSORS, OWNER, list) {
        Ok(page) => {
            assert!((1..=MAX_LIMIT).contains(&page.limit), "{page:?}");
            // Only a cursor sealed here opens, and the fuzzer holds none.
            assert!(
                params.cursor.is_none(),
                "a cursor nobody sealed opened: {params:?}"
            );
        }
        Err(err) => {
            assert!(
                [ErrorCode::ValidationFailed, ErrorCode::InvalidCursor].contains(&err.code()),
                "{err:?}"
            );
            assert_client_error(err);
        }
    }
}

fn parsed<T>(raw: &str) -> Option<T>
where
    T: serde::de::DeserializeOwned,
{
    match query::parse::<T>(raw) {
        Ok(value) => Some(value),
        Err(err) => {
            assert_eq!(err.code(), ErrorCode::ValidationFailed, "{err:?}");
            assert!(!err.fields().is_empty());
            assert_client_error(err);
            None
        }
    }
}

/// A path id: what does not parse is a 404 in every handler; what parses prints back.
fn id<T>(raw: &str)
where
    T: std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
{
    if let Ok(id) = raw.parse::<T>() {
        let text = id.to_string();
        assert_eq!(text.parse::<T>().ok(), Some(id), "{raw:?} -> {text:?}");
        assert!(text.len() == 26 && text.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let raw = String::from_utf8_lossy(rest);
    match selector % 8 {
        0 => {
            if let Some(params) = parsed::<PageParams>(&raw) {
                page(&params, "images");
            }
        }
        1 | 2 => {
            if let Some(params) = parsed::<gallery::ListParams>(&raw) {
                match params.filter() {
                    Ok((_, liked)) => {
                        let list = if liked { "liked" } else { "images" };
                        page(
                            &PageParams {
                                limit: params.limit.clone(),
                                cursor: params.cursor.clone(),
                            },
                            list,
                        );
                    }
                    Err(err) => {
                        assert!(!err.fields().is_empty());
                        assert_client_error(err);
                    }
                }
            }
        }
        3 => {
            parsed::<LogoutParams>(&raw);
        }
        4 => {
            if let Some(params) = parsed::<gallery::DownloadParams>(&raw) {
                match Variant::parse(params.variant.as_deref().unwrap_or("preset"), "variant") {
                    Ok(_) => {}
                    Err(e) => assert_client_error(e.into()),
                }
            }
        }
        5 => {
            id::<ImageId>(&raw);
            id::<JobId>(&raw);
            id::<UserId>(&raw);
        }
        _ => match IdempotencyKey::parse(&raw) {
            Ok(key) => {
                let text = key.as_str();
                assert!((1..=128).contains(&text.len()));
                assert!(text.bytes().all(|b| b.is_ascii_graphic()));
            }
            Err(e) => assert_client_error(e.into()),
        },
    }
});
