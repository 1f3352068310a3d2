//! What a person does with images, decided over the image store and the files: see one (own,
//! or anybody's public one), like and unlike it, tag it, publish it or take it private, download
//! it, delete it. Another user's private image is not found, on every action; a public one can
//! be seen, liked and downloaded by anyone signed in, and changed or deleted by its owner only.

use artforge_domain::{
    Download, Image, ImageFiles, ImageId, Images, Likes, StoreError, Tags, UserId, Variant,
    Visibility,
};
use tracing::info;

/// Why an image action did nothing.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No such image, or not one the caller may see (or, to change it, own).
    #[error("no such image")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

/// What a like or an unlike left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikeCount {
    pub id: ImageId,
    pub likes: u64,
    pub liked_by_me: bool,
}

/// The gallery's use cases.
#[derive(Debug, Clone)]
pub struct Gallery<S, F> {
    pub store: S,
    pub files: F,
}

impl<S: Images + Likes, F: ImageFiles> Gallery<S, F> {
    /// The caller's own image, or anybody's public one.
    pub async fn visible(&self, viewer: UserId, id: ImageId) -> Result<Image, Refusal> {
        if let Some(image) = self.store.image(viewer, id).await? {
            return Ok(image);
        }
        self.store.public_image(id).await?.ok_or(Refusal::NotFound)
    }

    /// Likes an image the caller may see; liking again changes nothing.
    pub async fn like(&self, viewer: UserId, id: ImageId) -> Result<LikeCount, Refusal> {
        let image = self.visible(viewer, id).await?;
        let likes = self.store.like(viewer, &image).await?;
        Ok(LikeCount {
            id,
            likes,
            liked_by_me: true,
        })
    }

    /// Takes a like back; without one, changes nothing.
    pub async fn unlike(&self, viewer: UserId, id: ImageId) -> Result<LikeCount, Refusal> {
        let image = self.visible(viewer, id).await?;
        let likes = self.store.unlike(viewer, &image).await?;
        Ok(LikeCount {
            id,
            likes,
            liked_by_me: false,
        })
    }

    /// Replaces an own image's tags and/or makes it public or private.
    pub async fn update(
        &self,
        owner: UserId,
        id: ImageId,
        tags: Option<&Tags>,
        visibility: Option<Visibility>,
    ) -> Result<Image, Refusal> {
        let image = self.store.update(owner, id, tags, visibility).await?;
        info!(image_id = %id, "image updated");
        Ok(image)
    }

    /// A short-lived URL that answers one of a visible image's files as an attachment.
    pub async fn download(
        &self,
        viewer: UserId,
        id: ImageId,
        variant: Variant,
    ) -> Result<String, Refusal> {
        let image = self.visible(viewer, id).await?;
        let attachment = Download {
            file_name: image.download_name(variant),
            content_type: image.content_type(variant).to_owned(),
        };
        Ok(self
            .files
            .url(&image.object_key(variant), Some(&attachment))
            .await?)
    }

