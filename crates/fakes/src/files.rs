//! The image files in memory: what was stored under which key, with its content type.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
};

use artforge_domain::{
    Download, FileReads, FileUploads, ImageFiles, Peeked, StoreError, UploadUrls,
    edit::{PresignedUpload, UploadMethod, UploadRequest},
};

use crate::Faults;

/// Stored files by key: bytes and content type.
type Objects = BTreeMap<String, (Vec<u8>, String)>;

#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    objects: Arc<Mutex<Objects>>,
    pub faults: Faults,
}

impl MemoryFiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// A stored file's bytes and content type.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, String)> {
        self.lock().get(key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ImageFiles for MemoryFiles {
    async fn url(&self, key: &str, download: Option<&Download>) -> Result<String, StoreError> {
        self.faults.store("url")?;
        Ok(match download {
            None => format!("memory://{key}"),
            Some(d) => format!("memory://{key}?download={}", d.file_name),
        })
    }

    async fn remove(&self, keys: &[String]) -> Result<(), StoreError> {
        self.faults.store("remove")?;
        let mut objects = self.lock();
        for key in keys {
            objects.remove(key);
        }
        Ok(())
    }
}

impl FileUploads for MemoryFiles {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.faults.store("put")?;
        self.lock()
            .insert(key.to_owned(), (bytes, content_type.to_owned()));
        Ok(())
    }
}

impl artforge_domain::FileTree for MemoryFiles {
    async fn remove_under(&self, prefix: &str) -> Result<usize, StoreError> {
        self.faults.store("remove_under")?;
        let mut objects = self.lock();
        let before = objects.len();
        objects.retain(|key, _| !key.starts_with(prefix));
        Ok(before - objects.len())
    }
}

/// A "ZIP" in memory: the entries' names, one a line, each with its file's size; a missing
/// file fails it, as a missing object fails the adapter.
impl artforge_domain::Zipper for MemoryFiles {
    async fn zip(
        &self,
        key: &str,
        entries: &[artforge_domain::ZipEntry],
    ) -> Result<u64, StoreError> {
        self.faults.store("zip")?;
        let mut objects = self.lock();
        let mut manifest = String::new();
        for entry in entries {
            let (bytes, _) = objects.get(&entry.key).ok_or(StoreError::NotFound)?;
            manifest.push_str(&format!("{} {}\n", entry.name, bytes.len()));
        }
        let size = manifest.len() as u64;
        objects.insert(
            key.to_owned(),
            (manifest.into_bytes(), "application/zip".to_owned()),
        );
        Ok(size)
    }
}

impl FileReads for MemoryFiles {
    async fn peek(&self, key: &str, limit: u64) -> Result<Option<Peeked>, StoreError> {
        self.faults.store("peek")?;
        Ok(self.lock().get(key).map(|(bytes, content_type)| {
            let keep = usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            Peeked {
                size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                content_type: Some(content_type.clone()),
                head: bytes[..keep].to_vec(),
            }
        }))
    }
}

impl UploadUrls for MemoryFiles {
    /// `memory://<key>?put`, with the headers a presigned PUT signs.
    async fn presign_upload(
        &self,
        key: &str,
        request: &UploadRequest,
        ttl: std::time::Duration,
    ) -> Result<PresignedUpload, StoreError> {
        self.faults.store("presign_upload")?;
        Ok(PresignedUpload {
            url: format!("memory://{key}?put"),
            method: UploadMethod::Put,
            headers: vec![
                (
                    "content-type".to_owned(),
                    request.format.content_type().to_owned(),
                ),
                ("content-length".to_owned(), request.size.to_string()),
            ],
            expires_at: time::OffsetDateTime::now_utc()
                + time::Duration::try_from(ttl).unwrap_or(time::Duration::ZERO),
        })
    }
}
