//! Image metadata: a user's history (filtered server-side, pages full), one image, the public
//! feed and share look-ups through `gsi1`, tags and visibility, and the two steps of a delete
//! (retire: hidden everywhere; forget: gone).

use std::collections::{BTreeSet, HashMap};

use artforge_domain::{
    Image, ImageFilter, ImageId, Page, PageRequest, Search, StoreError, Tag, Tags, UserId,
    Visibility, ports::Images,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_s},
    error::{Conditional, unavailable},
    image_item::{corrupt, image_from_item, image_item, live, tags_value},
    keys,
    rounds::{Filter, fill_page},
    schema, search,
};

/// The filter as a DynamoDB filter expression, applied server-side; retired images never pass.
pub(crate) fn filter_expression(filter: &ImageFilter) -> Filter {
    let mut parts = vec!["attribute_not_exists(retiredAt)".to_owned()];
    let mut values = HashMap::new();
    if let Some(tier) = filter.tier {
        parts.push("tier = :tier".into());
        values.insert(":tier".into(), attrs::s(tier.as_str()));
    }
    if let Some(preset) = filter.preset {
        parts.push("preset = :preset".into());
        values.insert(":preset".into(), attrs::s(preset.as_str()));
    }
    if let Some(tag) = &filter.tag {
        parts.push("contains(tags, :tag)".into());
        values.insert(":tag".into(), attrs::s(tag.as_str()));
    }
    let mut filter_values: Filter = (None, values);
    if let Some(search) = &filter.search {
        search::words_filter(search, &mut parts, &mut filter_values);
    }
    (Some(parts.join(" AND ")), filter_values.1)
}

impl DynamoStore {
    /// A live image's item.
    pub(crate) async fn image_item(
        &self,
        owner: UserId,
        id: ImageId,
    ) -> Result<Option<Item>, StoreError> {
        Ok(self
            .item(keys::user(owner), keys::image(id))
            .await?
            .filter(live))
    }

    /// Live images by key, in one `BatchGetItem` per hundred keys.
    pub(crate) async fn images_by_key(
        &self,
        wanted: impl Iterator<Item = (UserId, ImageId)>,
    ) -> Result<HashMap<ImageId, Image>, StoreError> {
        let wanted = wanted
            .map(|(owner, id)| attrs::key(keys::user(owner), keys::image(id)))
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get(wanted, None, false).await? {
            if live(&item) {
                let image = image_from_item(&item)?;
                found.insert(image.id, image);
            }
        }
        Ok(found)
    }

    /// A page of the public feed, filtered.
    async fn feed_page(
        &self,
        filter: &ImageFilter,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        let (items, next) = self
            .image_page(
                Some(schema::GSI1),
                "gsi1pk = :feed",
                &[(":feed", keys::FEED.to_owned())],
                filter,
                page.limit,
                feed_position(page.after)?,
            )
            .await?;
        let next = next.as_ref().map(search::position_of).transpose()?;
        Ok(Page { items, next })
    }

