//! Accounts: who a user is and the values that identify them, each valid by construction.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::{Credits, FieldError, UserId};

/// The longest address SMTP can carry (RFC 5321 path limit less the brackets).
const EMAIL_MAX_LEN: usize = 254;
/// OWASP's floor; the ceiling bounds the hashing work one request can ask for.
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;
const NAME_MAX_CHARS: usize = 80;

/// An email address, trimmed and lower-cased, so one mailbox is one account whatever the case
/// it is typed in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let candidate = raw.trim().to_lowercase();
        if candidate.is_empty() {
            return Err(FieldError::new("email", "is required"));
        }
        if candidate.len() > EMAIL_MAX_LEN {
            return Err(FieldError::new(
                "email",
                format!("must be at most {EMAIL_MAX_LEN} characters"),
            ));
        }
        // The crate accepts quoted local parts, IP-literal domains and display names, which no
        // mail form takes; demand the common `local@domain.tld` shape on top of its check.
        let plain = candidate.chars().all(|c| !c.is_whitespace() && c != '"')
            && candidate
                .rsplit_once('@')
                .is_some_and(|(_, domain)| domain.contains('.') && !domain.starts_with('['));
        if !plain || !email_address::EmailAddress::is_valid(&candidate) {
            return Err(FieldError::new("email", "is not a valid email address"));
        }
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: 8 to 128 characters, no other composition rule (OWASP ASVS 2.1).
/// It never prints and never serialises.
pub struct Password(SecretString);

impl Password {
    /// `field` names the input in the error (`password`, `newPassword`, ...).
    pub fn parse(raw: String, field: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at least {PASSWORD_MIN_CHARS} characters"),
            ));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at most {PASSWORD_MAX_CHARS} characters"),
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// A password taken for verification only (login, the current password): it is compared,
    /// never stored, so only the upper bound is enforced, to cap the work.
    pub fn candidate(raw: String, field: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if raw.chars().count() > PASSWORD_MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at most {PASSWORD_MAX_CHARS} characters"),
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A stored password hash (a PHC string). It is kept out of logs and never leaves the store
/// except to be verified.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// What a user wants to be called: trimmed, 1 to 80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "must not be empty"));
        }
        // The length as sent, as the API's schema states it (`maxLength`), not as trimmed.
        if raw.chars().count() > NAME_MAX_CHARS {
            return Err(FieldError::new(
                "name",
                format!("must be at most {NAME_MAX_CHARS} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user account as the rest of the system sees it. The password hash is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: Option<DisplayName>,
    pub credits: Credits,
    /// Raised to revoke every token issued before; tokens carry the version they were issued at.
    pub token_version: u64,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").map(|e| e.to_string());
        assert_eq!(email, Ok("ada.lovelace@example.com".to_owned()));
    }

    #[test]
    fn malformed_emails_are_rejected_with_the_field_named() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada lovelace@example.com",
            "\"ada\"@example.com",
            "ada@[127.0.0.1]",
        ] {
            let err = Email::parse(bad).expect_err(bad);
            assert_eq!(err.field, "email", "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn a_password_must_have_8_to_128_characters_counted_as_characters_not_bytes() {
        assert!(Password::parse("1234567".into(), "password").is_err());
        assert!(Password::parse("12345678".into(), "password").is_ok());
        assert!(Password::parse("é".repeat(128), "password").is_ok());
        let too_long = Password::parse("x".repeat(129), "newPassword").expect_err("129 chars");
        assert_eq!(too_long.field, "newPassword");
    }

    #[test]
    fn a_candidate_password_is_only_capped() {
        assert!(Password::candidate("short".into(), "password").is_ok());
        assert!(Password::candidate(String::new(), "password").is_err());
        assert!(Password::candidate("x".repeat(129), "password").is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let password = Password::parse("correct horse".into(), "password").expect("valid");
        let hash = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        let shown = format!("{password:?} {hash:?}");
        assert!(
            !shown.contains("horse") && !shown.contains("argon2"),
            "{shown}"
        );
    }

    #[test]
    fn a_display_name_is_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada ").map(|n| n.as_str().to_owned()),
            Ok("Ada".into())
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"n".repeat(81)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
        // Found by schemathesis: 81 characters as sent, 80 once a leading form feed is trimmed.
        assert!(
            DisplayName::parse(&format!("\u{c}{}", "n".repeat(80))).is_err(),
            "the length as sent counts"
        );
        assert!(DisplayName::parse(&format!(" {}", "n".repeat(79))).is_ok());
    }
}
