//! Your data (DESIGN §11): closing an account and erasing what it holds, and the account
//! tasks done away from a request (the erasure's back-up run, ZIP archives).
//!
//! Erasure goes by where a user's data lives, not by a list of kinds: every item in the user's
//! partition but the records kept for audit, and every file under the user's prefixes
//! ([`user_prefixes`]). A kind added later is erased without a change here, as long as it
//! lives in the user's partition (or is an attribute or index key of an item there) and its
//! files under one of the prefixes.

use std::future::Future;

use time::OffsetDateTime;

use crate::{ImageId, StoreError, UserId, ids::ArchiveId, ports::QueueError};

/// The top-level folders of the bucket that hold a user's files, each as `<folder>/<userId>/`.
pub const USER_FOLDERS: [&str; 4] = ["images", "uploads", "previews", "archives"];

/// Every prefix under which the bucket holds `user`'s files: images
/// (`images/<userId>/<imageId>/...`), uploads, live previews and archives.
pub fn user_prefixes(user: UserId) -> Vec<String> {
    USER_FOLDERS
        .iter()
        .map(|folder| format!("{folder}/{user}/"))
        .collect()
}

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No such account (never opened, or its id is unknown).
    Unknown,
    Open,
    /// Closed at this time: signed out everywhere, its email free, its data being (or already)
    /// erased; only its wallet stays, for the ledger that is kept.
    Closed(OffsetDateTime),
}