    /// Writes `image`'s tags, visibility and words if its `rev` is still `rev`; `None` when
    /// it is not (changed meanwhile, retired or gone).
    async fn write_update(&self, image: &Image, rev: u64) -> Result<Option<Image>, StoreError> {
        let mut expression =
            "SET tags = :tags, visibility = :visibility, words = :words, rev = :next".to_owned();
        let mut request = self
            .update_at(attrs::key(keys::user(image.owner), keys::image(image.id)))
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(retiredAt) \
                 AND (rev = :rev OR (attribute_not_exists(rev) AND :rev = :zero))",
            )
            .expression_attribute_values(":tags", tags_value(&image.tags))
            .expression_attribute_values(":visibility", attrs::s(image.visibility.as_str()))
            .expression_attribute_values(
                ":words",
                attrs::s(artforge_domain::search::indexed_words(
                    &image.prompt,
                    &image.tags,
                )),
            )
            .expression_attribute_values(":rev", attrs::n(rev))
            .expression_attribute_values(":next", attrs::n(rev + 1))
            .expression_attribute_values(":zero", attrs::n(0))
            .return_values(ReturnValue::AllNew);
        match image.visibility {
            Visibility::Public => {
                expression.push_str(", gsi1pk = :feed, gsi1sk = :sk");
                request = request
                    .expression_attribute_values(":feed", attrs::s(keys::FEED))
                    .expression_attribute_values(":sk", attrs::s(keys::image(image.id)));
            }
            Visibility::Private => expression.push_str(" REMOVE gsi1pk, gsi1sk"),
        }
        match request
            .update_expression(expression)
            .send()
            .await
            .refused()?
        {
            Ok(out) => Ok(Some(image_from_item(
                out.attributes().ok_or(StoreError::NotFound)?,
            )?)),
            Err(_) => Ok(None),
        }
    }

    /// A page of live images matching `filter` from one partition of the table or `gsi1`.
    async fn image_page(
        &self,
        index: Option<&str>,
        key_condition: &str,
        values: &[(&str, String)],
        filter: &ImageFilter,
        page_limit: u16,
        after: Option<Item>,
    ) -> Result<(Vec<Image>, Option<Item>), StoreError> {
        let values: HashMap<String, AttributeValue> = values
            .iter()
            .map(|(name, value)| ((*name).to_owned(), attrs::s(value)))
            .collect();
        let (items, next) = fill_page(page_limit, after, |start, size| {
            self.query_round(
                index,
                key_condition,
                values.clone(),
                filter_expression(filter),
                start,
                size,
            )
        })
        .await?;
        let images = items
            .iter()
            .map(image_from_item)
            .collect::<Result<_, _>>()?;
        Ok((images, next))
    }
}

/// Positions in image lists are the sort key of the last image shown (`IMAGE#<id>`).
fn image_position(owner: UserId, after: Option<String>) -> Result<Option<Item>, StoreError> {
    after
        .map(|sk| {
            if sk.starts_with(keys::IMAGE_PREFIX) {
                Ok(attrs::key(keys::user(owner), sk))
            } else {
                Err(StoreError::BadPosition)
            }
        })
        .transpose()
}

/// Feed positions are `<owner>/<IMAGE#id>`: the index's key needs the table's key too.
fn feed_position(after: Option<String>) -> Result<Option<Item>, StoreError> {
    after
        .map(|position| {
            let (owner, id) = search::feed_position(&position)?;
            let mut key = attrs::key(keys::user(owner), keys::image(id));
            key.insert("gsi1pk".into(), attrs::s(keys::FEED));
            key.insert("gsi1sk".into(), attrs::s(keys::image(id)));
            Ok(key)
        })
        .transpose()
}

/// Tries of an image change that finds the image changed meanwhile.
const UPDATE_ATTEMPTS: usize = 3;

