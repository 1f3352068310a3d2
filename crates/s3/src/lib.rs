//! The private image bucket. Nothing is public: clients get short-lived presigned GET URLs,
//! downloads carry `Content-Disposition: attachment` with a readable file name.

use std::{sync::Arc, time::Duration};

#[cfg(feature = "zip")]
mod zipping;
#[cfg(feature = "zip")]
pub use zipping::PART as ZIP_PART;

use artforge_domain::{
    StoreError,
    edit::{PresignedUpload, UploadMethod, UploadRequest},
    ports::{Download, FileReads, ImageFiles, Peeked, UploadUrls},
};
use artforge_runtime::{ConfigError, Env};
use aws_sdk_s3::{
    Client,
    presigning::PresigningConfig,
    primitives::ByteStream,
    types::{Delete, ObjectIdentifier},
};

#[derive(Clone, Debug)]
pub struct S3Files {
    client: Client,
    bucket: Arc<str>,
    url_ttl: Duration,
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(err: E) -> StoreError {
    StoreError::Unavailable(Box::new(err))
}

/// An S3 client from the shared AWS configuration; path-style addressing for stand-ins on
/// loopback (`S3_FORCE_PATH_STYLE`).
pub fn client<'a, C>(shared: &'a C, force_path_style: bool) -> Client
where
    aws_sdk_s3::config::Builder: From<&'a C>,
{
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(shared)
            .force_path_style(force_path_style)
            .build(),
    )
}

/// Where the image files are and how they are served, the same for every function:
/// `BUCKET_NAME`, `S3_FORCE_PATH_STYLE` (stand-ins on loopback) and `PRESIGN_TTL_SECONDS`
/// (how long a presigned URL lives, default 300).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketConfig {
    pub bucket_name: String,
    pub force_path_style: bool,
    pub presign_ttl: Duration,
}

impl BucketConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            bucket_name: env.required("BUCKET_NAME")?,
            force_path_style: env.parsed_or("S3_FORCE_PATH_STYLE", false)?,
            presign_ttl: Duration::from_secs(env.parsed_or("PRESIGN_TTL_SECONDS", 300)?),
        })
    }

    /// The bucket's files, through a client of its own.
    pub fn files<'a, C>(&self, shared: &'a C) -> S3Files
    where
        aws_sdk_s3::config::Builder: From<&'a C>,
    {
        self.files_with(client(shared, self.force_path_style))
    }

    /// The bucket's files through `client` (one client shared by several functions' files).
    pub fn files_with(&self, client: Client) -> S3Files {
        S3Files::new(client, self.bucket_name.clone(), self.presign_ttl)
    }
}

