//! The JSON shapes the auth routes answer.

use artforge_domain::{ImageFiles, Job, LedgerEntry, Purchase, User};
use artforge_http::{
    ApiError,
    views::{Detail, ImageView, view},
};
use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::leaving::Export;

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

/// What the export says about the records a deletion keeps.
pub const KEPT_AFTER_DELETION: &str = "If you delete your account, your purchases and your \
credit ledger are kept, without your email or name, because payments must stay auditable. \
Everything else listed here is deleted.";

/// A purchase in the export, as `GET /billing/purchases` lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseExport {
    pub session_id: String,
    pub pack: String,
    pub credits: u64,
    pub amount: u64,
    pub currency: String,
    pub status: String,
    pub credits_refunded: u64,
    pub created_at: String,
}

impl From<&Purchase> for PurchaseExport {
    fn from(p: &Purchase) -> Self {
        Self {
            session_id: p.checkout_session.clone(),
            pack: p.pack.to_string(),
            credits: p.credits.get(),
            amount: p.amount,
            currency: p.currency.clone(),
            status: p.status.as_str().to_owned(),
            credits_refunded: p.taken_back().get(),
            created_at: rfc3339(p.created_at),
        }
    }
}

/// What a job asked for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobRequestExport {
    pub prompt: String,
    pub model: String,
    pub style: String,
    pub preset: String,
    pub quality: String,
    pub count: u8,
    pub tags: Vec<String>,
}

/// A job's error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobErrorExport {
    pub code: String,
    pub message: String,
}

/// A job in the export: what it asked for, cost and gave back, and the images it made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobExport {
    pub id: String,
    pub status: String,
    pub request: JobRequestExport,
    pub cost: u64,
    pub refunded: u64,
    pub images: Vec<String>,
    pub error: Option<JobErrorExport>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Job> for JobExport {
    fn from(job: &Job) -> Self {
        let r = &job.request;
        Self {
            id: job.id.to_string(),
            status: job.status.as_str().to_owned(),
            request: JobRequestExport {
                prompt: r.prompt.as_str().to_owned(),
                model: r.tier.as_str().to_owned(),
                style: r.style.as_str().to_owned(),
                preset: r.preset.as_str().to_owned(),
                quality: r.quality.as_str().to_owned(),
                count: r.count,
                tags: r.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            },
            cost: job.cost.get(),
            refunded: job.refunded.get(),
            images: job.images.iter().map(ToString::to_string).collect(),
            error: job.error.as_ref().map(|e| JobErrorExport {
                code: e.code.as_str().to_owned(),
                message: e.message.clone(),
            }),
            created_at: rfc3339(job.created_at),
            updated_at: rfc3339(job.updated_at),
        }
    }
}

/// `GET /me/export`: everything held about the user (DESIGN §11).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportView {
    pub account: UserView,
    pub balance: u64,
    /// Every ledger entry, newest first, as `GET /me/credits` lists them.
    pub ledger: Vec<LedgerEntryView>,
    pub purchases: Vec<PurchaseExport>,
    /// Every image, newest first, with presigned URLs (they expire in minutes).
    pub images: Vec<ImageView>,
    /// The ids of the images liked.
    pub likes: Vec<String>,
    pub jobs: Vec<JobExport>,
    /// What a deletion keeps: purchases and the ledger, without email or name.
    pub retention: &'static str,
    pub exported_at: String,
}

impl ExportView {
    pub async fn render<F: ImageFiles>(
        files: &F,
        base: &str,
        export: Export,
    ) -> Result<Self, ApiError> {
        let mut images = Vec::with_capacity(export.images.len());
        for image in &export.images {
            let detail = Detail {
                viewer: Some(export.user.id),
                liked_by_me: export.likes.contains(&image.id),
                with_original: true,
            };
            images.push(view(files, base, image, detail).await?);
        }
        Ok(Self {
            account: UserView::from(&export.user),
            balance: export.wallet.balance.get(),
            ledger: export.ledger.into_iter().map(Into::into).collect(),
            purchases: export.purchases.iter().map(Into::into).collect(),
            images,
            likes: export.likes.iter().map(ToString::to_string).collect(),
            jobs: export.jobs.iter().map(Into::into).collect(),
            retention: KEPT_AFTER_DELETION,
            exported_at: rfc3339(OffsetDateTime::now_utc()),
        })
    }
}
