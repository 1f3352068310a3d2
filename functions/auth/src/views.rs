//! The JSON shapes the auth routes answer.

use artforge_domain::{LedgerEntry, User};
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// `GET /me`: `{id, email, name, credits, createdAt}`. Never the password hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub credits: u64,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.to_string(),
            name: user.name.as_ref().map(|n| n.as_str().to_owned()),
            credits: user.credits.get(),
            created_at: rfc3339(user.created_at),
        }
    }
}

/// Register, login and password change: the user and a fresh session token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user: UserView,
    pub token: String,
    pub expires_at: String,
}

impl SessionView {
    pub fn new(user: &User, token: String, expires_at: OffsetDateTime) -> Self {
        Self {
            user: user.into(),
            token,
            expires_at: rfc3339(expires_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntryView {
    pub id: String,
    pub delta: i64,
    pub reason: String,
    pub reference: Option<String>,
    pub balance_after: u64,
    pub created_at: String,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            id: entry.id,
            delta: entry.delta,
            reason: entry.reason,
            reference: entry.reference,
            balance_after: entry.balance_after.get(),
            created_at: rfc3339(entry.created_at),
        }
    }
}

/// `GET /me/credits`: the balance and a page of the ledger, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditsView {
    pub balance: u64,
    pub items: Vec<LedgerEntryView>,
    pub next_cursor: Option<String>,
}