/// Closing accounts and erasing their data.
pub trait Erasure: Send + Sync {
    /// Closes an open account in one atomic step: the profile loses its email, name and
    /// password hash and keeps only its wallet (the kept ledger's balance) and when it closed;
    /// every token of the user stops working; the email is free for a new account (its signup
    /// marker stays). Closing a closed account changes nothing; an unknown one is `NotFound`.
    fn close(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn standing(&self, user: UserId) -> impl Future<Output = Result<Standing, StoreError>> + Send;

    /// Deletes every job of the user, so that no job still running can finish into the
    /// account: its finish is refused. The number deleted.
    fn erase_jobs(&self, user: UserId) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Deletes every other item of the user's but the records kept for audit (the closed
    /// profile's wallet, ledger entries, their effect guards, purchases); each like given is
    /// taken back from its image's count. The number deleted.
    fn erase_rest(&self, user: UserId) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Removing whole folders of files.
pub trait FileTree: Send + Sync {
    /// Removes every file whose key begins with `prefix`; none is no error. The number removed.
    fn remove_under(&self, prefix: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// An account task done away from the request that asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountTask {
    /// Erase a closed account's data (again: the request did it first; this run catches what
    /// an interruption, or a job that was still running, left).
    Erase { user: UserId },
    /// Build the archive `id` of `owner`'s.
    Archive { owner: UserId, id: ArchiveId },
}

/// Where account tasks wait.
pub trait AccountTasks: Send + Sync {
    /// Sends `task`, to be delivered no sooner than `delay` from now (at most 15 minutes).
    fn send(
        &self,
        task: AccountTask,
        delay: std::time::Duration,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// An archive of own images, as its status is polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub id: ArchiveId,
    pub owner: UserId,
    /// The images, in the order asked for.
    pub images: Vec<ImageId>,
    pub variant: crate::Variant,
    pub status: ArchiveStatus,
    /// The ZIP's size, once ready.
    pub bytes: Option<u64>,
    pub created_at: OffsetDateTime,
}

impl Archive {
    /// `archives/<userId>/<archiveId>.zip`: expires with the bucket's lifecycle rule.
    pub fn object_key(&self) -> String {
        format!("archives/{}/{}.zip", self.owner, self.id)
    }
}

crate::sets::closed_set! {
    /// Where an archive is.
    pub enum ArchiveStatus: "status" {
        Pending => "pending",
        Ready => "ready",
        Failed => "failed",
    }
}

/// Archives' records.
pub trait Archives: Send + Sync {
    /// Records a pending archive (it expires after a day, as its file does).
    fn add_archive(&self, archive: &Archive)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    fn archive(
        &self,
        owner: UserId,
        id: ArchiveId,
    ) -> impl Future<Output = Result<Option<Archive>, StoreError>> + Send;

    /// Makes a pending archive ready (with its size) or failed; `false` when there is no
    /// pending archive of that id any more (finished, or erased with its account).
    fn finish_archive(
        &self,
        owner: UserId,
        id: ArchiveId,
        status: ArchiveStatus,
        bytes: Option<u64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_files_are_under_four_prefixes_each_ending_in_a_slash() {
        let user = UserId::new();
        let prefixes = user_prefixes(user);
        assert_eq!(prefixes.len(), 4);
        for prefix in &prefixes {
            assert!(prefix.ends_with(&format!("/{user}/")), "{prefix}");
        }
        let image = crate::image::object_key(
            user,
            ImageId::new(),
            crate::Preset::Square,
            crate::Variant::Original,
            crate::ImageFormat::Png,
        );
        assert!(prefixes.iter().any(|p| image.starts_with(p)), "{image}");
    }
}

/// One file of a ZIP: the stored file at `key`, named `name` inside the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub key: String,
    pub name: String,
}

/// Writing a ZIP of stored files into the bucket.
pub trait Zipper: Send + Sync {
    /// Streams the files of `entries` into one ZIP object at `key`, in memory bounded whatever
    /// their number: the ZIP's size in bytes. Nothing is left at `key` when it fails.
    fn zip(
        &self,
        key: &str,
        entries: &[ZipEntry],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Characters of the prompt in an archive's file name.
const NAME_CHARS: usize = 48;

/// An image's file name in an archive: the prompt made a file name (lower-case ASCII letters
/// and digits, other runs as one `-`, at most 48 characters), then the full image id, then the
/// variant's extension: `a-lighthouse-at-dawn-01jf...q.jpeg`.
pub fn archive_name(image: &crate::Image, variant: crate::Variant) -> String {
    let mut slug = String::new();
    for c in image.prompt.chars() {
        if slug.len() >= NAME_CHARS {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "image" } else { slug };
    let suffix = match variant {
        crate::Variant::Preset => "",
        crate::Variant::Original => "-original",
        crate::Variant::Thumbnail => "-thumbnail",
    };
    format!(
        "{slug}-{}{suffix}.{}",
        image.id.to_string().to_lowercase(),
        image.format(variant).ext()
    )
}

#[cfg(test)]
mod names {
    use super::*;
    use crate::{Preset, Variant};

    fn image(prompt: &str) -> crate::Image {
        crate::Image {
            id: ImageId::new(),
            owner: UserId::new(),
            job: crate::JobId::new(),
            prompt: prompt.into(),
            tier: crate::Tier::V2,
            style: crate::Style::Natural,
            preset: Preset::Square,
            quality: crate::Quality::Low,
            width: 1080,
            height: 1080,
            tags: crate::Tags::default(),
            visibility: crate::Visibility::Private,
            likes: 0,
            created_at: OffsetDateTime::UNIX_EPOCH,
            original_format: crate::ImageFormat::Png,
            variant_format: crate::ImageFormat::Jpeg,
            background: crate::Background::Auto,
            lineage: crate::edit::Lineage::default(),
        }
    }

    #[test]
    fn an_archived_file_is_named_from_the_prompt_and_holds_the_full_id() {
        let i = image("A Lighthouse, at dawn!  ../../etc/passwd");
        let id = i.id.to_string().to_lowercase();
        assert_eq!(
            archive_name(&i, Variant::Preset),
            format!("a-lighthouse-at-dawn-etc-passwd-{id}.jpeg")
        );
        assert_eq!(
            archive_name(&i, Variant::Original),
            format!("a-lighthouse-at-dawn-etc-passwd-{id}-original.png")
        );
        let odd = image("日本の海 / ☃");
        assert_eq!(
            archive_name(&odd, Variant::Thumbnail),
            format!("image-{}-thumbnail.jpeg", odd.id.to_string().to_lowercase())
        );
        let long = archive_name(&image(&"word ".repeat(40)), Variant::Preset);
        assert!(long.len() <= NAME_CHARS + 1 + 26 + 5, "{long}");
        assert!(!long.contains('/') && !long.contains(".."), "{long}");
    }
}
