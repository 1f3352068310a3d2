//! Image metadata and likes. An image is `USER#<owner> / IMAGE#<id>`; a public one also sits in
//! `gsi1` under `FEED`, which serves the feed and share links. A like is
//! `USER#<user> / LIKE#<imageId>`, in `gsi1` under `LIKES#<user>` by like time; it and the
//! image's count change in one transaction, so the count stays exact under concurrency.

use std::collections::{HashMap, HashSet};

use artforge_domain::{
    Image, ImageFilter, ImageId, Page, PageRequest, Preset, StoreError, Tag, Tags, Tier, UserId,
    Visibility,
    ports::{Images, Likes},
};
use aws_sdk_dynamodb::{
    operation::{transact_write_items::TransactWriteItemsError, update_item::UpdateItemError},
    types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update},
};
use time::OffsetDateTime;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::{Cancelled, cancellation_reasons, unavailable},
    keys, schema,
};

/// The most items one query round may read (DynamoDB stops at 1 MB anyway).
const MAX_ROUND: usize = 1000;
/// Items read per round of the liked list (one `BatchGetItem` of their images each).
const LIKES_ROUND: usize = 100;
/// Query rounds one page may take before it answers with what it has.
const MAX_ROUNDS: usize = 25;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("image item: {what}"))
}

pub(crate) fn image_item(image: &Image) -> Item {
    let mut item = attrs::key(keys::user(image.owner), keys::image(image.id));
    item.insert("jobId".into(), attrs::s(image.job.to_string()));
    item.insert("prompt".into(), attrs::s(&image.prompt));
    item.insert("tier".into(), attrs::s(image.tier.as_str()));
    item.insert("style".into(), attrs::s(&image.style));
    item.insert("preset".into(), attrs::s(image.preset.as_str()));
    item.insert("quality".into(), attrs::s(&image.quality));
    item.insert("width".into(), attrs::n(image.width));
    item.insert("height".into(), attrs::n(image.height));
    item.insert("tags".into(), tags_value(&image.tags));
    item.insert("visibility".into(), attrs::s(image.visibility.as_str()));
    item.insert("likes".into(), attrs::n(image.likes));
    item.insert("createdAt".into(), attrs::timestamp(image.created_at));
    item.insert("originalExt".into(), attrs::s(&image.original_ext));
    item.insert("variantExt".into(), attrs::s(&image.variant_ext));
    if image.visibility == Visibility::Public {
        item.insert("gsi1pk".into(), attrs::s(keys::FEED));
        item.insert("gsi1sk".into(), attrs::s(keys::image(image.id)));
    }
    item
}

fn tags_value(tags: &Tags) -> AttributeValue {
    AttributeValue::L(tags.iter().map(|t| attrs::s(t.as_str())).collect())
}

fn image_from_item(item: &Item) -> Result<Image, StoreError> {
    let owner = attrs::owner(item).ok_or_else(|| corrupt("owner"))?;
    let id = attrs::sk_id(item, keys::IMAGE_PREFIX).ok_or_else(|| corrupt("id"))?;
    let tags = attrs::strings(item, "tags");
    Ok(Image {
        id,
        owner,
        job: get_s(item, "jobId")?
            .parse()
            .map_err(|_| corrupt("jobId"))?,
        prompt: get_s(item, "prompt")?.to_owned(),
        tier: Tier::parse(get_s(item, "tier")?, "tier").map_err(|_| corrupt("tier"))?,
        style: get_s(item, "style")?.to_owned(),
        preset: Preset::parse(get_s(item, "preset")?, "preset").map_err(|_| corrupt("preset"))?,
        quality: get_s(item, "quality")?.to_owned(),
        width: get_n(item, "width")?,
        height: get_n(item, "height")?,
        tags: Tags::parse(&tags).map_err(|_| corrupt("tags"))?,
        visibility: Visibility::parse(get_s(item, "visibility")?, "visibility")
            .map_err(|_| corrupt("visibility"))?,
        likes: get_n(item, "likes")?,
        created_at: attrs::get_time(item, "createdAt")?,
        original_ext: get_s(item, "originalExt")?.to_owned(),
        variant_ext: get_s(item, "variantExt")?.to_owned(),
    })
}

