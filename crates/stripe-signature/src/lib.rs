//! `Stripe-Signature` verification: HMAC-SHA256 over `t.body`, any `v1` of any configured
//! secret (several during a rotation), 300 s tolerance: Stripe's published scheme, with
//! ring's HMAC and its constant-time comparison.
//!
//! Not `async-stripe-webhook`'s `construct_event`: its only public check also parses the event
//! into a typed enum of every Stripe object, which linked the deserialisers of all of
//! `async-stripe-shared` into the billing Lambda and put its zip over 6 MB, while the handler
//! reads only a few fields leniently after the check anyway. The crate stays as the tests'
//! reference: they sign with its `generate_test_header` (and with an independently computed
//! vector) and verify here.
//!
//! A crate of its own (the billing function re-exports it as `billing::signature`) so that the
//! fuzz targets (`fuzz/`) build it without the function's AWS and Stripe SDKs.

use ring::hmac;
use secrecy::{ExposeSecret, SecretString};

/// How far a signature's timestamp may be from now, either way (Stripe's default).
pub const TOLERANCE_SECS: u64 = 300;

/// The configured endpoint secrets, newest first: `STRIPE_WEBHOOK_SECRET=whsec_new,whsec_old`.
#[derive(Debug)]
pub struct WebhookSecrets(Vec<SecretString>);

impl WebhookSecrets {
    pub fn parse(raw: &str) -> Self {
        Self(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
                .collect(),
        )
    }

    /// Whether `header` signs `payload` with one of the secrets, recently enough.
    pub fn verify(&self, payload: &str, header: &str) -> bool {
        self.verify_at(
            payload,
            header,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )
    }

    /// [`Self::verify`] as if the time were `now` (Unix seconds).
    pub fn verify_at(&self, payload: &str, header: &str, now: i64) -> bool {
        let Some(SignatureHeader { timestamp, v1 }) = SignatureHeader::parse(header) else {
            return false;
        };
        if v1.is_empty() || now.abs_diff(timestamp) > TOLERANCE_SECS {
            return false;
        }
        let signed = format!("{timestamp}.{payload}");
        self.0.iter().any(|secret| {
            let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
            v1.iter()
                .any(|tag| hmac::verify(&key, signed.as_bytes(), tag).is_ok())
        })
    }
}

/// `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; other schemes (`v0`) and unknown keys are
/// ignored, as Stripe asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// When Stripe signed, Unix seconds.
    pub timestamp: i64,
    /// Every `v1` signature that is valid hex, in header order.
    pub v1: Vec<Vec<u8>>,
}

impl SignatureHeader {
    /// The header's parts, or `None` when it has no `t` or a part that is not `key=value`.
    pub fn parse(header: &str) -> Option<Self> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for part in header.split(',') {
            let (key, value) = part.split_once('=')?;
            match key.trim() {
                "t" => timestamp = Some(value.trim().parse().ok()?),
                "v1" => v1.extend(hex::decode(value.trim()).ok()),
                _ => {}
            }
        }
        Some(Self {
            timestamp: timestamp?,
            v1,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use stripe_signer::Webhook;

    use super::*;

    const BODY: &str =
        r#"{"id":"evt_1","object":"event","type":"test.event","data":{"object":{}}}"#;
    const VECTOR_V1: &str = "3ca1ee2a1bb96f775b7e2ce04cd905d196a000933709c3ae8cb7cc8c26bd2f73";

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn a_header_from_stripes_scheme_verifies_and_anything_else_does_not() {
        let secrets = WebhookSecrets::parse("whsec_current");
        let good = Webhook::generate_test_header(BODY, "whsec_current", None);
        assert!(secrets.verify(BODY, &good));
        let wrong_secret = Webhook::generate_test_header(BODY, "whsec_other", None);
        assert!(!secrets.verify(BODY, &wrong_secret));
        assert!(
            !secrets.verify(&BODY.replace("evt_1", "evt_2"), &good),
            "tampered body"
        );
        assert!(
            !secrets.verify(&format!("{BODY} "), &good),
            "re-serialised body"
        );
        assert!(!secrets.verify(BODY, ""), "missing");
        let old = Webhook::generate_test_header(BODY, "whsec_current", Some(now() - 301));
        assert!(!secrets.verify(BODY, &old), "301 s old");
        let recent = Webhook::generate_test_header(BODY, "whsec_current", Some(now() - 290));
        assert!(secrets.verify(BODY, &recent), "290 s old");
    }

    /// A vector computed outside this code base, with Python's `hmac` module:
    /// `hmac.new(b"whsec_test_vector", b"1795435200." + BODY, hashlib.sha256).hexdigest()`.
    #[test]
    fn an_independently_computed_signature_verifies() {
        let header = format!("t=1795435200,v1={VECTOR_V1}");
        let secrets = WebhookSecrets::parse("whsec_test_vector");
        assert!(secrets.verify_at(BODY, &header, 1_795_435_200 + 10));
        assert!(
            !secrets.verify_at(BODY, &header, 1_795_435_200 + 301),
            "stale"
        );
        assert!(!WebhookSecrets::parse("whsec_other").verify_at(BODY, &header, 1_795_435_210));
    }

    #[test]
    fn any_v1_counts_in_either_order_and_v0_never() {
        let secrets = WebhookSecrets::parse("whsec_current");
        let good = Webhook::generate_test_header(BODY, "whsec_current", None);
        let (t, v1) = good.split_once(",v1=").expect("t,v1");
        let bad = "0".repeat(64);
        assert!(secrets.verify(BODY, &format!("{t},v1={bad},v1={v1}")));
        assert!(secrets.verify(BODY, &format!("{t},v1={v1},v1={bad}")));
        assert!(!secrets.verify(BODY, &format!("{t},v0={v1}")), "only v0");
    }

    #[test]
    fn an_event_signed_with_the_previous_secret_verifies_during_a_rotation() {
        let rotating = WebhookSecrets::parse("whsec_new, whsec_old");
        let header = Webhook::generate_test_header(BODY, "whsec_old", None);
        assert!(rotating.verify(BODY, &header));
        assert!(!WebhookSecrets::parse("whsec_new").verify(BODY, &header));
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic_and_never_verify(header in ".{0,200}") {
            let secrets = WebhookSecrets::parse("whsec_current");
            prop_assert!(!secrets.verify(BODY, &header));
        }

        #[test]
        fn header_shaped_garbage_never_panics(t in any::<i64>(), sigs in proptest::collection::vec("[v0-9a-z=]{0,70}", 0..4)) {
            let header = format!("t={t},{}", sigs.join(","));
            let secrets = WebhookSecrets::parse("whsec_current");
            prop_assert!(!secrets.verify(BODY, &header));
        }
    }
}