impl S3Files {
    pub fn new(client: Client, bucket: impl Into<Arc<str>>, url_ttl: Duration) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            url_ttl,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Stores one file (the worker's uploads; tests).
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(self.bucket.as_ref())
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// `attachment; filename="..."`, with the name reduced to safe ASCII.
fn attachment(file_name: &str) -> String {
    let safe: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

impl ImageFiles for S3Files {
    async fn url(&self, key: &str, download: Option<&Download>) -> Result<String, StoreError> {
        let config = PresigningConfig::expires_in(self.url_ttl).map_err(unavailable)?;
        let mut request = self
            .client
            .get_object()
            .bucket(self.bucket.as_ref())
            .key(key);
        if let Some(download) = download {
            request = request
                .response_content_disposition(attachment(&download.file_name))
                .response_content_type(&download.content_type);
        }
        let presigned = request.presigned(config).await.map_err(unavailable)?;
        Ok(presigned.uri().to_owned())
    }

    async fn remove(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(unavailable)?;
        let out = self
            .client
            .delete_objects()
            .bucket(self.bucket.as_ref())
            .delete(delete)
            .send()
            .await
            .map_err(unavailable)?;
        // Deleting an absent key succeeds; any reported error is a real failure.
        if let Some(error) = out.errors().first() {
            return Err(StoreError::Unavailable(
                format!(
                    "deleting {} failed: {}",
                    error.key().unwrap_or("?"),
                    error.code().unwrap_or("?")
                )
                .into(),
            ));
        }
        Ok(())
    }
}

/// Keys per `DeleteObjects` request (S3's limit).
const DELETE_BATCH: usize = 1000;

impl artforge_domain::FileTree for S3Files {
    async fn remove_under(&self, prefix: &str) -> Result<usize, StoreError> {
        // Each page is deleted as it is listed: a listing never sees keys it already deleted.
        let mut removed = 0;
        let mut token = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(self.bucket.as_ref())
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(unavailable)?;
            let keys: Vec<String> = out
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            for chunk in keys.chunks(DELETE_BATCH) {
                self.remove(chunk).await?;
                removed += chunk.len();
            }
            match out.next_continuation_token() {
                Some(next) if out.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(removed),
            }
        }
    }
}

impl artforge_domain::ports::FileUploads for S3Files {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        S3Files::put(self, key, bytes, content_type).await
    }
}

impl FileReads for S3Files {
    async fn peek(&self, key: &str, limit: u64) -> Result<Option<Peeked>, StoreError> {
        let head = self
            .client
            .head_object()
            .bucket(self.bucket.as_ref())
            .key(key)
            .send()
            .await;
        let head = match head {
            Ok(head) => head,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let size = head
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let content_type = head.content_type().map(str::to_owned);
        let wanted = size.min(limit);
        if wanted == 0 {
            return Ok(Some(Peeked {
                size,
                content_type,
                head: Vec::new(),
            }));
        }
        let object = self
            .client
            .get_object()
            .bucket(self.bucket.as_ref())
            .key(key)
            .range(format!("bytes=0-{}", wanted - 1))
            .send()
            .await;
        let object = match object {
            Ok(object) => object,
            // Removed between the two calls.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let bytes = object.body.collect().await.map_err(unavailable)?.to_vec();
        // A server that ignores the range sends it all: keep only what was asked.
        let keep = usize::try_from(wanted)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let mut bytes = bytes;
        bytes.truncate(keep);
        Ok(Some(Peeked {
            size,
            content_type,
            head: bytes,
        }))
    }
}

impl UploadUrls for S3Files {
    /// A presigned `PUT` whose signature covers `Content-Type` and `Content-Length`: S3
    /// refuses a body of another length or a request with another type
    /// (docs/decisions/0120).
    async fn presign_upload(
        &self,
        key: &str,
        request: &UploadRequest,
        ttl: Duration,
    ) -> Result<PresignedUpload, StoreError> {
        let config = PresigningConfig::expires_in(ttl).map_err(unavailable)?;
        let length = i64::try_from(request.size).map_err(unavailable)?;
        let presigned = self
            .client
            .put_object()
            .bucket(self.bucket.as_ref())
            .key(key)
            .content_type(request.format.content_type())
            .content_length(length)
            .presigned(config)
            .await
            .map_err(unavailable)?;
        let headers = presigned
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let expires_at =
            time::OffsetDateTime::now_utc() + time::Duration::try_from(ttl).map_err(unavailable)?;
        Ok(PresignedUpload {
            url: presigned.uri().to_owned(),
            method: UploadMethod::Put,
            headers,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_files() -> S3Files {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .build();
        S3Files::new(Client::from_conf(config), "bucket", Duration::from_secs(60))
    }

    #[tokio::test]
    async fn a_presigned_upload_signs_the_declared_type_and_exact_length() {
        let request = UploadRequest {
            format: artforge_domain::ImageFormat::Webp,
            size: 1234,
        };
        let upload = offline_files()
            .presign_upload("uploads/u/1", &request, Duration::from_secs(600))
            .await
            .expect("presigned");
        assert_eq!(upload.method, UploadMethod::Put);
        let signed = upload
            .url
            .split('&')
            .find_map(|p| p.strip_prefix("X-Amz-SignedHeaders="))
            .expect("signed headers");
        assert_eq!(
            signed, "content-length%3Bcontent-type%3Bhost",
            "{}",
            upload.url
        );
        assert!(upload.url.contains("X-Amz-Expires=600"), "{}", upload.url);
        let mut headers: Vec<(&str, &str)> = upload
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        headers.sort_unstable();
        assert_eq!(
            headers,
            [("content-length", "1234"), ("content-type", "image/webp")],
            "no checksum header: a browser could not compute it before sending"
        );
    }

    #[test]
    fn an_attachment_name_cannot_break_out_of_its_header() {
        assert_eq!(
            attachment("artforge-square-01j.jpeg"),
            "attachment; filename=\"artforge-square-01j.jpeg\""
        );
        assert_eq!(
            attachment("a\"; evil=1\r\n.png"),
            "attachment; filename=\"a___evil_1__.png\""
        );
    }
}
