//! What a job makes its images from beyond the prompt (DESIGN §10), checked before anything is
//! charged: each source is an own or a public image (another user's private image, or none, is
//! 404 naming the field) or an own upload that is usable (422 `upload_invalid`: missing,
//! expired, over 20 MiB, not an image of its declared type by content, over 4096 px a side);
//! the mask is an own PNG upload of the first source's pixel size (422 `mask_mismatch`); the
//! remixed image is an own or public image (404 otherwise).

use artforge_domain::{
    FieldError, FileReads, Image, ImageId, Images, StoreError, UserId, Variant,
    edit::{
        Edit, InputRefs, JobInputs, MAX_UPLOAD_BYTES, Probe, SourceFile, SourceRef, StoredFile,
        check_upload, upload_key,
    },
};
use artforge_imaging::{PROBE_BYTES, probe};
use time::OffsetDateTime;

/// Why a job's inputs cannot be used. Nothing is charged.
#[derive(Debug, thiserror::Error)]
pub enum InputRefusal {
    /// No such image that the caller may see (404, naming the field).
    #[error("{0}: no such image")]
    NotFound(String),
    /// An upload that cannot be used (422 `upload_invalid`).
    #[error("{0}")]
    UploadInvalid(FieldError),
    /// The mask is not the first source's pixel size (422 `mask_mismatch`).
    #[error("{0}")]
    MaskMismatch(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An image `viewer` may use: their own, or anybody's public one.
async fn visible_image<I: Images>(
    images: &I,
    viewer: UserId,
    id: ImageId,
) -> Result<Option<Image>, StoreError> {
    if let Some(own) = images.image(viewer, id).await? {
        return Ok(Some(own));
    }
    Ok(images
        .public_image(id)
        .await?
        .filter(|image| image.is_visible_to(Some(viewer))))
}

/// A stored file as a check reads it: its first bytes (the whole file when the header lies
/// past them) probed for format and size.
async fn inspect<F: FileReads>(files: &F, key: &str) -> Result<Option<StoredFile>, StoreError> {
    let Some(peeked) = files.peek(key, PROBE_BYTES).await? else {
        return Ok(None);
    };
    let mut probed = probe(&peeked.head);
    if probed.is_none() && !peeked.is_whole() && peeked.size <= MAX_UPLOAD_BYTES {
        if let Some(whole) = files.peek(key, MAX_UPLOAD_BYTES).await? {
            probed = probe(&whole.head);
        }
    }
    Ok(Some(StoredFile {
        size: peeked.size,
        content_type: peeked.content_type,
        probe: probed,
    }))
}

/// The caller's upload `id`, checked; its file and pixel size.
async fn usable_upload<F: FileReads>(
    files: &F,
    owner: UserId,
    id: artforge_domain::UploadId,
    field: &str,
    now: OffsetDateTime,
) -> Result<(SourceFile, Probe), InputRefusal> {
    let key = upload_key(owner, id);
    let stored = inspect(files, &key).await?;
    let probe = check_upload(id, stored.as_ref(), now).map_err(|problem| {
        InputRefusal::UploadInvalid(FieldError::new(field, problem.to_string()))
    })?;
    Ok((
        SourceFile {
            key,
            format: probe.format,
        },
        probe,
    ))
}

/// Resolves checked references into what the job carries: the files to send (an image's
/// original, an upload) and the remixed image. `refs.sources` are at most the tier's limit
/// (checked when parsed).
pub async fn resolve<I: Images, F: FileReads>(
    images: &I,
    files: &F,
    owner: UserId,
    refs: &InputRefs,
    now: OffsetDateTime,
) -> Result<JobInputs, InputRefusal> {
    let remix_of = match refs.remix_of {
        None => None,
        Some(id) => match visible_image(images, owner, id).await? {
            Some(image) => Some(image.id),
            None => return Err(InputRefusal::NotFound("remixOf".into())),
        },
    };
    let Some(&first) = refs.sources.first() else {
        return Ok(JobInputs {
            edit: None,
            remix_of,
        });
    };
    let mut sources = Vec::with_capacity(refs.sources.len());
    // The first source's pixel size, known when a mask must be compared with it.
    let mut first_size = None;
    for (i, reference) in refs.sources.iter().enumerate() {
        match *reference {
            SourceRef::Image(id) => {
                let field = format!("sources[{i}].image");
                let image = visible_image(images, owner, id)
                    .await?
                    .ok_or(InputRefusal::NotFound(field))?;
                let file = SourceFile {
                    key: image.object_key(Variant::Original),
                    format: image.format(Variant::Original),
                };
                if i == 0 && refs.mask.is_some() {
                    // The provider's original, as the image pipeline stored it.
                    first_size = inspect(files, &file.key)
                        .await?
                        .and_then(|stored| stored.probe)
                        .map(|p| (p.width, p.height));
                }
                sources.push(file);
            }
            SourceRef::Upload(id) => {
                let field = format!("sources[{i}].upload");
                let (file, probe) = usable_upload(files, owner, id, &field, now).await?;
                if i == 0 {
                    first_size = Some((probe.width, probe.height));
                }
                sources.push(file);
            }
        }
    }
    let mask = match refs.mask {
        None => None,
        Some(id) => {
            let (file, probe) = usable_upload(files, owner, id, "mask.upload", now).await?;
            if probe.format != artforge_domain::ImageFormat::Png {
                return Err(InputRefusal::UploadInvalid(FieldError::new(
                    "mask.upload",
                    "a mask is a PNG whose transparent pixels mark where to edit",
                )));
            }
            let size = (probe.width, probe.height);
            match first_size {
                Some(first) if first == size => {}
                Some((w, h)) => {
                    return Err(InputRefusal::MaskMismatch(FieldError::new(
                        "mask",
                        format!(
                            "the mask is {}x{}; it must be the first source's size, {w}x{h}",
                            size.0, size.1
                        ),
                    )));
                }
                None => {
                    return Err(InputRefusal::MaskMismatch(FieldError::new(
                        "mask",
                        "the first source's size could not be read to compare the mask with",
                    )));
                }
            }
            Some(file)
        }
    };
    Ok(JobInputs {
        edit: Some(Edit {
            sources,
            mask,
            first,
            refs: refs.sources.clone(),
        }),
        remix_of,
    })
}
