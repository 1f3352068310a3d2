//! What the model-lifecycle check found about each provider model: `MODEL#<providerModel> /
//! NOTICE` with `shutdownDate` (ISO date, absent when none is announced), `listed` and
//! `checkedAt`. Written by the sweeper's check, read by the API at submission.

use artforge_domain::{ModelNotice, ModelNotices, StoreError};
use time::{Date, macros::format_description};

use crate::{
    attrs::{self, Item},
    error::unavailable,
    keys,
};

const NOTICE_SK: &str = "NOTICE";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("model notice: {what}"))
}

fn iso(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn notice_item(notice: &ModelNotice) -> Item {
    let mut item = attrs::key(keys::model(&notice.model), NOTICE_SK);
    item.insert("model".into(), attrs::s(&notice.model));
    if let Some(shutdown) = notice.shutdown {
        item.insert("shutdownDate".into(), attrs::s(iso(shutdown)));
    }
    item.insert(
        "listed".into(),
        aws_sdk_dynamodb::types::AttributeValue::Bool(notice.listed),
    );
    item.insert("checkedAt".into(), attrs::timestamp(notice.checked_at));
    item
}

fn notice_from(item: &Item) -> Result<ModelNotice, StoreError> {
    let shutdown = match attrs::get_opt_s(item, "shutdownDate")? {
        None => None,
        Some(raw) => Some(
            Date::parse(raw, format_description!("[year]-[month]-[day]"))
                .map_err(|_| corrupt("shutdownDate"))?,
        ),
    };
    Ok(ModelNotice {
        model: attrs::get_s(item, "model")?.to_owned(),
        shutdown,
        listed: item
            .get("listed")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or_else(|| corrupt("listed"))?,
        checked_at: attrs::get_time(item, "checkedAt")?,
    })
}

impl ModelNotices for crate::DynamoStore {
    async fn record(&self, notice: &ModelNotice) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(notice_item(notice)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn notice(&self, model: &str) -> Result<Option<ModelNotice>, StoreError> {
        self.item(keys::model(model), NOTICE_SK)
            .await?
            .as_ref()
            .map(notice_from)
            .transpose()
    }
}
