//! The walk of the one-off search backfill (ADR 0140): a `Scan` of the table, `limit` items a
//! page, keeping the live image items without `words` (written before search). Positions are
//! the page's `LastEvaluatedKey`, its `pk` and `sk` in hex joined by a dot: opaque, printable,
//! and safe whatever characters a key holds. The re-filing itself is [`Images::update`]'s.
//!
//! [`Images::update`]: artforge_domain::Images::update

use artforge_domain::{Image, Page, StoreError, UnindexedImages};

use crate::{
    DynamoStore,
    attrs::{self, Item, get_s},
    error::unavailable,
    image_item::image_from_item,
    keys,
};

/// The most items one `Scan` page may read (DynamoDB stops at 1 MB anyway).
const MAX_LIMIT: usize = 1000;

impl UnindexedImages for DynamoStore {
    async fn unindexed_images(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Image>, StoreError> {
        let start = after.map(decode).transpose()?;
        let out = self
            .client()
            .scan()
            .table_name(self.table())
            .filter_expression(
                "begins_with(sk, :image) AND attribute_not_exists(words) \
                 AND attribute_not_exists(retiredAt)",
            )
            .expression_attribute_values(":image", attrs::s(keys::IMAGE_PREFIX))
            .limit(i32::try_from(limit.clamp(1, MAX_LIMIT)).unwrap_or(1))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let items = out
            .items()
            .iter()
            .map(image_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = out.last_evaluated_key().map(encode).transpose()?;
        Ok(Page { items, next })
    }
}

fn encode(key: &Item) -> Result<String, StoreError> {
    let hex = |name| -> Result<String, StoreError> {
        Ok(get_s(key, name)?
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect())
    };
    Ok(format!("{}.{}", hex(keys::PK)?, hex(keys::SK)?))
}

fn decode(position: &str) -> Result<Item, StoreError> {
    let unhex = |part: &str| -> Option<String> {
        if part.is_empty() || !part.len().is_multiple_of(2) {
            return None;
        }
        let bytes = (0..part.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(part.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        String::from_utf8(bytes).ok()
    };
    let (pk, sk) = position.split_once('.').ok_or(StoreError::BadPosition)?;
    match (unhex(pk), unhex(sk)) {
        (Some(pk), Some(sk)) => Ok(attrs::key(pk, sk)),
        _ => Err(StoreError::BadPosition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_the_key_in_hex_and_anything_else_is_a_bad_position() {
        let key = attrs::key("USER#01J a.b".to_owned(), "IMAGE#01K");
        let position = encode(&key).expect("encoded");
        assert!(position.chars().all(|c| c.is_ascii_hexdigit() || c == '.'));
        assert_eq!(decode(&position).expect("decoded"), key);
        for bad in ["", "nodot", "zz.00", "5553.", "555.53", "ff.fe"] {
            assert!(matches!(decode(bad), Err(StoreError::BadPosition)), "{bad}");
        }
    }
}
