//! Editing (DESIGN §10): the uploads a user sends to edit, what an upload must be when it is
//! used, the sources and mask of an edit, and the lineage a new image carries (the image it was
//! edited from, the image it remixes).
//!
//! An upload is a file in the private bucket under `uploads/<userId>/<uploadId>`, written by
//! the client through a presigned URL; nothing about it is stored elsewhere. Its id is a ULID,
//! so its age is known from the id alone: an upload older than [`UPLOAD_LIFETIME`] is expired
//! even if the bucket's lifecycle rule has not removed it yet. The presigned URL signs the
//! declared type and length, but the local stand-in (moto) enforces neither, and a client may
//! lie about the type: so an upload is checked again, by content, when it is used
//! ([`check_upload`]), before anything is charged.

use std::time::Duration;

use time::OffsetDateTime;

use crate::{FieldError, ImageFormat, ImageId, UploadId, UserId};

/// The largest upload: 20 MiB.
pub const MAX_UPLOAD_BYTES: u64 = 20 * 1024 * 1024;
/// The most pixels an upload may have on a side.
pub const MAX_UPLOAD_SIDE: u32 = 4096;
/// The most sources an edit may have, whatever the catalogue says (the provider's limit).
pub const MAX_SOURCES: usize = 16;
/// How long a presigned upload URL lives.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(10 * 60);
/// How long an upload may be used after it was issued (the bucket's lifecycle removes it).
pub const UPLOAD_LIFETIME: time::Duration = time::Duration::days(1);

/// `uploads/<userId>/<uploadId>`: where a user's upload is, and only that user's.
pub fn upload_key(owner: UserId, id: UploadId) -> String {
    format!("uploads/{owner}/{id}")
}

/// What `POST /uploads` asks for: the type (`image/png`, `image/jpeg`, `image/webp`) and the
/// exact length in bytes (1 to [`MAX_UPLOAD_BYTES`]) of the file the client will send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRequest {
    pub format: ImageFormat,
    pub size: u64,
}

impl UploadRequest {
    /// Checks both fields; every rejected one is named.
    pub fn parse(content_type: Option<&str>, size: Option<u64>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let format = match content_type {
            None => Err(FieldError::new("contentType", "is required")),
            Some(raw) => ImageFormat::ALL
                .iter()
                .copied()
                .find(|f| f.content_type() == raw)
                .ok_or_else(|| {
                    FieldError::new(
                        "contentType",
                        "must be one of image/png, image/jpeg, image/webp",
                    )
                }),
        }
        .map_err(|e| errors.push(e))
        .ok();
        let size = match size {
            None => Err(FieldError::new("size", "is required")),
            Some(n) if (1..=MAX_UPLOAD_BYTES).contains(&n) => Ok(n),
            Some(_) => Err(FieldError::new(
                "size",
                format!("must be 1 to {MAX_UPLOAD_BYTES} bytes (20 MiB)"),
            )),
        }
        .map_err(|e| errors.push(e))
        .ok();
        match (format, size) {
            (Some(format), Some(size)) if errors.is_empty() => Ok(Self { format, size }),
            _ => Err(errors),
        }
    }
}

/// How the client sends an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMethod {
    /// One `PUT` of the body to the URL, with exactly the given headers.
    Put,
}

/// A presigned upload: where and how to send the file, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    pub url: String,
    pub method: UploadMethod,
    /// Headers the client must send as given (they are signed).
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

/// An upload issued to a user: its id and how to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: UploadId,
    pub presigned: PresignedUpload,
}

/// What a file's content says it is: its format and pixel size, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// A stored file as a check reads it: its length, the type it was stored with, and what its
/// content is (`None`: not a PNG, JPEG or WebP image whose size could be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub size: u64,
    pub content_type: Option<String>,
    pub probe: Option<Probe>,
}

/// Why an upload cannot be used (422 `upload_invalid`, naming the field that refers to it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadProblem {
    #[error("no such upload: it was never sent, or it expired")]
    Missing,
    #[error("the upload expired; upload the file again")]
    Expired,
    #[error("the upload is larger than 20 MiB")]
    TooLarge,
    #[error("the upload is not a PNG, JPEG or WebP image")]
    NotAnImage,
    #[error("the upload was declared as {declared} but is {actual}")]
    WrongType { declared: String, actual: String },
    #[error("the upload is {width}x{height}; at most {MAX_UPLOAD_SIDE} pixels a side")]
    TooWide { width: u32, height: u32 },
}