    /// Deletes an own image: hidden everywhere first, then its files, then its metadata, so
    /// an interruption leaves a hidden image that a retried delete finishes, never metadata
    /// pointing at missing files.
    pub async fn delete(&self, owner: UserId, id: ImageId) -> Result<(), Refusal> {
        let image = self
            .store
            .retire(owner, id)
            .await?
            .ok_or(Refusal::NotFound)?;
        let keys: Vec<String> = Variant::ALL.iter().map(|v| image.object_key(*v)).collect();
        self.files.remove(&keys).await?;
        self.store.forget(owner, id).await?;
        info!(image_id = %id, "image deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::{FileUploads, Preset};
    use artforge_fakes::{
        MemoryFiles, MemoryStore,
        contract::{account, image},
    };

    use super::*;

    struct Bench {
        store: MemoryStore,
        files: MemoryFiles,
        gallery: Gallery<MemoryStore, MemoryFiles>,
        owner: UserId,
        other: UserId,
    }

    impl Bench {
        async fn new() -> Self {
            let (store, files) = (MemoryStore::new(), MemoryFiles::new());
            let owner = account(&store, 0).await;
            let other = account(&store, 0).await;
            let gallery = Gallery {
                store: store.clone(),
                files: files.clone(),
            };
            Self {
                store,
                files,
                gallery,
                owner,
                other,
            }
        }

        /// An image of the owner's, with its three files stored.
        async fn image(&self) -> Image {
            let image = image(self.owner, Preset::Square, &["sea"]);
            self.store.add(&image).await.expect("added");
            for variant in Variant::ALL {
                self.files
                    .put(&image.object_key(*variant), vec![1], "image/png")
                    .await
                    .expect("stored");
            }
            image
        }
    }

    #[tokio::test]
    async fn another_users_private_image_is_not_found_on_every_action() {
        let bench = Bench::new().await;
        let private = bench.image().await;
        let (g, other, id) = (&bench.gallery, bench.other, private.id);
        assert!(matches!(g.visible(other, id).await, Err(Refusal::NotFound)));
        assert!(matches!(g.like(other, id).await, Err(Refusal::NotFound)));
        assert!(matches!(g.unlike(other, id).await, Err(Refusal::NotFound)));
        assert!(matches!(
            g.download(other, id, Variant::Original).await,
            Err(Refusal::NotFound)
        ));
        assert!(matches!(
            g.update(other, id, None, Some(Visibility::Public)).await,
            Err(Refusal::NotFound)
        ));
        assert!(matches!(g.delete(other, id).await, Err(Refusal::NotFound)));
        assert_eq!(bench.files.keys().len(), 3, "nothing removed");
    }

    #[tokio::test]
    async fn a_public_image_is_liked_by_anyone_once_and_changed_by_its_owner_only() {
        let bench = Bench::new().await;
        let image = bench.image().await;
        let g = &bench.gallery;
        g.update(bench.owner, image.id, None, Some(Visibility::Public))
            .await
            .expect("published");
        assert_eq!(g.like(bench.other, image.id).await.expect("liked").likes, 1);
        assert_eq!(g.like(bench.other, image.id).await.expect("again").likes, 1);
        assert_eq!(g.like(bench.owner, image.id).await.expect("liked").likes, 2);
        let unliked = g.unlike(bench.other, image.id).await.expect("unliked");
        assert_eq!((unliked.likes, unliked.liked_by_me), (1, false));
        let tags = Tags::parse(&["mine"]).expect("tags");
        assert!(matches!(
            g.update(bench.other, image.id, Some(&tags), None).await,
            Err(Refusal::NotFound)
        ));
        assert!(matches!(
            g.delete(bench.other, image.id).await,
            Err(Refusal::NotFound)
        ));
        let url = g
            .download(bench.other, image.id, Variant::Thumbnail)
            .await
            .expect("a URL");
        assert!(url.contains("thumbnail"), "{url}");
        assert!(url.contains("artforge-square-"), "{url}");
    }

    #[tokio::test]
    async fn a_delete_removes_the_files_and_the_metadata_and_a_second_is_not_found() {
        let bench = Bench::new().await;
        let image = bench.image().await;
        bench
            .gallery
            .delete(bench.owner, image.id)
            .await
            .expect("deleted");
        assert!(bench.files.keys().is_empty());
        assert_eq!(
            bench
                .store
                .image(bench.owner, image.id)
                .await
                .expect("read"),
            None
        );
        assert!(matches!(
            bench.gallery.delete(bench.owner, image.id).await,
            Err(Refusal::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_delete_interrupted_at_the_files_leaves_a_hidden_image_a_retry_finishes() {
        let bench = Bench::new().await;
        let image = bench.image().await;
        bench.files.faults.fail("remove", 1);
        let failed = bench.gallery.delete(bench.owner, image.id).await;
        assert!(matches!(failed, Err(Refusal::Store(_))), "{failed:?}");
        assert_eq!(
            bench
                .store
                .image(bench.owner, image.id)
                .await
                .expect("read"),
            None,
            "hidden already"
        );
        assert_eq!(bench.files.keys().len(), 3, "files still there");
        bench
            .gallery
            .delete(bench.owner, image.id)
            .await
            .expect("the retry finishes it");
        assert!(bench.files.keys().is_empty());
    }
}
