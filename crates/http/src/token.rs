//! Session tokens: JWT, HS256 only, signed with the first configured key and verified with the
//! key its `kid` names, so keys rotate without logging anyone out. `sub`, `iat`, `exp`, `iss`,
//! `aud`, the user's token version `ver` and a token id `jti` are all required.

use std::collections::HashMap;

use artforge_domain::UserId;
use base64::{Engine, engine::general_purpose};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use ring::hmac;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use artforge_runtime::ConfigError;

/// The shortest key accepted, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_KEY_BYTES: usize = 32;
/// Clock skew tolerated on `exp` and `iat`.
pub const LEEWAY_SECS: u64 = 5;

/// The configured secret keys, first one current: `JWT_KEYS=kid:base64secret[,kid:base64secret]`,
/// or the secret the stack generates, `{"kid": "k1", "key": "<base64>"}`, which is read as
/// `k1:<base64>` (so `"key"` may go on with `,kid:base64secret` entries during a rotation).
pub struct Keyring {
    keys: Vec<(String, SecretBox<[u8]>)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("Keyring")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: "JWT_KEYS",
            reason,
        };
        let composed;
        let raw = if raw.trim_start().starts_with('{') {
            #[derive(Deserialize)]
            struct Generated {
                kid: String,
                key: String,
            }
            let generated: Generated = serde_json::from_str(raw)
                .map_err(|_| invalid("a JSON form is {\"kid\": ..., \"key\": ...}".into()))?;
            composed = format!("{}:{}", generated.kid, generated.key);
            composed.as_str()
        } else {
            raw
        };
        let mut keys = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, secret) = entry
                .split_once(':')
                .ok_or_else(|| invalid("each key is kid:base64secret".into()))?;
            let kid = kid.trim();
            if kid.is_empty()
                || !kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid("a kid is letters, digits, - and _".into()));
            }
            let secret = secret.trim().trim_end_matches('=');
            let bytes = general_purpose::URL_SAFE_NO_PAD
                .decode(secret)
                .or_else(|_| general_purpose::STANDARD_NO_PAD.decode(secret))
                .map_err(|_| invalid(format!("the secret of {kid} is not base64")))?;
            if bytes.len() < MIN_KEY_BYTES {
                return Err(invalid(format!(
                    "the secret of {kid} has fewer than {MIN_KEY_BYTES} bytes"
                )));
            }
            keys.push((kid.to_owned(), SecretBox::new(bytes.into_boxed_slice())));
        }
        if keys.is_empty() {
            return Err(invalid("no key configured".into()));
        }
        Ok(Self { keys })
    }

    /// One key per configured key, derived for another purpose (`label`), current first.
    pub fn derive(&self, label: &str) -> Vec<hmac::Key> {
        self.keys
            .iter()
            .map(|(_, secret)| {
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret());
                hmac::Key::new(
                    hmac::HMAC_SHA256,
                    hmac::sign(&key, label.as_bytes()).as_ref(),
                )
            })
            .collect()
    }
}

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// The user's token version when issued; raising it revokes the token.
    pub ver: u64,
    /// The token's own id, for revoking just this one.
    pub jti: String,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub claims: Claims,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