impl Images for DynamoStore {
    async fn add(&self, image: &Image) -> Result<(), StoreError> {
        // Filed before it exists: a public image is never missing from the index.
        self.file(image, &search::filed_under(image)).await?;
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(image_item(image)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn image(&self, owner: UserId, id: ImageId) -> Result<Option<Image>, StoreError> {
        self.image_item(owner, id)
            .await?
            .as_ref()
            .map(image_from_item)
            .transpose()
    }

    async fn images_by_id(&self, owner: UserId, ids: &[ImageId]) -> Result<Vec<Image>, StoreError> {
        let mut found = self
            .images_by_key(ids.iter().map(|id| (owner, *id)))
            .await?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    async fn public_image(&self, id: ImageId) -> Result<Option<Image>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(schema::GSI1)
            .key_condition_expression("gsi1pk = :feed AND gsi1sk = :image")
            .expression_attribute_values(":feed", attrs::s(keys::FEED))
            .expression_attribute_values(":image", attrs::s(keys::image(id)))
            .send()
            .await
            .map_err(unavailable)?;
        let Some(found) = out.items().first() else {
            return Ok(None);
        };
        // The index is eventually consistent: confirm on the item itself.
        let owner = attrs::owner(found).ok_or_else(|| corrupt("owner"))?;
        Ok(self
            .image(owner, id)
            .await?
            .filter(|i| i.visibility == Visibility::Public))
    }

    async fn images(
        &self,
        owner: UserId,
        filter: &ImageFilter,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        let after = image_position(owner, page.after)?;
        let (items, next) = self
            .image_page(
                None,
                "pk = :pk AND begins_with(sk, :prefix)",
                &[
                    (":pk", keys::user(owner)),
                    (":prefix", keys::IMAGE_PREFIX.to_owned()),
                ],
                filter,
                page.limit,
                after,
            )
            .await?;
        let next = next
            .map(|item| get_s(&item, keys::SK).map(str::to_owned))
            .transpose()?;
        Ok(Page { items, next })
    }

    async fn update(
        &self,
        owner: UserId,
        id: ImageId,
        tags: Option<&Tags>,
        visibility: Option<Visibility>,
    ) -> Result<Image, StoreError> {
        if tags.is_none() && visibility.is_none() {
            return self.image(owner, id).await?.ok_or(StoreError::NotFound);
        }
        // Read, file the image as it will be, write it if nobody changed it meanwhile (its
        // `rev`), then unfile what it no longer is: see `search`.
        for attempt in 0..UPDATE_ATTEMPTS {
            let Some(item) = self.image_item(owner, id).await? else {
                if attempt > 0 {
                    // Entries an attempt filed for an image deleted meanwhile.
                    self.unfile(owner, id, &BTreeSet::new()).await?;
                }
                return Err(StoreError::NotFound);
            };
            let current = image_from_item(&item)?;
            let rev: u64 = attrs::get_opt_n(&item, "rev")?.unwrap_or(0);
            let mut next = current.clone();
            if let Some(tags) = tags {
                next.tags = tags.clone();
            }
            if let Some(visibility) = visibility {
                next.visibility = visibility;
            }
            let filed = search::filed_under(&next);
            self.file(&next, &filed).await?;
            match self.write_update(&next, rev).await? {
                Some(image) => {
                    // A retried unpublish also finds what an interrupted one left.
                    if current.visibility == Visibility::Public
                        || !filed.is_empty()
                        || visibility == Some(Visibility::Private)
                    {
                        self.unfile(owner, id, &search::filed_under(&image)).await?;
                    }
                    return Ok(image);
                }
                None => continue,
            }
        }
        Err(StoreError::Contention)
    }

    async fn retire(&self, owner: UserId, id: ImageId) -> Result<Option<Image>, StoreError> {
        // Already retired images are returned too, so an interrupted delete can be finished.
        let result = self
            .update_at(attrs::key(keys::user(owner), keys::image(id)))
            .update_expression(
                "SET retiredAt = if_not_exists(retiredAt, :now) REMOVE gsi1pk, gsi1sk",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", attrs::timestamp(OffsetDateTime::now_utc()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .refused()?;
        let image = match result {
            Ok(out) => out.attributes().map(image_from_item).transpose()?,
            Err(_) => None,
        };
        if image.is_some() {
            // Out of the search index once hidden; a retried delete finishes this too.
            self.unfile(owner, id, &BTreeSet::new()).await?;
        }
        Ok(image)
    }

    async fn forget(&self, owner: UserId, id: ImageId) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(keys::user(owner), keys::image(id))))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn tag_counts(&self, owner: UserId) -> Result<Vec<(Tag, u64)>, StoreError> {
        let items = self
            .all_of(owner, keys::IMAGE_PREFIX, |query| {
                query
                    .filter_expression("attribute_not_exists(retiredAt)")
                    .projection_expression("tags")
            })
            .await?;
        let mut counts: HashMap<Tag, u64> = HashMap::new();
        for tag in items.iter().flat_map(|item| attrs::strings(item, "tags")) {
            let tag = Tag::parse(tag).map_err(|_| corrupt("tag"))?;
            *counts.entry(tag).or_default() += 1;
        }
        let mut counts: Vec<(Tag, u64)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(counts)
    }

    async fn feed(&self, page: PageRequest) -> Result<Page<Image>, StoreError> {
        self.feed_page(&ImageFilter::default(), page).await
    }

    async fn search_feed(
        &self,
        search: &Search,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        if let Some(stem) = search.stem() {
            return self.search_index(search, &stem, page).await;
        }
        // No word long enough to name an index partition: a short prefix, which begins many
        // words, so the feed filtered by it fills pages quickly.
        let filter = ImageFilter {
            search: Some(search.clone()),
            ..ImageFilter::default()
        };
        self.feed_page(&filter, page).await
    }
}
