//! The feed's search index (docs/decisions/0140-search-index.md). A public image is filed under
//! each stem of its words ([`search::stems`]): one entry per stem, `USER#<owner> /
//! POSTING#<imageId>#<stem>`, in `gsi1` under `TERM#<stem>` by image id, carrying the image's
//! words so a query filters on them. Entries live in the owner's partition, so whatever
//! removes a user's partition removes them, and only public images have them, so `gsi1` stays
//! an index of public things.
//!
//! The image item is the truth; entries are derived from it. They are written before an image
//! becomes (or stays) public and removed after it stops being, so an interruption leaves extra
//! entries (which reads confirm on the image and skip, and the image's next change removes),
//! never a public image missing from the index.

use std::{
    collections::{BTreeSet, HashMap},
    sync::atomic::{AtomicUsize, Ordering},
};

use artforge_domain::{
    Image, ImageId, Page, PageRequest, Search, StoreError, UserId, Visibility, search,
};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use crate::{
    DynamoStore,
    attrs::{self, Item, get_s},
    batch::Insist,
    error::malformed,
    image_item::corrupt,
    keys,
    rounds::{Filter, Round, fill_page},
    schema,
};

/// The stems `image` is filed under: those of its words while it is public, none otherwise.
pub(crate) fn filed_under(image: &Image) -> BTreeSet<String> {
    if image.visibility == Visibility::Public {
        search::stems(&image.prompt, &image.tags)
    } else {
        BTreeSet::new()
    }
}

/// The query's words as a filter on a `words` attribute: every needle a substring.
pub(crate) fn words_filter(search: &Search, parts: &mut Vec<String>, values: &mut Filter) {
    for (i, needle) in search.needles().into_iter().enumerate() {
        let name = format!(":q{i}");
        parts.push(format!("contains(words, {name})"));
        values.1.insert(name, attrs::s(needle));
    }
}

fn posting_item(image: &Image, stem: &str, words: &str) -> Item {
    let mut item = attrs::key(keys::user(image.owner), keys::posting(image.id, stem));
    item.insert("gsi1pk".into(), attrs::s(keys::term(stem)));
    item.insert("gsi1sk".into(), attrs::s(keys::image(image.id)));
    item.insert("words".into(), attrs::s(words));
    item
}

