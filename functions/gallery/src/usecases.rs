//! What a person does with images, decided over the image store and the files: see one (own,
//! or anybody's public one), like and unlike it, tag it, publish it or take it private, download
//! it, delete it. Another user's private image is not found, on every action; a public one can
//! be seen, liked and downloaded by anyone signed in, and changed or deleted by its owner only.

use artforge_domain::{
    Download, Image, ImageFiles, ImageFilter, ImageId, Images, Likes, Page, PageRequest, Search,
    StoreError, Tags, UserId, Variant, Visibility,
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

    /// The owner's images, or with `liked` the images they like (newest like first), that
    /// pass `filter` (its search included), newest first; a page is full unless they run out.
    pub async fn history(
        &self,
        owner: UserId,
        filter: &ImageFilter,
        liked: bool,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        if liked {
            self.store.liked(owner, filter, page).await
        } else {
            self.store.images(owner, filter, page).await
        }
    }

    /// Everyone's public images, newest first; with `search`, those whose prompt and tags
    /// match it.
    pub async fn feed(
        &self,
        search: Option<&Search>,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        match search {
            Some(search) => self.store.search_feed(search, page).await,
            None => self.store.feed(page).await,
        }
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

    /// Adds an image of `owner`'s with this prompt and tags, `public` or not.
    async fn prompted(
        store: &MemoryStore,
        owner: UserId,
        prompt: &str,
        tags: &[&str],
        public: bool,
    ) -> ImageId {
        let mut made = image(owner, Preset::Square, tags);
        made.prompt = prompt.into();
        if public {
            made.visibility = Visibility::Public;
        }
        store.add(&made).await.expect("added");
        made.id
    }

    fn searching(q: &str) -> ImageFilter {
        ImageFilter {
            search: Some(Search::parse(q, "q").expect("a query")),
            ..ImageFilter::default()
        }
    }

    fn first(limit: u16) -> PageRequest {
        PageRequest { limit, after: None }
    }

    fn ids(page: &Page<Image>) -> Vec<ImageId> {
        page.items.iter().map(|i| i.id).collect()
    }

    /// Newest first: descending ids (ids made in one millisecond are in no order).
    fn newest(ids: &[ImageId]) -> Vec<ImageId> {
        let mut ids = ids.to_vec();
        ids.sort_by(|a, b| b.cmp(a));
        ids
    }

    #[tokio::test]
    async fn a_search_ignores_case_and_accents_and_takes_only_the_last_word_as_a_prefix() {
        let bench = Bench::new().await;
        let (store, owner) = (&bench.store, bench.owner);
        let cafe = prompted(store, owner, "Le CAFÉ de Flore at night", &[], false).await;
        let night = prompted(store, owner, "Nightfall over a cafe", &["Ångström"], false).await;
        let gallery = &bench.gallery;
        let history = |q: &'static str| async move {
            ids(&gallery
                .history(owner, &searching(q), false, first(10))
                .await
                .expect("a page"))
        };
        assert_eq!(history("café").await, newest(&[night, cafe]));
        assert_eq!(history("CAFE flore").await, [cafe]);
        assert_eq!(
            history("cafe nigh").await,
            newest(&[night, cafe]),
            "the last word begins one"
        );
        assert_eq!(
            history("nigh cafe").await,
            Vec::<ImageId>::new(),
            "only the last"
        );
        assert_eq!(history("angstrom").await, [night], "tags, folded too");
        assert_eq!(history("ÅNGST").await, [night]);
    }

    #[tokio::test]
    async fn every_word_of_a_search_must_match() {
        let bench = Bench::new().await;
        let (store, owner) = (&bench.store, bench.owner);
        let both = prompted(store, owner, "a red boat", &["harbour"], false).await;
        prompted(store, owner, "a red car", &[], false).await;
        prompted(store, owner, "a blue boat", &["harbour"], false).await;
        let found = bench
            .gallery
            .history(owner, &searching("harbour red bo"), false, first(10))
            .await
            .expect("a page");
        assert_eq!(ids(&found), [both]);
    }

    #[tokio::test]
    async fn search_pages_are_full_and_their_cursors_go_on_where_the_last_stopped() {
        let bench = Bench::new().await;
        let (store, owner) = (&bench.store, bench.owner);
        let mut matching = Vec::new();
        for i in 0..20 {
            let id = if i % 3 == 0 {
                prompted(store, owner, &format!("lighthouse {i}"), &[], true).await
            } else {
                prompted(store, owner, &format!("meadow {i}"), &[], true).await
            };
            if i % 3 == 0 {
                matching.push(id);
            }
        }
        let matching = newest(&matching);
        let query = Search::parse("LIGHT", "q").expect("a query");
        for feed in [false, true] {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = PageRequest { limit: 3, after };
                let found = if feed {
                    bench.gallery.feed(Some(&query), page).await
                } else {
                    bench
                        .gallery
                        .history(owner, &searching("LIGHT"), false, page)
                        .await
                }
                .expect("a page");
                if found.next.is_some() {
                    assert_eq!(found.items.len(), 3, "a page is full while more match");
                }
                seen.extend(ids(&found));
                match found.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert_eq!(
                seen, matching,
                "every match once, newest first (feed: {feed})"
            );
        }
    }

    #[tokio::test]
    async fn the_feed_search_shows_public_images_of_everyone_only() {
        let bench = Bench::new().await;
        let (store, g) = (&bench.store, &bench.gallery);
        let mine = prompted(store, bench.owner, "storm at sea", &[], true).await;
        let theirs = prompted(store, bench.other, "Storm clouds", &[], true).await;
        let private = prompted(store, bench.other, "storm inside", &[], false).await;
        let query = Search::parse("storm", "q").expect("a query");
        let found = g.feed(Some(&query), first(10)).await.expect("a page");
        assert_eq!(ids(&found), newest(&[theirs, mine]));
        g.update(bench.other, private, None, Some(Visibility::Public))
            .await
            .expect("published");
        g.update(bench.owner, mine, None, Some(Visibility::Private))
            .await
            .expect("unpublished");
        let found = g.feed(Some(&query), first(10)).await.expect("a page");
        assert_eq!(ids(&found), newest(&[private, theirs]));
        let everything = g.feed(None, first(10)).await.expect("a page");
        assert_eq!(everything.items.len(), 2, "no search: the whole feed");
    }

    #[tokio::test]
    async fn liked_images_are_searched_with_the_other_filters() {
        let bench = Bench::new().await;
        let (store, g) = (&bench.store, &bench.gallery);
        let sea = prompted(store, bench.other, "a calm sea", &[], true).await;
        let hill = prompted(store, bench.other, "a green hill", &[], true).await;
        for id in [sea, hill] {
            g.like(bench.owner, id).await.expect("liked");
        }
        let found = g
            .history(bench.owner, &searching("calm"), true, first(10))
            .await
            .expect("a page");
        assert_eq!(ids(&found), [sea]);
        let filter = ImageFilter {
            tier: Some(artforge_domain::Tier::V3),
            ..searching("calm")
        };
        let found = g
            .history(bench.owner, &filter, true, first(10))
            .await
            .expect("a page");
        assert!(found.items.is_empty(), "and the other filters still apply");
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