#[derive(Debug, thiserror::Error)]
#[error("signing a token failed")]
pub struct SigningError(#[from] jsonwebtoken::errors::Error);

/// Issues and verifies session tokens. Build once at init.
pub struct TokenKeys {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl TokenKeys {
    pub fn new(keyring: &Keyring, issuer: &str, audience: &str, ttl: Duration) -> Self {
        crate::jwt_crypto::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        let (signing_kid, signing) = keyring
            .keys
            .first()
            .map(|(kid, secret)| {
                (
                    kid.clone(),
                    EncodingKey::from_secret(secret.expose_secret()),
                )
            })
            .unwrap_or_else(|| (String::new(), EncodingKey::from_secret(&[])));
        let verifying = keyring
            .keys
            .iter()
            .map(|(kid, secret)| {
                (
                    kid.clone(),
                    DecodingKey::from_secret(secret.expose_secret()),
                )
            })
            .collect();
        Self {
            signing_kid,
            signing,
            verifying,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user` at `token_version`, valid for the configured time from `now`.
    pub fn issue(
        &self,
        user: UserId,
        token_version: u64,
        now: OffsetDateTime,
    ) -> Result<Issued, SigningError> {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user.to_string(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            ver: token_version,
            jti: ulid::Ulid::generate().to_string(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing)?;
        Ok(Issued {
            token,
            claims,
            expires_at,
        })
    }

    /// Checks signature, algorithm, key id, expiry, issuer, audience and required claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(TokenError::Invalid)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        if data.claims.iat > now + leeway {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "a:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY";
    const KEY_B: &str = "b:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA";

    fn keys(raw: &str) -> TokenKeys {
        TokenKeys::new(
            &Keyring::parse(raw).expect("keys"),
            "artforge",
            "artforge-web",
            Duration::hours(1),
        )
    }

    fn b64(json: &str) -> String {
        general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn a_token_verifies_with_the_keys_that_issued_it() {
        let keys = keys(KEY_A);
        let user = UserId::new();
        let issued = keys
            .issue(user, 3, OffsetDateTime::now_utc())
            .expect("issued");
        let claims = keys.verify(&issued.token).expect("valid");
        assert_eq!(claims.sub, user.to_string());
        assert_eq!(claims.ver, 3);
        assert_eq!(claims, issued.claims);
    }

    #[test]
    fn keys_rotate_without_invalidating_tokens_of_the_previous_key() {
        let old = keys(KEY_A)
            .issue(UserId::new(), 0, OffsetDateTime::now_utc())
            .expect("issued");
        let rotated = keys(&format!("{KEY_B},{KEY_A}"));
        assert!(rotated.verify(&old.token).is_ok());
        assert_eq!(keys(KEY_B).verify(&old.token), Err(TokenError::Invalid));
    }

    #[test]
    fn an_expired_token_is_expired_and_a_tampered_one_invalid() {
        let keys = keys(KEY_A);
        let past = OffsetDateTime::now_utc() - Duration::hours(2);
        let expired = keys.issue(UserId::new(), 0, past).expect("issued");
        assert_eq!(keys.verify(&expired.token), Err(TokenError::Expired));

        let fresh = keys
            .issue(UserId::new(), 0, OffsetDateTime::now_utc())
            .expect("issued");
        let mut parts: Vec<String> = fresh.token.split('.').map(str::to_owned).collect();
        let forged = fresh.claims.clone();
        parts[1] = b64(&serde_json::to_string(&Claims { ver: 99, ..forged }).expect("json"));
        assert_eq!(keys.verify(&parts.join(".")), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let keys = keys(KEY_A);
        let fresh = keys
            .issue(UserId::new(), 0, OffsetDateTime::now_utc())
            .expect("issued");
        let payload = fresh.token.split('.').nth(1).unwrap_or_default().to_owned();
        for header in [
            r#"{"alg":"none","typ":"JWT","kid":"a"}"#,
            r#"{"alg":"HS512","typ":"JWT","kid":"a"}"#,
        ] {
            let token = format!("{}.{payload}.", b64(header));
            assert_eq!(keys.verify(&token), Err(TokenError::Invalid), "{header}");
        }
    }

    #[test]
    fn the_wrong_audience_issuer_or_an_unknown_kid_is_refused() {
        let ring = Keyring::parse(KEY_A).expect("keys");
        let other_aud = TokenKeys::new(&ring, "artforge", "someone-else", Duration::hours(1));
        let other_iss = TokenKeys::new(&ring, "evil", "artforge-web", Duration::hours(1));
        let ours = keys(KEY_A);
        let now = OffsetDateTime::now_utc();
        for foreign in [&other_aud, &other_iss] {
            let token = foreign.issue(UserId::new(), 0, now).expect("issued").token;
            assert_eq!(ours.verify(&token), Err(TokenError::Invalid));
        }
        let same_secret_other_kid = keys("c:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY");
        let token = same_secret_other_kid
            .issue(UserId::new(), 0, now)
            .expect("issued")
            .token;
        assert_eq!(ours.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn the_generated_secret_is_read_as_its_kid_and_key_rotation_entries_included() {
        let old = keys(KEY_A)
            .issue(UserId::new(), 0, OffsetDateTime::now_utc())
            .expect("issued");
        let (kid, key) = KEY_B.split_once(':').expect("kid:key");
        let generated = keys(&format!(r#"{{"kid": "{kid}", "key": "{key},{KEY_A}"}}"#));
        assert!(generated.verify(&old.token).is_ok(), "the old key verifies");
        let new = generated
            .issue(UserId::new(), 0, OffsetDateTime::now_utc())
            .expect("issued");
        assert!(
            keys(KEY_B).verify(&new.token).is_ok(),
            "the first key signs"
        );
        assert!(Keyring::parse(r#"{"kid": "a"}"#).is_err());
    }

    #[test]
    fn short_or_malformed_keys_are_rejected_at_init() {
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("a:c2hvcnQ").is_err());
        assert!(Keyring::parse("no-colon").is_err());
        assert!(Keyring::parse("a b:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY").is_err());
    }
}
