//! The image item, `USER#<owner> / IMAGE#<id>`, and the `Image` it stores. A public image also
//! carries `gsi1` keys under `FEED`, so making it private takes it out of the feed in the same
//! write. Shared by the image, like and job stores.

use artforge_domain::{
    Image, StoreError, Tags, Visibility,
    edit::{Lineage, SourceRef},
    search,
};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::{
    attrs::{self, Item, get_n, get_s},
    keys,
};

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("image item: {what}"))
}

pub(crate) fn image_item(image: &Image) -> Item {
    let mut item = attrs::key(keys::user(image.owner), keys::image(image.id));
    item.insert("jobId".into(), attrs::s(image.job.to_string()));
    item.insert("prompt".into(), attrs::s(&image.prompt));
    item.insert("tier".into(), attrs::s(image.tier.as_str()));
    item.insert("style".into(), attrs::s(image.style.as_str()));
    item.insert("preset".into(), attrs::s(image.preset.as_str()));
    item.insert("quality".into(), attrs::s(image.quality.as_str()));
    item.insert("width".into(), attrs::n(image.width));
    item.insert("height".into(), attrs::n(image.height));
    item.insert("tags".into(), tags_value(&image.tags));
    item.insert(
        "words".into(),
        attrs::s(search::indexed_words(&image.prompt, &image.tags)),
    );
    item.insert("visibility".into(), attrs::s(image.visibility.as_str()));
    item.insert("likes".into(), attrs::n(image.likes));
    item.insert("createdAt".into(), attrs::timestamp(image.created_at));
    // The formats keep the attribute names they had as file extensions, with the same values.
    item.insert("originalExt".into(), attrs::s(image.original_format.ext()));
    item.insert("variantExt".into(), attrs::s(image.variant_format.ext()));
    item.insert("background".into(), attrs::s(image.background.as_str()));
    if let Some(source) = image.lineage.edited_from {
        item.insert("editedFrom".into(), attrs::s(source.to_text()));
    }
    if let Some(remixed) = image.lineage.remix_of {
        item.insert("remixOf".into(), attrs::s(remixed.to_string()));
    }
    if image.visibility == Visibility::Public {
        item.insert("gsi1pk".into(), attrs::s(keys::FEED));
        item.insert("gsi1sk".into(), attrs::s(keys::image(image.id)));
    }
    item
}

pub(crate) fn tags_value(tags: &Tags) -> AttributeValue {
    AttributeValue::L(tags.iter().map(|t| attrs::s(t.as_str())).collect())
}

pub(crate) fn image_from_item(item: &Item) -> Result<Image, StoreError> {
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
        tier: attrs::get_set(item, "tier")?,
        style: attrs::get_set(item, "style")?,
        preset: attrs::get_set(item, "preset")?,
        quality: attrs::get_set(item, "quality")?,
        width: get_n(item, "width")?,
        height: get_n(item, "height")?,
        tags: Tags::parse(&tags).map_err(|_| corrupt("tags"))?,
        visibility: attrs::get_set(item, "visibility")?,
        likes: get_n(item, "likes")?,
        created_at: attrs::get_time(item, "createdAt")?,
        original_format: attrs::get_set(item, "originalExt")?,
        variant_format: attrs::get_set(item, "variantExt")?,
        background: crate::output_item::background_of(item)?,
        lineage: Lineage {
            edited_from: match attrs::get_opt_s(item, "editedFrom")? {
                None => None,
                Some(text) => {
                    Some(SourceRef::from_text(text).ok_or_else(|| corrupt("editedFrom"))?)
                }
            },
            remix_of: match attrs::get_opt_s(item, "remixOf")? {
                None => None,
                Some(text) => Some(text.parse().map_err(|_| corrupt("remixOf"))?),
            },
        },
    })
}

/// A live image: retired ones (being deleted) are invisible everywhere.
pub(crate) fn live(item: &Item) -> bool {
    !item.contains_key("retiredAt")
}