/// Whether upload `id`, issued at its id's time, may still be used at `now`.
pub fn upload_expired(id: UploadId, now: OffsetDateTime) -> bool {
    let issued_ms = i128::from(id.timestamp_ms());
    let now_ms = now.unix_timestamp_nanos() / 1_000_000;
    now_ms - issued_ms > UPLOAD_LIFETIME.whole_milliseconds()
}

/// Checks an upload when it is used: issued within a day, present, at most 20 MiB, an image of
/// the type it was declared with (by content), at most 4096 px a side. Its pixel size when
/// usable.
pub fn check_upload(
    id: UploadId,
    stored: Option<&StoredFile>,
    now: OffsetDateTime,
) -> Result<Probe, UploadProblem> {
    if upload_expired(id, now) {
        return Err(UploadProblem::Expired);
    }
    let stored = stored.ok_or(UploadProblem::Missing)?;
    if stored.size > MAX_UPLOAD_BYTES {
        return Err(UploadProblem::TooLarge);
    }
    let probe = stored.probe.ok_or(UploadProblem::NotAnImage)?;
    let declared = stored.content_type.as_deref().unwrap_or("none");
    if declared != probe.format.content_type() {
        return Err(UploadProblem::WrongType {
            declared: declared.to_owned(),
            actual: probe.format.content_type().to_owned(),
        });
    }
    if probe.width > MAX_UPLOAD_SIDE || probe.height > MAX_UPLOAD_SIDE {
        return Err(UploadProblem::TooWide {
            width: probe.width,
            height: probe.height,
        });
    }
    Ok(probe)
}

/// What an edit's source refers to: an image (own or public) or an own upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceRef {
    Image(ImageId),
    Upload(UploadId),
}

impl SourceRef {
    /// `image:<id>` or `upload:<id>`: how a job and an image store it.
    pub fn to_text(self) -> String {
        match self {
            Self::Image(id) => format!("image:{id}"),
            Self::Upload(id) => format!("upload:{id}"),
        }
    }

    /// The inverse of [`SourceRef::to_text`].
    pub fn from_text(text: &str) -> Option<Self> {
        match text.split_once(':')? {
            ("image", id) => id.parse().ok().map(Self::Image),
            ("upload", id) => id.parse().ok().map(Self::Upload),
            _ => None,
        }
    }

    /// The image, when it is one.
    pub fn image(self) -> Option<ImageId> {
        match self {
            Self::Image(id) => Some(id),
            Self::Upload(_) => None,
        }
    }
}

/// What a request makes its images from beyond the prompt, as it arrives, before anything is checked: `sources` and
/// `mask` as references (ids not yet parsed), `remixOf` as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawInputs {
    pub sources: Option<Vec<RawSource>>,
    pub mask: Option<RawSource>,
    pub remix_of: Option<String>,
}

/// One `{"image": id}` or `{"upload": id}` as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawSource {
    Image(String),
    Upload(String),
}

/// The inputs with their ids parsed and their counts checked (not yet looked up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputRefs {
    pub sources: Vec<SourceRef>,
    pub mask: Option<UploadId>,
    pub remix_of: Option<ImageId>,
}

