//! `Stripe-Signature` on the webhook: the header parser and the verification on arbitrary
//! headers and bodies, and on headers signed the way Stripe signs (structure-aware,
//! `arbitrary`), with other schemes, unknown keys and stale signatures mixed in.
//!
//! Asserts: nothing panics; an arbitrary header never verifies; a header signed with a
//! configured secret over the same body verifies exactly when its timestamp is within the
//! tolerance, whatever else the header lists; one changed byte of the signature or of the body,
//! or another secret, and it does not.
#![no_main]

use arbitrary::Arbitrary;
use artforge_stripe_signature::{SignatureHeader, TOLERANCE_SECS, WebhookSecrets};
use libfuzzer_sys::fuzz_target;
use ring::hmac;

const NOW: i64 = 1_795_435_200;

#[derive(Debug, Arbitrary)]
enum Extra {
    /// An old-scheme signature, which must be ignored.
    V0(Vec<u8>),
    /// A `v1` that is not ours.
    WrongV1(Vec<u8>),
    /// A key Stripe may add one day.
    Unknown(String, String),
}

/// Seconds between signing and checking: anything, or near the tolerance (where an
/// off-by-one would hide), either side of it, in the past or the future.
#[derive(Debug, Arbitrary)]
enum Age {
    Any(i16),
    Edge { offset: i8, future: bool },
}

impl Age {
    fn seconds(&self) -> i64 {
        match *self {
            Self::Any(seconds) => i64::from(seconds),
            Self::Edge { offset, future } => {
                let seconds = TOLERANCE_SECS as i64 + i64::from(offset);
                if future { -seconds } else { seconds }
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    header: String,
    body: String,
    /// Which of the configured secrets signs: 0 the current one, 1 the previous one.
    old_secret: bool,
    age: Age,
    extras: Vec<Extra>,
    /// Where the real `v1` goes among the extras.
    position: usize,
    flip_at: usize,
    flip_with: u8,
    spaces: bool,
}

fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(hmac::sign(&key, format!("{timestamp}.{body}").as_bytes()))
}

fuzz_target!(|input: Input| {
    let secrets = WebhookSecrets::parse("whsec_current, whsec_previous");

    // Anything at all: parsed or not, it never verifies.
    if let Some(parsed) = SignatureHeader::parse(&input.header) {
        assert!(parsed.v1.len() <= input.header.matches("v1").count());
    }
    assert!(
        !secrets.verify_at(&input.body, &input.header, NOW),
        "an arbitrary header verified: {:?}",
        input.header
    );

    // As Stripe signs: t first, then the parts in any order.
    let secret = if input.old_secret {
        "whsec_previous"
    } else {
        "whsec_current"
    };
    let age = input.age.seconds();
    let timestamp = NOW - age;
    let signature = sign(secret, timestamp, &input.body);
    let mut parts: Vec<String> = input
        .extras
        .iter()
        .filter_map(|e| match e {
            Extra::V0(bytes) => Some(format!("v0={}", hex::encode(bytes))),
            Extra::WrongV1(bytes) if hex::encode(bytes) != signature => {
                Some(format!("v1={}", hex::encode(bytes)))
            }
            Extra::WrongV1(_) => None,
            // A value may hold anything but the separator; a key is not one of ours.
            Extra::Unknown(key, value) => {
                let key = key.replace([',', '='], "");
                let key = key.trim();
                (!key.is_empty() && !["t", "v1"].contains(&key))
                    .then(|| format!("{key}={}", value.replace(',', "")))
            }
        })
        .collect();
    let at = input.position % (parts.len() + 1);
    parts.insert(at, format!("v1={signature}"));
    let separator = if input.spaces { ", " } else { "," };
    let header = format!("t={timestamp}{separator}{}", parts.join(separator));
    let fresh = age.unsigned_abs() <= TOLERANCE_SECS;
    assert_eq!(
        secrets.verify_at(&input.body, &header, NOW),
        fresh,
        "{header:?} over {:?}",
        input.body
    );
    assert!(!WebhookSecrets::parse("whsec_other").verify_at(&input.body, &header, NOW));

    // One byte of the real signature changed (still hex, or not; hex's case does not count).
    let mut bytes = signature.clone().into_bytes();
    let i = input.flip_at % bytes.len();
    bytes[i] ^= input.flip_with.max(1);
    if let Ok(altered) = String::from_utf8(bytes)
        && hex::decode(&altered).ok() != hex::decode(&signature).ok()
    {
        let forged = header.replace(&signature, &altered);
        assert!(!secrets.verify_at(&input.body, &forged, NOW), "{forged:?}");
    }
    // One byte of the body changed.
    let mut body = input.body.clone().into_bytes();
    if !body.is_empty() {
        let i = input.flip_at % body.len();
        body[i] ^= input.flip_with.max(1);
        if let Ok(altered) = String::from_utf8(body) {
            assert!(!secrets.verify_at(&altered, &header, NOW), "{altered:?}");
        }
    }
});
