//! Filtered pages in query rounds: DynamoDB applies a filter after it reads, so a page that
//! must be full (DESIGN §2) takes as many rounds as the filter's selectivity needs. Each round
//! sizes itself by the share of matches seen so far.

use std::collections::HashMap;

use artforge_domain::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::{DynamoStore, attrs::Item, error::unavailable};

/// The most items one query round may read (DynamoDB stops at 1 MB anyway).
const MAX_ROUND: usize = 1000;
/// Query rounds one page may take before it answers with what it has.
pub(crate) const MAX_ROUNDS: usize = 25;

/// A filter expression with its values.
pub(crate) type Filter = (Option<String>, HashMap<String, AttributeValue>);

/// Collects `limit + 1` matching items from successive query rounds starting after `after`,
/// so the page is full unless the data runs out; the next position is the last returned item.
pub(crate) async fn fill_page<F, Fut>(
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
pub(crate) struct Round {
    /// The items that passed the filter.
    pub items: Vec<Item>,
    /// Where reading stopped, if the data goes on.
    pub last: Option<Item>,
    /// How many items were read.
    pub scanned: usize,
}

impl DynamoStore {
    /// One round: up to `size` items of a key condition, newest first, from `start`, filtered.
    pub(crate) async fn query_round(
        &self,
        index: Option<&str>,
        key_condition: &str,
        mut values: HashMap<String, AttributeValue>,
        filter: Filter,
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
}

#[cfg(test)]
mod tests {
    use super::round_size;

    #[test]
    fn rounds_grow_with_how_selective_the_filter_turned_out() {
        for (missing, read, matched, size, why) in [
            (51, 0, 0, 102, "the first round reads twice the page"),
            (
                38,
                102,
                13,
                372,
                "one match in eight: read about eight times",
            ),
            (51, 1000, 0, 1000, "no match yet: the largest round"),
            (10, 100, 100, 12, "no filter: a little more than missing"),
            (1, 1, 1, 1, "one more"),
        ] {
            assert_eq!(round_size(missing, read, matched), size, "{why}");
        }
    }
}
