//! List cursors: the store's position, sealed with an HMAC and bound to the user and the list,
//! so a client can hand it back but not forge, alter or reuse it on another user's list.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::{ApiError, ErrorCode, token::Keyring};

#[derive(Clone)]
pub struct Cursors {
    /// Current key first; older keys still open cursors during a rotation.
    keys: std::sync::Arc<[hmac::Key]>,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cursors")
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// Owner: the user id, or `*` for public lists.
    o: String,
    /// The list it pages through.
    l: String,
    /// The store's position.
    p: String,
}

impl Cursors {
    pub fn new(keyring: &Keyring) -> Self {
        Self {
            keys: keyring.derive("artforge/cursor/v1").into(),
        }
    }

    pub fn seal(&self, owner: &str, list: &str, position: &str) -> String {
        let payload = serde_json::to_vec(&Sealed {
            o: owner.to_owned(),
            l: list.to_owned(),
            p: position.to_owned(),
        })
        .unwrap_or_default();
        let tag = self.keys.first().map(|k| hmac::sign(k, &payload));
        let tag = tag.as_ref().map(hmac::Tag::as_ref).unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The position inside `cursor`, if it was sealed here for this owner and list.
    pub fn open(&self, owner: &str, list: &str, cursor: &str) -> Result<String, ApiError> {
        let invalid = || {
            ApiError::new(
                ErrorCode::InvalidCursor,
                "the cursor is not valid for this list",
            )
        };
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        if !self
            .keys
            .iter()
            .any(|k| hmac::verify(k, &payload, &tag).is_ok())
        {
            return Err(invalid());
        }
        let sealed: Sealed = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if sealed.o != owner || sealed.l != list {
            return Err(invalid());
        }
        Ok(sealed.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursors(raw: &str) -> Cursors {
        Cursors::new(&Keyring::parse(raw).expect("keys"))
    }

    const KEY: &str = "k:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY";

    #[test]
    fn a_cursor_opens_for_its_owner_and_list_only() {
        let c = cursors(KEY);
        let sealed = c.seal("u1", "ledger", "LEDGER#01J");
        assert_eq!(
            c.open("u1", "ledger", &sealed).ok(),
            Some("LEDGER#01J".into())
        );
        assert!(c.open("u2", "ledger", &sealed).is_err());
        assert!(c.open("u1", "images", &sealed).is_err());
    }

    #[test]
    fn forged_truncated_and_altered_cursors_are_rejected() {
        let c = cursors(KEY);
        let sealed = c.seal("u1", "ledger", "LEDGER#01J");
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"o":"u1","l":"ledger","p":"LEDGER#ZZZ"}"#);
        let tag = sealed.split('.').nth(1).unwrap_or_default();
        for bad in [
            String::new(),
            "garbage".into(),
            sealed[..sealed.len() - 3].to_owned(),
            format!("{forged_payload}.{tag}"),
        ] {
            let err = c.open("u1", "ledger", &bad).expect_err(&bad);
            assert_eq!(err.code(), ErrorCode::InvalidCursor);
        }
        let other_key = cursors("k:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA");
        assert!(other_key.open("u1", "ledger", &sealed).is_err());
    }
}