impl InputRefs {
    /// Parses the ids and checks the shape: 1 to `max_sources` sources when any are given, a
    /// mask only with sources and only an upload. Every rejected field is named
    /// (`sources[i].image`, `mask.upload`, `remixOf`, ...).
    pub fn parse(raw: RawInputs, max_sources: usize) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        if let Some(list) = raw.sources {
            if list.is_empty() || list.len() > max_sources {
                errors.push(FieldError::new(
                    "sources",
                    format!("an edit has 1 to {max_sources} sources"),
                ));
            }
            for (i, source) in list.iter().enumerate() {
                match source {
                    RawSource::Image(id) => match id.parse() {
                        Ok(id) => sources.push(SourceRef::Image(id)),
                        Err(_) => errors.push(FieldError::new(
                            format!("sources[{i}].image"),
                            "is not an image id",
                        )),
                    },
                    RawSource::Upload(id) => match id.parse() {
                        Ok(id) => sources.push(SourceRef::Upload(id)),
                        Err(_) => errors.push(FieldError::new(
                            format!("sources[{i}].upload"),
                            "is not an upload id",
                        )),
                    },
                }
            }
        }
        let mask = match raw.mask {
            None => None,
            Some(_) if sources.is_empty() && errors.is_empty() => {
                errors.push(FieldError::new("mask", "applies to a source: give sources"));
                None
            }
            Some(RawSource::Upload(id)) => match id.parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new("mask.upload", "is not an upload id"));
                    None
                }
            },
            Some(RawSource::Image(_)) => {
                errors.push(FieldError::new(
                    "mask",
                    "is an upload: {\"upload\": id} of a PNG",
                ));
                None
            }
        };
        let remix_of = match raw.remix_of.as_deref().map(str::parse::<ImageId>) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                errors.push(FieldError::new("remixOf", "is not an image id"));
                None
            }
        };
        if errors.is_empty() {
            Ok(Self {
                sources,
                mask,
                remix_of,
            })
        } else {
            Err(errors)
        }
    }

    pub fn is_edit(&self) -> bool {
        !self.sources.is_empty()
    }
}

/// A file an edit sends to the provider: where it is in the bucket, and its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub key: String,
    pub format: ImageFormat,
}

/// An edit as a job carries it: the files to send, in order (the first is the one edited), the
/// mask of the first, and what the first refers to (kept on the images made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub sources: Vec<SourceFile>,
    pub mask: Option<SourceFile>,
    pub first: SourceRef,
    /// Every source as referred to, in order (for the idempotency fingerprint).
    pub refs: Vec<SourceRef>,
}

/// Where an image comes from: the source it was edited from (the first of its job's sources)
/// and the image it remixes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lineage {
    pub edited_from: Option<SourceRef>,
    pub remix_of: Option<ImageId>,
}

impl Lineage {
    pub fn edited(&self) -> bool {
        self.edited_from.is_some()
    }
}

/// What a job makes its images from beyond the prompt: an edit's files, a remixed image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobInputs {
    pub edit: Option<Edit>,
    pub remix_of: Option<ImageId>,
}

impl JobInputs {
    /// The lineage the job's images carry.
    pub fn lineage(&self) -> Lineage {
        Lineage {
            edited_from: self.edit.as_ref().map(|e| e.first),
            remix_of: self.remix_of,
        }
    }

    /// A stable text of the inputs, appended to the request's fingerprint: a retry with other
    /// sources, mask or remix is another request.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        if let Some(edit) = &self.edit {
            let refs: Vec<String> = edit.refs.iter().map(|r| r.to_text()).collect();
            text.push_str(&refs.join(","));
            text.push('|');
            if let Some(mask) = &edit.mask {
                text.push_str(&mask.key);
            }
        }
        text.push('|');
        if let Some(remix) = self.remix_of {
            text.push_str(&remix.to_string());
        }
        text
    }
}