impl DynamoStore {
    /// Files `image` under `stems`, replacing entries there with its current words.
    pub(crate) async fn file(
        &self,
        image: &Image,
        stems: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let words = search::indexed_words(&image.prompt, &image.tags);
        let mut writes = Vec::with_capacity(stems.len());
        for stem in stems {
            let put = PutRequest::builder()
                .set_item(Some(posting_item(image, stem, &words)))
                .build()
                .map_err(malformed)?;
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(writes, Insist::BRIEFLY).await
    }

    /// Removes the image's entries under any stem but `keep`.
    pub(crate) async fn unfile(
        &self,
        owner: UserId,
        id: ImageId,
        keep: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let prefix = keys::postings_of(id);
        let entries = self
            .all_of(owner, &prefix, |query| query.projection_expression("sk"))
            .await?;
        let mut stale = Vec::new();
        for entry in entries {
            let sk = get_s(&entry, keys::SK)?;
            if keep.contains(sk.trim_start_matches(prefix.as_str())) {
                continue;
            }
            stale.push(attrs::key(keys::user(owner), sk));
        }
        self.delete_all(stale, Insist::BRIEFLY).await.map(drop)
    }

    /// A page of public images matching `search`, newest first, read from the index partition
    /// of the query's stem; each entry is confirmed on its image (live, public, matching), so
    /// an entry an interrupted write left behind is skipped.
    pub(crate) async fn search_index(
        &self,
        search: &Search,
        stem: &str,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        let after = page
            .after
            .map(|position| {
                let (owner, id) = feed_position(&position)?;
                let mut key = attrs::key(keys::user(owner), keys::posting(id, stem));
                key.insert("gsi1pk".into(), attrs::s(keys::term(stem)));
                key.insert("gsi1sk".into(), attrs::s(keys::image(id)));
                Ok::<_, StoreError>(key)
            })
            .transpose()?;
        let term = HashMap::from([(":term".to_owned(), attrs::s(keys::term(stem)))]);
        // Matches still wanted: entries past them are left for the next round unread, since
        // nearly every entry the filter passes is confirmed and each confirmation is a read.
        let wanted = AtomicUsize::new(usize::from(page.limit) + 1);
        let (items, next) = fill_page(page.limit, after, |start, size| {
            let (term, wanted) = (term.clone(), &wanted);
            async move {
                let mut parts = Vec::new();
                let mut filter: Filter = (None, HashMap::new());
                words_filter(search, &mut parts, &mut filter);
                filter.0 = Some(parts.join(" AND "));
                let Round {
                    items: mut entries,
                    mut last,
                    scanned,
                } = self
                    .query_round(
                        Some(schema::GSI1),
                        "gsi1pk = :term",
                        term,
                        filter,
                        start,
                        size,
                    )
                    .await?;
                let still = wanted.load(Ordering::Relaxed);
                if entries.len() > still {
                    entries.truncate(still);
                    last = entries.last().map(index_key);
                }
                let mut refs = Vec::with_capacity(entries.len());
                for entry in &entries {
                    let owner = attrs::owner(entry).ok_or_else(|| corrupt("posting owner"))?;
                    let id: ImageId = get_s(entry, "gsi1sk")?
                        .strip_prefix(keys::IMAGE_PREFIX)
                        .and_then(|id| id.parse().ok())
                        .ok_or_else(|| corrupt("posting image"))?;
                    refs.push((owner, id));
                }
                // One batch read per round, to confirm the entries on their images.
                let items = self.live_items(refs.iter().copied()).await?;
                let confirmed = refs
                    .iter()
                    .filter_map(|(_, id)| items.get(id))
                    .filter(|(image, _)| {
                        image.visibility == Visibility::Public && search.matches(image)
                    })
                    .map(|(_, item)| item.clone())
                    .collect::<Vec<_>>();
                wanted.store(still.saturating_sub(confirmed.len()), Ordering::Relaxed);
                Ok(Round {
                    items: confirmed,
                    last,
                    scanned,
                })
            }
        })
        .await?;
        let images = items
            .iter()
            .map(crate::image_item::image_from_item)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items: images,
            next: next.as_ref().map(position_of).transpose()?,
        })
    }

    /// Live images by key, with their items.
    async fn live_items(
        &self,
        wanted: impl Iterator<Item = (UserId, ImageId)>,
    ) -> Result<HashMap<ImageId, (Image, Item)>, StoreError> {
        let wanted = wanted
            .map(|(owner, id)| attrs::key(keys::user(owner), keys::image(id)))
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get(wanted, None, false).await? {
            if crate::image_item::live(&item) {
                let image = crate::image_item::image_from_item(&item)?;
                found.insert(image.id, (image, item));
            }
        }
        Ok(found)
    }
}

/// An index entry's key in `gsi1`: the table's key and the index's.
fn index_key(entry: &Item) -> Item {
    entry
        .iter()
        .filter(|(name, _)| matches!(name.as_str(), "pk" | "sk" | "gsi1pk" | "gsi1sk"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// A feed position, `<owner>/IMAGE#<id>`: the owner and the image.
pub(crate) fn feed_position(position: &str) -> Result<(UserId, ImageId), StoreError> {
    let (owner, image) = position.split_once('/').ok_or(StoreError::BadPosition)?;
    let id = image
        .strip_prefix(keys::IMAGE_PREFIX)
        .and_then(|id| id.parse().ok())
        .ok_or(StoreError::BadPosition)?;
    Ok((owner.parse().map_err(|_| StoreError::BadPosition)?, id))
}

/// The feed position of an image item, a feed index key or an index entry's key.
pub(crate) fn position_of(item: &Item) -> Result<String, StoreError> {
    let owner = get_s(item, keys::PK)?.trim_start_matches("USER#");
    let image = match item.get("gsi1sk") {
        Some(sk) => sk.as_s().map_err(|_| corrupt("gsi1sk"))?,
        None => get_s(item, keys::SK)?,
    };
    Ok(format!("{owner}/{image}"))
}
