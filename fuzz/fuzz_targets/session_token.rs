//! Who is calling: the `Authorization` header, the session cookie among others in `Cookie`,
//! and the session token (JWT) in either, on arbitrary input and on freshly issued tokens
//! (structure-aware, `arbitrary`).
//!
//! Asserts: nothing panics; a malformed `Authorization` header is a 401 problem; an arbitrary
//! token never verifies; an issued token verifies to its claims (also after its signing key
//! became the previous one), is found among other cookies, and stops verifying with any one
//! byte changed, any cut, or another audience.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use artforge_domain::UserId;
use artforge_fuzz::{KEYS, assert_client_error, keyring};
use artforge_http::{
    ErrorCode,
    auth::token_of,
    cookie::SessionCookie,
    token::{TokenError, TokenKeys},
};
use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

const ISSUER: &str = "artforge";
const AUDIENCE: &str = "artforge-api";

static KEYS_NOW: LazyLock<TokenKeys> =
    LazyLock::new(|| TokenKeys::new(&keyring(KEYS), ISSUER, AUDIENCE, Duration::hours(12)));
/// Before the rotation: `k1` signed.
static KEYS_BEFORE: LazyLock<TokenKeys> = LazyLock::new(|| {
    TokenKeys::new(
        &keyring("k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA"),
        ISSUER,
        AUDIENCE,
        Duration::hours(12),
    )
});
static OTHER_AUDIENCE: LazyLock<TokenKeys> =
    LazyLock::new(|| TokenKeys::new(&keyring(KEYS), ISSUER, "elsewhere", Duration::hours(12)));

#[derive(Debug, Arbitrary)]
struct Input {
    token: String,
    authorization: Vec<u8>,
    cookies: Vec<u8>,
    version: u64,
    before_rotation: bool,
    secure: bool,
    flip_at: usize,
    flip_with: u8,
    cut_at: usize,
}

fn refused(token: &str) {
    assert!(KEYS_NOW.verify(token).is_err(), "{token:?} verified");
}

fuzz_target!(|input: Input| {
    refused(&input.token);
    let cookie = SessionCookie::new(input.secure);

    // Any Authorization header: absent-or-bearer, or a 401.
    if let Ok(value) = HeaderValue::from_bytes(&input.authorization) {
        let (parts, ()) = http::Request::builder()
            .header(header::AUTHORIZATION, value)
            .body(())
            .expect("a request")
            .into_parts();
        match token_of(&parts, cookie) {
            Ok(Some(token)) => assert!(!token.is_empty() && token == token.trim()),
            Ok(None) => panic!("an Authorization header read as no token"),
            Err(err) => {
                assert_eq!(err.code(), ErrorCode::Unauthorized);
                assert_client_error(err);
            }
        }
    }
    // Any Cookie header: a token or none, never empty.
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(&input.cookies) {
        headers.insert(header::COOKIE, value);
        if let Some(token) = cookie.read(&headers) {
            assert!(!token.is_empty());
        }
    }

    let signer = if input.before_rotation {
        &*KEYS_BEFORE
    } else {
        &*KEYS_NOW
    };
    let user = UserId::new();
    let issued = signer
        .issue(user, input.version, OffsetDateTime::now_utc())
        .expect("a token");
    let token = issued.token;
    let claims = KEYS_NOW.verify(&token).expect("an issued token verifies");
    assert_eq!(claims, issued.claims);
    assert_eq!(claims.sub, user.to_string());
    assert_eq!(claims.ver, input.version);
    assert_eq!(OTHER_AUDIENCE.verify(&token), Err(TokenError::Invalid));

    // Found in the cookie the server set, among the client's other cookies.
    let set = cookie.set(&token, Duration::hours(1));
    let pair = set
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("name=value");
    let mut with_ours = HeaderMap::new();
    with_ours.insert(
        header::COOKIE,
        HeaderValue::from_str(&format!("theme=dark; {pair}; x=1")).expect("a cookie header"),
    );
    assert_eq!(cookie.read(&with_ours).as_deref(), Some(token.as_str()));

    let mut bytes = token.clone().into_bytes();
    let at = input.flip_at % bytes.len();
    bytes[at] ^= input.flip_with.max(1);
    if let Ok(altered) = String::from_utf8(bytes) {
        refused(&altered);
    }
    refused(&token[..input.cut_at % token.len()]);
});
