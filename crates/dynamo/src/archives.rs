//! ZIP archives' records: `USER#<owner> / ARCHIVE#<id>`, expiring (DynamoDB TTL) a day after
//! they were asked for, as their file does (the bucket's lifecycle rule for `archives/`).

use artforge_domain::{Archive, ArchiveId, ArchiveStatus, Archives, ImageId, StoreError, UserId};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::{
    DynamoStore,
    attrs::{self, Item},
    error::{Conditional, unavailable},
    keys,
};

/// How long an archive's record is kept: its file's lifetime.
pub const ARCHIVE_TTL: time::Duration = time::Duration::days(1);

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("archive item: {what}"))
}

fn archive_from_item(item: &Item) -> Result<Archive, StoreError> {
    let images = match item.get("images") {
        Some(AttributeValue::L(ids)) => ids
            .iter()
            .map(|v| {
                v.as_s()
                    .ok()
                    .and_then(|s| s.parse::<ImageId>().ok())
                    .ok_or_else(|| corrupt("images"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(corrupt("images")),
    };
    Ok(Archive {
        id: attrs::sk_id(item, keys::ARCHIVE_PREFIX).ok_or_else(|| corrupt("id"))?,
        owner: attrs::owner(item).ok_or_else(|| corrupt("owner"))?,
        images,
        variant: attrs::get_set(item, "variant")?,
        status: attrs::get_set(item, "status")?,
        bytes: attrs::get_opt_n(item, "bytes")?,
        created_at: attrs::get_time(item, "createdAt")?,
    })
}

impl Archives for DynamoStore {
    async fn add_archive(&self, archive: &Archive) -> Result<(), StoreError> {
        let mut item = attrs::key(keys::user(archive.owner), keys::archive(archive.id));
        item.insert(
            "images".into(),
            AttributeValue::L(
                archive
                    .images
                    .iter()
                    .map(|i| attrs::s(i.to_string()))
                    .collect(),
            ),
        );
        item.insert("variant".into(), attrs::s(archive.variant.as_str()));
        item.insert("status".into(), attrs::s(archive.status.as_str()));
        if let Some(bytes) = archive.bytes {
            item.insert("bytes".into(), attrs::n(bytes));
        }
        item.insert("createdAt".into(), attrs::timestamp(archive.created_at));
        item.insert(
            "expiresAt".into(),
            attrs::n((archive.created_at + ARCHIVE_TTL).unix_timestamp()),
        );
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn archive(&self, owner: UserId, id: ArchiveId) -> Result<Option<Archive>, StoreError> {
        self.item(keys::user(owner), keys::archive(id))
            .await?
            .as_ref()
            .map(archive_from_item)
            .transpose()
    }

    async fn finish_archive(
        &self,
        owner: UserId,
        id: ArchiveId,
        status: ArchiveStatus,
        bytes: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut request = self
            .update_at(attrs::key(keys::user(owner), keys::archive(id)))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", attrs::s(ArchiveStatus::Pending.as_str()))
            .expression_attribute_values(":status", attrs::s(status.as_str()));
        request = match bytes {
            Some(bytes) => request
                .update_expression("SET #status = :status, #bytes = :bytes")
                .expression_attribute_names("#bytes", "bytes")
                .expression_attribute_values(":bytes", attrs::n(bytes)),
            None => request.update_expression("SET #status = :status"),
        };
        Ok(request.send().await.refused()?.is_ok())
    }
}
