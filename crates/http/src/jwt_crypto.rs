//! jsonwebtoken's cryptography: HS256 on ring, the only algorithm sessions use.
//!
//! jsonwebtoken ships two backends (aws-lc-rs, or RustCrypto with RSA and elliptic curves), and
//! either would add a second crypto library to every function; its `CryptoProvider` hook takes
//! our own instead. Any other algorithm is refused, so a token that names one fails to verify.

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey,
    crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
    errors::{ErrorKind, Result},
    signature::{self, Signer, Verifier},
};
use ring::hmac;

static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes HS256 on ring jsonwebtoken's process-wide provider. Idempotent: only this crate
/// installs one, so a second call finds its own provider already there.
pub(crate) fn install() {
    // The error is "already installed", and the installed provider can only be this one.
    let _ = HS256_ONLY.install_default();
}

struct Hs256(hmac::Key);

impl Hs256 {
    fn new(algorithm: &Algorithm, secret: &[u8]) -> Result<Self> {
        match algorithm {
            Algorithm::HS256 => Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret))),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(Hs256::new(algorithm, key.as_bytes())?))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    Ok(Box::new(Hs256::new(algorithm, key.try_get_as_bytes()?)?))
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.0, message).as_ref().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        // ring compares in constant time.
        hmac::verify(&self.0, message, tag).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn signs_hs256_as_rfc_7515_defines_it() {
        // RFC 7515 A.1 is HS256 over `header.payload`: check ours against an independent
        // HMAC-SHA256 (RFC 4231 test case 2).
        install();
        let tag = jsonwebtoken::crypto::sign(
            b"what do ya want for nothing?",
            &EncodingKey::from_secret(b"Jefe"),
            Algorithm::HS256,
        )
        .expect("signs");
        assert_eq!(
            tag,
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                hex::decode("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
                    .expect("hex")
            )
        );
    }

    #[test]
    fn verifies_its_own_tags_and_nothing_else() {
        install();
        let key = DecodingKey::from_secret(SECRET);
        let tag =
            jsonwebtoken::crypto::sign(b"a.b", &EncodingKey::from_secret(SECRET), Algorithm::HS256)
                .expect("signs");
        assert!(jsonwebtoken::crypto::verify(&tag, b"a.b", &key, Algorithm::HS256).expect("runs"));
        assert!(!jsonwebtoken::crypto::verify(&tag, b"a.c", &key, Algorithm::HS256).expect("runs"));
    }

    #[test]
    fn refuses_every_other_algorithm() {
        install();
        for algorithm in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
        ] {
            assert!(
                jsonwebtoken::crypto::sign(b"a.b", &EncodingKey::from_secret(SECRET), algorithm)
                    .is_err(),
                "{algorithm:?}"
            );
            assert!(
                jsonwebtoken::crypto::verify(
                    "AAAA",
                    b"a.b",
                    &DecodingKey::from_secret(SECRET),
                    algorithm
                )
                .is_err(),
                "{algorithm:?}"
            );
        }
    }
}