/// A live image: retired ones (being deleted) are invisible everywhere.
fn live(item: &Item) -> bool {
    !item.contains_key("retiredAt")
}

/// The filter as a DynamoDB filter expression, applied server-side.
fn filter_expression(filter: &ImageFilter) -> (Option<String>, HashMap<String, AttributeValue>) {
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
    (Some(parts.join(" AND ")), values)
}

/// Collects `limit + 1` matching items from successive query rounds starting after `after`,
/// so the page is full unless the data runs out; the next position is the last returned item.
async fn fill_page<F, Fut>(
    limit: u16,
    after: Option<Item>,
    mut round: F,
) -> Result<(Vec<Item>, Option<Item>), StoreError>
where
    F: FnMut(Option<Item>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<Round, StoreError>>,
{
    let want = usize::from(limit) + 1;
    let mut collected = Vec::new();
    let mut start = after;
    let (mut read, mut matched) = (0usize, 0usize);
    for _ in 0..MAX_ROUNDS {
        let size = round_size(want - collected.len(), read, matched);
        let Round {
            items,
            last,
            scanned,
        } = round(start, size).await?;
        read += scanned;
        matched += items.len();
        for item in items {
            collected.push(item);
            if collected.len() == want {
                collected.truncate(usize::from(limit));
                let next = collected.last().cloned();
                return Ok((collected, next));
            }
        }
        match last {
            Some(last) => start = Some(last),
            None => return Ok((collected, None)),
        }
    }
    // Very sparse matches: answer what was found and continue from where reading stopped.
    let next = start;
    Ok((collected, next))
}

/// How many items the next round should read to find `missing` more matches, from the share
/// of matches so far: a filter that keeps one image in eight reads about eight times the page,
/// so the common filters fill a page in one to three queries.
fn round_size(missing: usize, read: usize, matched: usize) -> usize {
    let size = if read == 0 {
        missing * 2
    } else {
        // Assume at least one match in the next `read` items, and ask for a quarter extra.
        missing * read * 5 / (4 * matched.max(1))
    };
    size.clamp(missing, MAX_ROUND)
}

/// What one query round returned.
struct Round {
    /// The items that passed the filter.
    items: Vec<Item>,
    /// Where reading stopped, if the data goes on.
    last: Option<Item>,
    /// How many items were read.
    scanned: usize,
}

impl DynamoStore {
    async fn query_round(
        &self,
        index: Option<&str>,
        key_condition: &str,
        mut values: HashMap<String, AttributeValue>,
        filter: (Option<String>, HashMap<String, AttributeValue>),
        start: Option<Item>,
        size: usize,
    ) -> Result<Round, StoreError> {
        values.extend(filter.1);
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression(key_condition)
            .set_filter_expression(filter.0)
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false)
            .limit(i32::try_from(size).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(Round {
            scanned: usize::try_from(out.scanned_count()).unwrap_or(0),
            items: out.items.unwrap_or_default(),
            last: out.last_evaluated_key,
        })
    }

    async fn image_item(&self, owner: UserId, id: ImageId) -> Result<Option<Item>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(keys::user(owner), keys::image(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item.filter(live))
    }

    /// Live images by key, in one `BatchGetItem` per hundred keys.
    async fn images_by_key(
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

    async fn likes_count(&self, image: &Image) -> Result<u64, StoreError> {
        match self.image_item(image.owner, image.id).await? {
            Some(item) => get_n(&item, "likes"),
            None => Err(StoreError::NotFound),
        }
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

impl Images for DynamoStore {
    async fn add(&self, image: &Image) -> Result<(), StoreError> {
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
        let owner: UserId = get_s(found, keys::PK)?
            .strip_prefix("USER#")
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| corrupt("owner"))?;
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
        let (items, next) = fill_page(page.limit, after, |start, size| {
            let values = HashMap::from([
                (":pk".to_owned(), attrs::s(keys::user(owner))),
                (":prefix".to_owned(), attrs::s(keys::IMAGE_PREFIX)),
            ]);
            self.query_round(
                None,
                "pk = :pk AND begins_with(sk, :prefix)",
                values,
                filter_expression(filter),
                start,
                size,
            )
        })
        .await?;
        Ok(Page {
            items: items
                .iter()
                .map(image_from_item)
                .collect::<Result<_, _>>()?,
            next: next
                .map(|item| get_s(&item, keys::SK).map(str::to_owned))
                .transpose()?,
        })
    }

    async fn update(
        &self,
        owner: UserId,
        id: ImageId,
        tags: Option<&Tags>,
        visibility: Option<Visibility>,
    ) -> Result<Image, StoreError> {
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(keys::user(owner), keys::image(id))))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(retiredAt)")
            .return_values(ReturnValue::AllNew);
        if let Some(tags) = tags {
            sets.push("tags = :tags");
            request = request.expression_attribute_values(":tags", tags_value(tags));
        }
        match visibility {
            Some(Visibility::Public) => {
                sets.extend(["visibility = :public", "gsi1pk = :feed", "gsi1sk = :sk"]);
                request = request
                    .expression_attribute_values(":public", attrs::s(Visibility::Public.as_str()))
                    .expression_attribute_values(":feed", attrs::s(keys::FEED))
                    .expression_attribute_values(":sk", attrs::s(keys::image(id)));
            }
            Some(Visibility::Private) => {
                sets.push("visibility = :private");
                removes.extend(["gsi1pk", "gsi1sk"]);
                request = request.expression_attribute_values(
                    ":private",
                    attrs::s(Visibility::Private.as_str()),
                );
            }
            None => {}
        }
        if sets.is_empty() {
            return self.image(owner, id).await?.ok_or(StoreError::NotFound);
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match request.update_expression(expression).send().await {
            Ok(out) => image_from_item(out.attributes().ok_or(StoreError::NotFound)?),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::NotFound)
                }
                _ => Err(unavailable(err)),
            },
        }
    }

    async fn retire(&self, owner: UserId, id: ImageId) -> Result<Option<Image>, StoreError> {
        // Already retired images are returned too, so an interrupted delete can be finished.
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(attrs::key(keys::user(owner), keys::image(id))))
            .update_expression(
                "SET retiredAt = if_not_exists(retiredAt, :now) REMOVE gsi1pk, gsi1sk",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", attrs::timestamp(OffsetDateTime::now_utc()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes().map(image_from_item).transpose(),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(None),
                _ => Err(unavailable(err)),
            },
        }
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
        let mut counts: HashMap<Tag, u64> = HashMap::new();
        let mut start = None;
        loop {
            let values = HashMap::from([
                (":pk".to_owned(), attrs::s(keys::user(owner))),
                (":prefix".to_owned(), attrs::s(keys::IMAGE_PREFIX)),
            ]);
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .filter_expression("attribute_not_exists(retiredAt)")
                .set_expression_attribute_values(Some(values))
                .projection_expression("tags")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                if let Some(AttributeValue::L(tags)) = item.get("tags") {
                    for tag in tags.iter().filter_map(|t| t.as_s().ok()) {
                        let tag = Tag::parse(tag).map_err(|_| corrupt("tag"))?;
                        *counts.entry(tag).or_default() += 1;
                    }
                }
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        let mut counts: Vec<(Tag, u64)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(counts)
    }

    async fn feed(&self, page: PageRequest) -> Result<Page<Image>, StoreError> {
        let after = page
            .after
            .map(|sk| {
                // Feed positions are `<owner>/<IMAGE#id>`: the index's key needs the table key too.
                let (owner, image) = sk.split_once('/').ok_or(StoreError::BadPosition)?;
                if !image.starts_with(keys::IMAGE_PREFIX) {
                    return Err(StoreError::BadPosition);
                }
                let mut key = attrs::key(format!("USER#{owner}"), image);
                key.insert("gsi1pk".into(), attrs::s(keys::FEED));
                key.insert("gsi1sk".into(), attrs::s(image));
                Ok(key)
            })
            .transpose()?;
        let (items, next) = fill_page(page.limit, after, |start, size| {
            let values = HashMap::from([(":feed".to_owned(), attrs::s(keys::FEED))]);
            self.query_round(
                Some(schema::GSI1),
                "gsi1pk = :feed",
                values,
                filter_expression(&ImageFilter::default()),
                start,
                size,
            )
        })
        .await?;
        let next = next
            .map(|item| -> Result<String, StoreError> {
                let owner = get_s(&item, keys::PK)?
                    .trim_start_matches("USER#")
                    .to_owned();
                Ok(format!("{owner}/{}", get_s(&item, keys::SK)?))
            })
            .transpose()?;
        Ok(Page {
            items: items
                .iter()
                .map(image_from_item)
                .collect::<Result<_, _>>()?,
            next,
        })
    }
}