/// The bytes of an edit's files, as the provider takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditFiles {
    pub sources: Vec<(ImageFormat, Vec<u8>)>,
    pub mask: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(format: ImageFormat, declared: &str, size: u64, w: u32, h: u32) -> StoredFile {
        StoredFile {
            size,
            content_type: Some(declared.to_owned()),
            probe: Some(Probe {
                format,
                width: w,
                height: h,
            }),
        }
    }

    #[test]
    fn an_upload_request_takes_three_image_types_and_one_byte_to_twenty_mebibytes() {
        let ok = UploadRequest::parse(Some("image/webp"), Some(MAX_UPLOAD_BYTES));
        assert_eq!(
            ok,
            Ok(UploadRequest {
                format: ImageFormat::Webp,
                size: MAX_UPLOAD_BYTES
            })
        );
        let fields = |r: Result<UploadRequest, Vec<FieldError>>| -> Vec<String> {
            r.err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(UploadRequest::parse(
                Some("image/gif"),
                Some(MAX_UPLOAD_BYTES + 1)
            )),
            ["contentType", "size"]
        );
        assert_eq!(
            fields(UploadRequest::parse(Some("image/png"), Some(0))),
            ["size"]
        );
        assert_eq!(
            fields(UploadRequest::parse(None, None)),
            ["contentType", "size"]
        );
    }

    #[test]
    fn an_upload_is_checked_by_content_size_and_sides_when_used() {
        let id = UploadId::new();
        let now = OffsetDateTime::now_utc();
        let png = stored(ImageFormat::Png, "image/png", 10, 4096, 100);
        assert_eq!(
            check_upload(id, Some(&png), now).map(|p| (p.width, p.height)),
            Ok((4096, 100))
        );
        assert_eq!(check_upload(id, None, now), Err(UploadProblem::Missing));
        let lying = stored(ImageFormat::Jpeg, "image/png", 10, 10, 10);
        assert!(matches!(
            check_upload(id, Some(&lying), now),
            Err(UploadProblem::WrongType { .. })
        ));
        let big = stored(ImageFormat::Png, "image/png", MAX_UPLOAD_BYTES + 1, 10, 10);
        assert_eq!(
            check_upload(id, Some(&big), now),
            Err(UploadProblem::TooLarge)
        );
        let wide = stored(ImageFormat::Png, "image/png", 10, 4097, 10);
        assert!(matches!(
            check_upload(id, Some(&wide), now),
            Err(UploadProblem::TooWide { .. })
        ));
        let text = StoredFile {
            size: 10,
            content_type: Some("image/png".into()),
            probe: None,
        };
        assert_eq!(
            check_upload(id, Some(&text), now),
            Err(UploadProblem::NotAnImage)
        );
    }

    #[test]
    fn an_upload_expires_a_day_after_its_id_was_issued() {
        let id = UploadId::new();
        let now = OffsetDateTime::now_utc();
        let png = stored(ImageFormat::Png, "image/png", 10, 10, 10);
        assert!(check_upload(id, Some(&png), now + time::Duration::hours(23)).is_ok());
        assert_eq!(
            check_upload(id, Some(&png), now + time::Duration::hours(25)),
            Err(UploadProblem::Expired)
        );
    }

    #[test]
    fn input_references_are_parsed_and_counted_naming_each_field() {
        let image = ImageId::new().to_string();
        let upload = UploadId::new().to_string();
        let refs = InputRefs::parse(
            RawInputs {
                sources: Some(vec![
                    RawSource::Upload(upload.clone()),
                    RawSource::Image(image.clone()),
                ]),
                mask: Some(RawSource::Upload(upload.clone())),
                remix_of: Some(image.clone()),
            },
            16,
        )
        .expect("valid");
        assert_eq!(refs.sources.len(), 2);
        assert!(refs.mask.is_some() && refs.remix_of.is_some() && refs.is_edit());

        let seventeen = vec![RawSource::Image(image.clone()); 17];
        let err = InputRefs::parse(
            RawInputs {
                sources: Some(seventeen),
                ..RawInputs::default()
            },
            16,
        )
        .expect_err("too many");
        assert_eq!(err[0].field, "sources");

        let err = InputRefs::parse(
            RawInputs {
                sources: Some(vec![RawSource::Image("nope".into())]),
                mask: Some(RawSource::Image(image.clone())),
                remix_of: Some("x".into()),
            },
            16,
        )
        .expect_err("bad ids");
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sources[0].image", "mask", "remixOf"]);

        let err = InputRefs::parse(
            RawInputs {
                mask: Some(RawSource::Upload(upload)),
                ..RawInputs::default()
            },
            16,
        )
        .expect_err("a mask without sources");
        assert_eq!(err[0].field, "mask");
    }

    #[test]
    fn a_source_reference_survives_its_text() {
        for r in [
            SourceRef::Image(ImageId::new()),
            SourceRef::Upload(UploadId::new()),
        ] {
            assert_eq!(SourceRef::from_text(&r.to_text()), Some(r));
        }
        assert_eq!(SourceRef::from_text("file:01"), None);
    }
}
