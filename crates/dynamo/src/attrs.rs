//! Reading and writing attribute values without panicking on malformed items.

use std::{collections::HashMap, str::FromStr};

use artforge_domain::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn timestamp(at: OffsetDateTime) -> AttributeValue {
    // Rfc3339 formatting fails only for years outside 0..=9999.
    AttributeValue::S(at.format(&Rfc3339).unwrap_or_default())
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a string"
        ))),
    }
}

pub fn get_opt_s<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a string"
        ))),
    }
}

pub fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("attribute {name} is out of range"))),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a number"
        ))),
    }
}

/// A number that older items may not have.
pub fn get_opt_n<T: FromStr>(item: &Item, name: &str) -> Result<Option<T>, StoreError> {
    item.contains_key(name)
        .then(|| get_n(item, name))
        .transpose()
}

/// A closed set's value, stored in its one spelling (`tier`, `status`, ...).
pub fn get_set<T: FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    get_s(item, name)?
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not a known value")))
}

pub fn get_time(item: &Item, name: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(get_s(item, name)?, &Rfc3339)
        .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not a timestamp")))
}

pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([
        (crate::keys::PK.to_owned(), s(pk)),
        (crate::keys::SK.to_owned(), s(sk)),
    ])
}

/// The owner named by an item's `USER#<id>` partition key.
pub fn owner(item: &Item) -> Option<artforge_domain::UserId> {
    get_s(item, crate::keys::PK)
        .ok()?
        .strip_prefix("USER#")?
        .parse()
        .ok()
}

/// The id after `prefix` in an item's sort key (`IMAGE#<id>`, `JOB#<id>`).
pub fn sk_id<T: FromStr>(item: &Item, prefix: &str) -> Option<T> {
    get_s(item, crate::keys::SK)
        .ok()?
        .strip_prefix(prefix)?
        .parse()
        .ok()
}

/// The strings of a list attribute (tags); absent or not a list is empty.
pub fn strings<'a>(item: &'a Item, name: &str) -> Vec<&'a str> {
    match item.get(name) {
        Some(AttributeValue::L(list)) => list
            .iter()
            .filter_map(|v| v.as_s().ok().map(String::as_str))
            .collect(),
        _ => Vec::new(),
    }
}