fn transaction_reasons(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>,
) -> Option<Vec<Cancelled>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            Some(cancellation_reasons(c.cancellation_reasons()))
        }
        _ => None,
    }
}

fn write(
    item: impl FnOnce() -> Result<TransactWriteItem, aws_sdk_dynamodb::error::BuildError>,
) -> Result<TransactWriteItem, StoreError> {
    item().map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Likes for DynamoStore {
    async fn like(&self, user: UserId, image: &Image) -> Result<u64, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut like = attrs::key(keys::user(user), keys::like(image.id));
        like.insert("imageOwner".into(), attrs::s(image.owner.to_string()));
        like.insert("likedAt".into(), attrs::timestamp(now));
        like.insert("gsi1pk".into(), attrs::s(keys::likes_of(user)));
        like.insert(
            "gsi1sk".into(),
            attrs::s(format!("{}#{}", ulid::Ulid::generate(), image.id)),
        );
        let put = write(|| {
            Put::builder()
                .table_name(self.table())
                .set_item(Some(like))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
        })?;
        let visible = if image.owner == user {
            "attribute_exists(pk) AND attribute_not_exists(retiredAt)"
        } else {
            "attribute_exists(pk) AND attribute_not_exists(retiredAt) AND visibility = :public"
        };
        let count = write(|| {
            let mut update = Update::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(
                    keys::user(image.owner),
                    keys::image(image.id),
                )))
                .update_expression("ADD likes :one")
                .condition_expression(visible)
                .expression_attribute_values(":one", attrs::n(1));
            if image.owner != user {
                update = update
                    .expression_attribute_values(":public", attrs::s(Visibility::Public.as_str()));
            }
            update
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build())
        })?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(put)
            .transact_items(count)
            .send()
            .await;
        match result {
            Ok(_) => self.likes_count(image).await,
            Err(err) => match transaction_reasons(&err).as_deref() {
                // Liked already: nothing to do.
                Some(
                    [
                        Cancelled::ConditionFailed,
                        Cancelled::Fine | Cancelled::ConditionFailed,
                    ],
                ) => self.likes_count(image).await,
                Some([_, Cancelled::ConditionFailed]) => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::Contention),
                None => Err(unavailable(err)),
            },
        }
    }

    async fn unlike(&self, user: UserId, image: &Image) -> Result<u64, StoreError> {
        let remove = write(|| {
            Delete::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(keys::user(user), keys::like(image.id))))
                .condition_expression("attribute_exists(pk)")
                .build()
                .map(|d| TransactWriteItem::builder().delete(d).build())
        })?;
        let count = write(|| {
            Update::builder()
                .table_name(self.table())
                .set_key(Some(attrs::key(
                    keys::user(image.owner),
                    keys::image(image.id),
                )))
                .update_expression("ADD likes :minus")
                .condition_expression("attribute_exists(pk) AND likes > :zero")
                .expression_attribute_values(":minus", attrs::n(-1))
                .expression_attribute_values(":zero", attrs::n(0))
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build())
        })?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(remove)
            .transact_items(count)
            .send()
            .await;
        match result {
            Ok(_) => self.likes_count(image).await,
            Err(err) => match transaction_reasons(&err).as_deref() {
                // Not liked: nothing to do.
                Some([Cancelled::ConditionFailed, _]) => self.likes_count(image).await,
                Some([_, Cancelled::ConditionFailed]) => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::Contention),
                None => Err(unavailable(err)),
            },
        }
    }

    async fn liked_among(
        &self,
        user: UserId,
        ids: &[ImageId],
    ) -> Result<HashSet<ImageId>, StoreError> {
        let wanted = ids
            .iter()
            .map(|id| attrs::key(keys::user(user), keys::like(*id)))
            .collect();
        let mut liked = HashSet::new();
        for item in self.batch_get(wanted, Some("sk"), false).await? {
            if let Some(id) = get_s(&item, keys::SK)?
                .strip_prefix(keys::LIKE_PREFIX)
                .and_then(|i| i.parse().ok())
            {
                liked.insert(id);
            }
        }
        Ok(liked)
    }

    async fn liked(
        &self,
        user: UserId,
        filter: &ImageFilter,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        let want = usize::from(page.limit) + 1;
        let mut start = page
            .after
            .map(|position| {
                // Positions are the like's `gsi1sk`; the index key needs the table key too.
                let image = position.rsplit('#').next().ok_or(StoreError::BadPosition)?;
                let mut key = attrs::key(keys::user(user), format!("{}{image}", keys::LIKE_PREFIX));
                key.insert("gsi1pk".into(), attrs::s(keys::likes_of(user)));
                key.insert("gsi1sk".into(), attrs::s(&position));
                Ok::<_, StoreError>(key)
            })
            .transpose()?;
        let mut found: Vec<(String, Image)> = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let values = HashMap::from([(":likes".to_owned(), attrs::s(keys::likes_of(user)))]);
            let Round {
                items: likes, last, ..
            } = self
                .query_round(
                    Some(schema::GSI1),
                    "gsi1pk = :likes",
                    values,
                    (None, HashMap::new()),
                    start.clone(),
                    LIKES_ROUND,
                )
                .await?;
            let mut refs = Vec::with_capacity(likes.len());
            for like in &likes {
                let position = get_s(like, "gsi1sk")?.to_owned();
                let owner: UserId = get_s(like, "imageOwner")?
                    .parse()
                    .map_err(|_| corrupt("imageOwner"))?;
                let id: ImageId = position
                    .rsplit('#')
                    .next()
                    .and_then(|i| i.parse().ok())
                    .ok_or_else(|| corrupt("like"))?;
                refs.push((position, owner, id));
            }
            // One batch read per round of likes, not one read per like.
            let images = self
                .images_by_key(refs.iter().map(|(_, owner, id)| (*owner, *id)))
                .await?;
            for (position, _, id) in refs {
                let Some(image) = images.get(&id) else {
                    continue; // deleted since it was liked
                };
                if image.is_visible_to(Some(user)) && filter.matches(image) {
                    found.push((position, image.clone()));
                    if found.len() == want {
                        found.pop();
                        let next = found.last().map(|(p, _)| p.clone());
                        return Ok(Page {
                            items: found.into_iter().map(|(_, i)| i).collect(),
                            next,
                        });
                    }
                }
            }
            match last {
                Some(last) => start = Some(last),
                None => {
                    return Ok(Page {
                        items: found.into_iter().map(|(_, i)| i).collect(),
                        next: None,
                    });
                }
            }
        }
        let next = start.and_then(|k| k.get("gsi1sk").and_then(|v| v.as_s().ok()).cloned());
        Ok(Page {
            items: found.into_iter().map(|(_, i)| i).collect(),
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::round_size;

    #[test]
    fn rounds_grow_with_how_selective_the_filter_turned_out() {
        assert_eq!(
            round_size(51, 0, 0),
            102,
            "the first round reads twice the page"
        );
        assert_eq!(
            round_size(38, 102, 13),
            372,
            "one match in eight: read about eight times"
        );
        assert_eq!(
            round_size(51, 1000, 0),
            1000,
            "no match yet: the largest round"
        );
        assert_eq!(
            round_size(10, 100, 100),
            12,
            "no filter: a little more than missing"
        );
        assert_eq!(round_size(1, 1, 1), 1);
    }
}
