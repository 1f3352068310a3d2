//! Uploads (DESIGN §10): `POST /uploads` issues a presigned PUT for one file of the declared
//! type and exact length under `uploads/<userId>/<uploadId>`, for ten minutes. Nothing is
//! stored until the client sends the file; the upload is checked again when a job uses it
//! (`inputs`).

use artforge_domain::{
    FieldError, StoreError, UploadId, UploadUrls, UserId,
    edit::{UPLOAD_URL_TTL, Upload, UploadRequest, upload_key},
};
use tracing::info;

/// Why no upload was issued.
#[derive(Debug, thiserror::Error)]
pub enum UploadRefusal {
    #[error("the upload request is invalid")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issuing uploads, over the bucket's presigner.
#[derive(Debug, Clone)]
pub struct Uploads<F> {
    pub files: F,
}

impl<F: UploadUrls> Uploads<F> {
    /// A presigned upload for `owner` of a file of `content_type` and exactly `size` bytes.
    pub async fn issue(
        &self,
        owner: UserId,
        content_type: Option<&str>,
        size: Option<u64>,
    ) -> Result<Upload, UploadRefusal> {
        let request = UploadRequest::parse(content_type, size).map_err(UploadRefusal::Invalid)?;
        let id = UploadId::new();
        let presigned = self
            .files
            .presign_upload(&upload_key(owner, id), &request, UPLOAD_URL_TTL)
            .await?;
        info!(upload_id = %id, size = request.size, format = %request.format, "upload issued");
        Ok(Upload { id, presigned })
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::edit::{MAX_UPLOAD_BYTES, UploadMethod};
    use artforge_fakes::MemoryFiles;

    use super::*;

    #[tokio::test]
    async fn an_upload_is_a_put_under_the_users_own_prefix_for_ten_minutes() {
        let owner = UserId::new();
        let uploads = Uploads {
            files: MemoryFiles::new(),
        };
        let before = time::OffsetDateTime::now_utc();
        let upload = uploads
            .issue(owner, Some("image/png"), Some(1234))
            .await
            .expect("issued");
        assert_eq!(upload.presigned.method, UploadMethod::Put);
        assert_eq!(
            upload.presigned.url,
            format!("memory://uploads/{owner}/{}?put", upload.id)
        );
        let lives = upload.presigned.expires_at - before;
        assert!(
            (time::Duration::minutes(10)..time::Duration::minutes(11)).contains(&lives),
            "{lives}"
        );
        assert!(
            upload
                .presigned
                .headers
                .contains(&("content-length".into(), "1234".into()))
        );
    }

    #[tokio::test]
    async fn an_upload_of_another_type_or_over_twenty_mebibytes_is_refused_naming_the_field() {
        let uploads = Uploads {
            files: MemoryFiles::new(),
        };
        let refused = uploads
            .issue(UserId::new(), Some("image/gif"), Some(MAX_UPLOAD_BYTES + 1))
            .await;
        let Err(UploadRefusal::Invalid(errors)) = refused else {
            panic!("refused as invalid: {refused:?}");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["contentType", "size"]);
    }
}
