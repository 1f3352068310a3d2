//! Likes. A like is `USER#<user> / LIKE#<imageId>`, in `gsi1` under `LIKES#<user>` by like
//! time; it and the image's count change in one transaction, so the count stays exact under
//! any concurrency and repeating a like changes nothing.

use std::collections::HashSet;

use artforge_domain::{
    Image, ImageFilter, ImageId, Page, PageRequest, StoreError, UserId, Visibility, ports::Likes,
};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use crate::{
    DynamoStore,
    attrs::{self, Item, get_n, get_s},
    error::malformed,
    image_item::corrupt,
    keys,
    rounds::{MAX_ROUNDS, Round},
    schema,
    transaction::{Refusal, Transaction},
};

/// Likes read per round of the liked list (one `BatchGetItem` of their images each).
const LIKES_ROUND: usize = 100;

/// The two items of a like or an unlike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Like,
    Count,
}

impl DynamoStore {
    /// The transaction that takes the like at `like` back from the image at `image`: the
    /// like's removal (refused when it is gone) and the image's count down by one (refused when
    /// the image is gone or counts none).
    pub(crate) fn unliking(
        &self,
        like: Item,
        image: Item,
    ) -> Result<Transaction<Part>, StoreError> {
        let remove = Delete::builder()
            .table_name(self.table())
            .set_key(Some(like))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(malformed)?;
        let count = Update::builder()
            .table_name(self.table())
            .set_key(Some(image))
            .update_expression("ADD likes :minus")
            .condition_expression("attribute_exists(pk) AND likes > :zero")
            .expression_attribute_values(":minus", attrs::n(-1))
            .expression_attribute_values(":zero", attrs::n(0))
            .build();
        let mut tx = Transaction::new();
        tx.push(
            Part::Like,
            TransactWriteItem::builder().delete(remove).build(),
        );
        tx.update(Part::Count, count)?;
        Ok(tx)
    }

    async fn likes_count(&self, image: &Image) -> Result<u64, StoreError> {
        match self.image_item(image.owner, image.id).await? {
            Some(item) => get_n(&item, "likes"),
            None => Err(StoreError::NotFound),
        }
    }

    /// Writes a like's two items; a refused like item means there is nothing to do (liked
    /// already, or not liked), a refused count that the image cannot be liked (any more).
    async fn change_like(&self, image: &Image, tx: Transaction<Part>) -> Result<u64, StoreError> {
        match tx.commit(self.client()).await {
            Ok(()) => self.likes_count(image).await,
            Err(refusal) if refusal.refused(&Part::Like) => self.likes_count(image).await,
            Err(Refusal::Conditions(_)) => Err(StoreError::NotFound),
            Err(Refusal::Conflict) => Err(StoreError::Contention),
            Err(Refusal::Store(e)) => Err(e),
        }
    }
}

/// The key of `image`'s item.
fn image_key(image: &Image) -> Item {
    attrs::key(keys::user(image.owner), keys::image(image.id))
}

/// The like's position in `user`'s likes, as written in `gsi1sk`: `<like ulid>#<image id>`.
fn liked_image(position: &str) -> Option<ImageId> {
    position.rsplit('#').next()?.parse().ok()
}

impl Likes for DynamoStore {
    async fn like(&self, user: UserId, image: &Image) -> Result<u64, StoreError> {
        let mut like = attrs::key(keys::user(user), keys::like(image.id));
        like.insert("imageOwner".into(), attrs::s(image.owner.to_string()));
        like.insert(
            "likedAt".into(),
            attrs::timestamp(OffsetDateTime::now_utc()),
        );
        like.insert("gsi1pk".into(), attrs::s(keys::likes_of(user)));
        like.insert(
            "gsi1sk".into(),
            attrs::s(format!("{}#{}", ulid::Ulid::generate(), image.id)),
        );
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(like))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(malformed)?;
        // Own images while they live; others' only while they are public.
        let mut count = Update::builder()
            .table_name(self.table())
            .set_key(Some(image_key(image)))
            .update_expression("ADD likes :one")
            .expression_attribute_values(":one", attrs::n(1));
        count = if image.owner == user {
            count.condition_expression("attribute_exists(pk) AND attribute_not_exists(retiredAt)")
        } else {
            count
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(retiredAt) AND visibility = :public",
                )
                .expression_attribute_values(":public", attrs::s(Visibility::Public.as_str()))
        };
        let mut tx = Transaction::new();
        tx.push(Part::Like, TransactWriteItem::builder().put(put).build());
        tx.update(Part::Count, count.build())?;
        self.change_like(image, tx).await
    }

    async fn unlike(&self, user: UserId, image: &Image) -> Result<u64, StoreError> {
        let like = attrs::key(keys::user(user), keys::like(image.id));
        let tx = self.unliking(like, image_key(image))?;
        self.change_like(image, tx).await
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
            if let Some(id) = attrs::sk_id(&item, keys::LIKE_PREFIX) {
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
                let image = liked_image(&position).ok_or(StoreError::BadPosition)?;
                let mut key = attrs::key(keys::user(user), keys::like(image));
                key.insert("gsi1pk".into(), attrs::s(keys::likes_of(user)));
                key.insert("gsi1sk".into(), attrs::s(&position));
                Ok::<_, StoreError>(key)
            })
            .transpose()?;
        let mut found: Vec<(String, Image)> = Vec::new();
        let page_of = |found: Vec<(String, Image)>, next| Page {
            items: found.into_iter().map(|(_, i)| i).collect(),
            next,
        };
        for _ in 0..MAX_ROUNDS {
            let values = [(":likes".to_owned(), attrs::s(keys::likes_of(user)))].into();
            let Round {
                items: likes, last, ..
            } = self
                .query_round(
                    Some(schema::GSI1),
                    "gsi1pk = :likes",
                    values,
                    (None, Default::default()),
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
                let id = liked_image(&position).ok_or_else(|| corrupt("like"))?;
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
                        return Ok(page_of(found, next));
                    }
                }
            }
            match last {
                Some(last) => start = Some(last),
                None => return Ok(page_of(found, None)),
            }
        }
        let next = start.and_then(|k| k.get("gsi1sk").and_then(|v| v.as_s().ok()).cloned());
        Ok(page_of(found, next))
    }
}
