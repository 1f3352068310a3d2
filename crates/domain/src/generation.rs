//! Generation jobs: what a user asked for, what it cost, how far it got, and what the provider
//! is asked. A job pays up front; what it does not deliver is refunded once (DESIGN §3).

use time::OffsetDateTime;

use crate::{
    Background, Credits, FieldError, ImageFormat, ImageId, JobId, Preset, Tags, Tier, UserId,
    credits::CreditOverflow, sets::closed_set,
};

closed_set! {
    /// A style. The provider has no parameter for it: the catalogue gives each tier's styles a
    /// sentence that is added to the prompt.
    pub enum Style: "style" {
        Vivid => "vivid",
        Natural => "natural",
    }
}

closed_set! {
    /// A quality as the product offers it; the catalogue maps it to the provider's value and
    /// a price per tier.
    pub enum Quality: "quality" {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

/// A prompt: trimmed, 1 to [`Prompt::MAX_CHARS`] characters, no control characters but line
/// breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt(String);

impl Prompt {
    /// The most characters of a prompt, after trimming.
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let max = Self::MAX_CHARS;
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new("prompt", "must not be empty"));
        }
        if text.chars().count() > max {
            return Err(FieldError::new(
                "prompt",
                format!("has at most {max} characters"),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(FieldError::new("prompt", "has control characters"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A checked generation request (see [`crate::catalog::Catalog::validate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationRequest {
    pub prompt: Prompt,
    pub tier: Tier,
    pub style: Style,
    pub preset: Preset,
    pub quality: Quality,
    pub count: u8,
    pub tags: Tags,
    /// The finished image: pixels, background, format.
    pub output: ImageSpec,
}

/// What a finished image is: its exact pixels (the preset's, or a custom size's), its
/// background, and the format of its sized image and thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSpec {
    pub width: u32,
    pub height: u32,
    pub background: Background,
    pub format: ImageFormat,
}

impl ImageSpec {
    /// A named preset's platform pixels, the provider's background, a JPEG: what every job asked
    /// for before requests chose them (and what a job stored then reads as).
    pub fn of_preset(preset: Preset) -> Option<Self> {
        let (width, height) = preset.size()?;
        Some(Self {
            width,
            height,
            background: Background::Auto,
            format: ImageFormat::Jpeg,
        })
    }

    /// Whether the finished files keep an alpha channel: a transparent background in a format
    /// that has one.
    pub fn keeps_alpha(&self) -> bool {
        self.background == Background::Transparent && self.format.has_alpha()
    }
}

impl GenerationRequest {
    /// A stable text of everything the request asks for, to tell an idempotent replay (same
    /// text) from a reused key (different text).
    pub fn fingerprint(&self) -> String {
        let tags: Vec<&str> = self.tags.iter().map(crate::Tag::as_str).collect();
        let o = &self.output;
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}x{}\u{1f}{}\u{1f}{}",
            self.tier,
            self.style,
            self.preset,
            self.quality,
            self.count,
            tags.join(","),
            self.prompt.as_str(),
            o.width,
            o.height,
            o.background,
            o.format
        )
    }
}

/// What one provider call is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRequest {
    pub model: String,
    /// The user's prompt with the style's sentence.
    pub prompt: String,
    /// `WIDTHxHEIGHT`.
    pub size: String,
    /// The provider's own quality value (configuration: providers name them differently).
    pub quality: String,
    /// Images wanted in all.
    pub count: u8,
    /// The most images one request returns; more are asked for in turns.
    pub images_per_request: u8,
    pub output_format: ImageFormat,
    pub background: Background,
}

closed_set! {
    /// Where a job is in its life: queued until a worker claims it, running while the worker
    /// holds its lease, then final.
    pub enum JobStatus: "status" {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

impl JobStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

closed_set! {
    /// Why a job (or some of its images) failed, as stable codes of DESIGN §7.
    pub enum JobErrorCode: "code" {
        /// The provider refused the prompt; changing it may help, retrying will not.
        ContentPolicyViolation => "content_policy_violation",
        /// The provider was unreachable, overloaded, out of quota or too slow until the deadline.
        ProviderUnavailable => "provider_unavailable",
        /// Anything else: the provider's answer was unusable, or the job could not be finished.
        GenerationFailed => "generation_failed",
        /// The provider has shut down the tier's model; another model may work.
        ModelRetired => "model_retired",
    }
}

/// A failed job's error: a stable code and words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub code: JobErrorCode,
    pub message: String,
}

impl JobError {
    pub fn new(code: JobErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A generation job. `slots` are the ids its images get, chosen when it is created so a
/// retried attempt writes the same objects (nothing orphaned by a retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub owner: UserId,
    pub status: JobStatus,
    pub request: GenerationRequest,
    /// Credits per image, as priced when submitted.
    pub unit_price: Credits,
    /// What the job was charged: its price per image for every image asked for (see
    /// [`Job::cost_of`]).
    pub cost: Credits,
    /// How much of the cost free credits paid (known once debited): a refund gives that much
    /// back as free credits first.
    pub free_cost: Credits,
    pub refunded: Credits,
    pub slots: Vec<ImageId>,
    /// The images delivered, in slot order.
    pub images: Vec<ImageId>,
    pub error: Option<JobError>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// An edit's files and a remixed image, when the job has them (DESIGN §10).
    pub inputs: crate::edit::JobInputs,
}

impl Job {
    /// A new, queued job for `request` at `unit_price` credits per image.
    pub fn new(
        owner: UserId,
        request: GenerationRequest,
        unit_price: Credits,
        now: OffsetDateTime,
    ) -> Result<Self, CreditOverflow> {
        let slots: Vec<ImageId> = (0..request.count).map(|_| ImageId::new()).collect();
        Ok(Self {
            id: JobId::new(),
            owner,
            status: JobStatus::Queued,
            unit_price,
            cost: Self::cost_of(unit_price, slots.len())?,
            free_cost: Credits::ZERO,
            refunded: Credits::ZERO,
            slots,
            images: Vec::new(),
            error: None,
            created_at: now,
            updated_at: now,
            request,
            inputs: crate::edit::JobInputs::default(),
        })
    }

    /// The cost of `images` images at `unit_price`, checked.
    pub fn cost_of(unit_price: Credits, images: usize) -> Result<Credits, CreditOverflow> {
        unit_price.times(u64::try_from(images).map_err(|_| CreditOverflow)?)
    }

    /// The movement that gives back `refunded` credits of this job: free credits return as
    /// free, up to what free credits paid.
    pub fn refund(&self, refunded: Credits) -> crate::Movement {
        crate::Movement::Refund {
            credits: refunded,
            free: refunded.min(self.free_cost),
        }
    }

    /// What is owed back when `delivered` of the job's images were made: never more than the
    /// job cost.
    pub fn refund_for(&self, delivered: usize) -> Credits {
        let missing = self.slots.len().saturating_sub(delivered);
        Self::cost_of(self.unit_price, missing)
            .unwrap_or(self.cost)
            .min(self.cost)
    }
}

/// An `Idempotency-Key` header: 1 to 128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() || raw.len() > 128 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::new(
                "Idempotency-Key",
                "is 1 to 128 visible ASCII characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A provider failure, classified so the worker knows whether waiting could help.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The prompt (or an image) was refused by the provider's safety system.
    #[error("the provider refused the prompt: {0}")]
    ContentPolicy(String),
    /// Our provider account is out of quota or billing; no retry helps.
    #[error("the provider account has no quota left: {0}")]
    QuotaExceeded(String),
    /// The provider no longer has the model (shut down, or never had it); no retry helps.
    #[error("the provider has no model by that name any more: {0}")]
    ModelRetired(String),
    /// Any other 4xx: the request was wrong; no retry helps.
    #[error("the provider rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// 429, 5xx, a transport failure or a timeout, still so after retrying.
    #[error("the provider is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The job's deadline passed before the provider answered.
    #[error("the provider did not answer before the job's deadline")]
    DeadlineExceeded,
    /// The answer had no usable image (no data, a download that failed or was too large).
    #[error("the provider's answer was unusable: {0}")]
    BadAnswer(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_trimmed_and_bounded() {
        assert_eq!(
            Prompt::parse("  a cat \n").map(|p| p.0),
            Ok("a cat".to_owned())
        );
        assert!(Prompt::parse(" \n ").is_err());
        assert!(Prompt::parse(&"é".repeat(2000)).is_ok());
        assert!(Prompt::parse(&"é".repeat(2001)).is_err());
        assert!(Prompt::parse("bell\u{7}").is_err());
        assert!(Prompt::parse("two\nlines\tok").is_ok());
    }

    fn three_low() -> GenerationRequest {
        GenerationRequest {
            prompt: Prompt::parse("x").expect("valid"),
            tier: Tier::V2,
            style: Style::Natural,
            preset: Preset::Story,
            quality: Quality::Low,
            count: 3,
            tags: Tags::default(),
            output: ImageSpec::of_preset(Preset::Story).expect("a named preset"),
        }
    }

    #[test]
    fn a_job_costs_its_images_and_owes_back_what_it_did_not_deliver() {
        let request = three_low();
        let job = Job::new(
            UserId::new(),
            request,
            Credits::new(2),
            OffsetDateTime::UNIX_EPOCH,
        )
        .expect("priced");
        assert_eq!(job.cost, Credits::new(6));
        assert_eq!(job.slots.len(), 3);
        assert_eq!(job.refund_for(3), Credits::ZERO);
        assert_eq!(job.refund_for(2), Credits::new(2));
        assert_eq!(job.refund_for(0), Credits::new(6));
        assert_eq!(job.refund_for(7), Credits::ZERO);
    }

    #[test]
    fn a_price_that_overflows_is_refused_not_wrapped() {
        let request = GenerationRequest {
            count: 5,
            ..three_low()
        };
        let job = Job::new(
            UserId::new(),
            request,
            Credits::new(u64::MAX / 4),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(job, Err(CreditOverflow));
    }

    #[test]
    fn the_fingerprint_tells_requests_apart() {
        let base = three_low();
        let other = GenerationRequest {
            count: 2,
            ..base.clone()
        };
        assert_eq!(base.fingerprint(), base.clone().fingerprint());
        assert_ne!(base.fingerprint(), other.fingerprint());
        let transparent = GenerationRequest {
            output: ImageSpec {
                background: Background::Transparent,
                format: ImageFormat::Png,
                ..base.output
            },
            ..base.clone()
        };
        assert_ne!(base.fingerprint(), transparent.fingerprint());
        let wider = GenerationRequest {
            output: ImageSpec {
                width: 1088,
                ..base.output
            },
            ..base.clone()
        };
        assert_ne!(base.fingerprint(), wider.fingerprint());
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert!(IdempotencyKey::parse("9f1c-2b").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
    }

    #[test]
    fn job_error_codes_have_one_spelling() {
        assert_eq!(
            JobErrorCode::parse("generation_failed", "code"),
            Ok(JobErrorCode::GenerationFailed)
        );
        assert!(JobErrorCode::parse("GenerationFailed", "code").is_err());
    }
}
