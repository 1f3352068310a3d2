//! The money and storage invariants, checked over everything a table and a bucket hold, read
//! raw (a whole-table scan and a bucket listing, not through the stores under test):
//!
//! - every balance is >= 0 and equals the sum of its ledger entries, and no entry's
//!   `balanceAfter` is negative;
//! - every job is final (`succeeded` or `failed`), debited exactly once by its cost, and refunded
//!   exactly once by what it did not deliver (a failed job in full) or not at all;
//! - no debt is negative, and each user's debt is exactly what the purchases' ledger entries
//!   moved less what the purchases are worth now (`credited`; a claw-back the balance could not
//!   cover moved less than it took, a grant that paid a debt moved less than it gave): a
//!   purchase granted twice, a refund or dispute taken back twice or not at all, or a debt
//!   paid twice shows here; a pending or failed purchase moved nothing and is worth nothing;
//! - every live image's three files exist, and every object in the bucket belongs to an image
//!   (live or being deleted);
//! - every live image's like count equals the like items that point at it.
//!
//! [`check`] returns the violations, so a test can also show that a broken state is caught.

use std::collections::{BTreeMap, HashMap, HashSet};

use artforge_domain::{ImageFormat, Preset, UserId, Variant, image::object_key};
use aws_sdk_dynamodb::types::AttributeValue;

type Item = HashMap<String, AttributeValue>;

/// One broken invariant, in words that name the user, job, image or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What was checked, and what was wrong.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub users: usize,
    pub ledger_entries: usize,
    pub jobs: usize,
    pub failed_jobs: usize,
    pub refunds: usize,
    pub purchases: usize,
    pub images: usize,
    /// Images hidden by a delete that has not finished yet.
    pub retired_images: usize,
    pub objects: usize,
    pub likes: usize,
    pub violations: Vec<Violation>,
}

impl Report {
    /// Panics with every violation, if there is any.
    pub fn assert_clean(&self) {
        assert!(
            self.violations.is_empty(),
            "{} invariant violation(s):\n{}",
            self.violations.len(),
            self.violations
                .iter()
                .map(|v| format!("  - {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn violation(&mut self, text: String) {
        self.violations.push(Violation(text));
    }
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn list(item: &Item, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_s().ok().cloned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

/// Every item of `table`, read consistently.
pub async fn scan(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scanning {table}: {e:?}"));
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return items,
        }
    }
}

/// Every object key in `bucket`.
pub async fn objects(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("listing {bucket}: {e:?}"));
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match out.next_continuation_token {
            Some(next) if out.is_truncated == Some(true) => token = Some(next),
            _ => return keys,
        }
    }
}

/// Checks every invariant over what `store`'s table and `files`' bucket hold (read directly
/// with their clients, which must reach moto without faults).
pub async fn check(store: &artforge_dynamo::DynamoStore, files: &artforge_s3::S3Files) -> Report {
    let items = scan(store.client(), store.table()).await;
    let keys = objects(files.client(), files.bucket()).await;
    check_items(&items, &keys)
}

#[derive(Default)]
struct UserBooks {
    credits: Option<i64>,
    sum: i64,
    /// (reason, reference) -> deltas
    entries: BTreeMap<(String, String), Vec<i64>>,
    debt: Option<i64>,
    /// What the purchases' ledger entries moved.
    purchase_moved: i64,
}

/// Checks the table's invariants only, for a function with no bucket (billing).
pub async fn check_table(store: &artforge_dynamo::DynamoStore) -> Report {
    check_items(&scan(store.client(), store.table()).await, &[])
}

/// The checks of [`check`], over a scanned table and a bucket listing.
pub fn check_items(items: &[Item], objects: &[String]) -> Report {
    let mut report = Report {
        objects: objects.len(),
        ..Report::default()
    };
    let mut books: BTreeMap<String, UserBooks> = BTreeMap::new();
    let mut jobs = Vec::new();
    let mut purchases = Vec::new();
    let mut images = Vec::new();
    let mut like_counts: HashMap<String, i64> = HashMap::new();
    for item in items {
        let (Some(pk), Some(sk)) = (s(item, "pk"), s(item, "sk")) else {
            report.violation(format!("an item without pk/sk: {item:?}"));
            continue;
        };
        let Some(user) = pk.strip_prefix("USER#") else {
            continue;
        };
        let user_books = books.entry(user.to_owned()).or_default();
        if sk == "PROFILE" {
            user_books.credits = n(item, "credits");
            // Profiles written before debts existed have none.
            user_books.debt = Some(n(item, "debt").unwrap_or(0));
        } else if sk.starts_with("LEDGER#") {
            report.ledger_entries += 1;
            let delta = n(item, "delta").unwrap_or_else(|| {
                report
                    .violations
                    .push(Violation(format!("{user}: ledger entry {sk} has no delta")));
                0
            });
            user_books.sum += delta;
            if n(item, "balanceAfter").is_none_or(|b| b < 0) {
                report.violation(format!(
                    "{user}: ledger entry {sk} has a negative or missing balanceAfter"
                ));
            }
            let reason = s(item, "reason").unwrap_or_default().to_owned();
            let reference = s(item, "reference").unwrap_or_default().to_owned();
            if reason.starts_with("purchase") {
                user_books.purchase_moved += delta;
            }
            user_books
                .entries
                .entry((reason, reference))
                .or_default()
                .push(delta);
        } else if sk.starts_with("JOB#") {
            jobs.push((user.to_owned(), item));
        } else if sk.starts_with("PURCHASE#") {
            purchases.push((user.to_owned(), item));
        } else if sk.starts_with("IMAGE#") {
            images.push((user.to_owned(), item));
        } else if let Some(image) = sk.strip_prefix("LIKE#") {
            report.likes += 1;
            *like_counts.entry(image.to_owned()).or_default() += 1;
        }
    }

    for (user, user_books) in &books {
        let Some(credits) = user_books.credits else {
            if !user_books.entries.is_empty() {
                report.violation(format!("{user}: ledger entries but no profile"));
            }
            continue;
        };
        report.users += 1;
        if credits < 0 {
            report.violation(format!("{user}: balance {credits} is negative"));
        }
        if credits != user_books.sum {
            report.violation(format!(
                "{user}: balance {credits} != sum of the ledger {}",
                user_books.sum
            ));
        }
    }

    let no_entries = Vec::new();
    for (user, job) in &jobs {
        report.jobs += 1;
        let id = s(job, "sk")
            .and_then(|sk| sk.strip_prefix("JOB#"))
            .unwrap_or_default();
        let status = s(job, "status").unwrap_or_default();
        let unit = n(job, "unitPrice").unwrap_or(-1);
        let count = n(job, "count").unwrap_or(-1);
        let cost = unit * count;
        let delivered = i64::try_from(list(job, "images").len()).unwrap_or(i64::MAX);
        let recorded_refund = n(job, "refunded").unwrap_or(-1);
        let user_books = books.get(user.as_str());
        let entries = |reason: &str| {
            user_books
                .and_then(|b| b.entries.get(&(reason.to_owned(), id.to_owned())))
                .unwrap_or(&no_entries)
        };
        let debits = entries("generation");
        if debits.as_slice() != [-cost] {
            report.violation(format!(
                "{user}: job {id} costs {cost} but its debits are {debits:?}"
            ));
        }
        let refunds = entries("generation_refund");
        report.refunds += refunds.len();
        let owed = match status {
            "succeeded" => unit * (count - delivered),
            "failed" => {
                report.failed_jobs += 1;
                cost
            }
            other => {
                report.violation(format!(
                    "{user}: job {id} is still {other:?}: its debit is neither used nor refunded"
                ));
                continue;
            }
        };
        if status == "failed" && delivered > 0 {
            report.violation(format!("{user}: failed job {id} lists {delivered} images"));
        }
        let expected: &[i64] = if owed > 0 { &[owed] } else { &[] };
        if refunds.as_slice() != expected || recorded_refund != owed {
            report.violation(format!(
                "{user}: {status} job {id} ({delivered} of {count} images) owes a refund of {owed} once; ledger refunds {refunds:?}, job says {recorded_refund}"
            ));
        }
    }

    let mut credited: HashMap<&str, i64> = HashMap::new();
    for (user, purchase) in &purchases {
        report.purchases += 1;
        let session = s(purchase, "sk")
            .and_then(|sk| sk.strip_prefix("PURCHASE#"))
            .unwrap_or_default();
        let status = s(purchase, "status").unwrap_or_default();
        let credits = n(purchase, "credits").unwrap_or(-1);
        let worth = n(purchase, "credited").unwrap_or(0);
        let moved = books.get(user.as_str()).map_or(0, |b| {
            b.entries
                .iter()
                .filter(|((reason, reference), _)| {
                    reason.starts_with("purchase") && reference == session
                })
                .count()
        });
        let consistent = match status {
            "pending" | "failed" => worth == 0 && moved == 0,
            "paid" => worth == credits,
            "refunded" | "disputed" => (0..=credits).contains(&worth),
            _ => false,
        };
        if !consistent {
            report.violation(format!(
                "{user}: {status} purchase {session} of {credits} credits is worth {worth} after {moved} ledger entries"
            ));
        }
        *credited.entry(user.as_str()).or_default() += worth;
    }
    for (user, user_books) in &books {
        let Some(debt) = user_books.debt else {
            continue;
        };
        let worth = credited.get(user.as_str()).copied().unwrap_or(0);
        if debt < 0 || debt != user_books.purchase_moved - worth {
            report.violation(format!(
                "{user}: a debt of {debt}, but the purchases are worth {worth} and their ledger entries moved {}",
                user_books.purchase_moved
            ));
        }
    }

    let present: HashSet<&str> = objects.iter().map(String::as_str).collect();
    let mut owned: HashSet<String> = HashSet::new();
    for (user, image) in &images {
        let id = s(image, "sk")
            .and_then(|sk| sk.strip_prefix("IMAGE#"))
            .unwrap_or_default();
        let (Ok(owner), Ok(image_id)) = (user.parse::<UserId>(), id.parse()) else {
            report.violation(format!("{user}: image item {id} has a malformed key"));
            continue;
        };
        let Some(preset) = s(image, "preset").and_then(|p| Preset::parse(p, "preset").ok()) else {
            report.violation(format!("{user}: image {id} has no preset"));
            continue;
        };
        let format = |name| s(image, name).and_then(|f| f.parse::<ImageFormat>().ok());
        let (Some(original), Some(variant)) = (format("originalExt"), format("variantExt")) else {
            report.violation(format!("{user}: image {id} has no known formats"));
            continue;
        };
        let keys = [
            object_key(owner, image_id, preset, Variant::Original, original),
            object_key(owner, image_id, preset, Variant::Preset, variant),
            object_key(owner, image_id, preset, Variant::Thumbnail, variant),
        ];
        let retired = image.contains_key("retiredAt");
        if retired {
            report.retired_images += 1;
        } else {
            report.images += 1;
            for key in &keys {
                if !present.contains(key.as_str()) {
                    report.violation(format!("{user}: image {id} points at missing {key}"));
                }
            }
            let likes = n(image, "likes").unwrap_or(-1);
            let liked_by = like_counts.get(id).copied().unwrap_or(0);
            if likes != liked_by {
                report.violation(format!(
                    "{user}: image {id} counts {likes} likes but {liked_by} like items point at it"
                ));
            }
        }
        owned.extend(keys);
    }
    for key in objects {
        if !owned.contains(key) {
            report.violation(format!("object {key} belongs to no image"));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(fields: &[(&str, AttributeValue)]) -> Item {
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    const PK: &str = "USER#01ARZ3NDEKTSV4RRFFQ69G5FAV";

    /// A user who bought 50 credits, spent 45, and had the purchase disputed: 5 taken back,
    /// 45 owed.
    fn books(credits: i64, debt: i64, entries: &[(i64, &str)]) -> Vec<Item> {
        let mut items = vec![
            item(&[
                ("pk", s(PK)),
                ("sk", s("PROFILE")),
                ("credits", n(credits)),
                ("debt", n(debt)),
            ]),
            item(&[
                ("pk", s(PK)),
                ("sk", s("PURCHASE#cs_1")),
                ("status", s("disputed")),
                ("credits", n(50)),
                ("credited", n(0)),
            ]),
        ];
        for (i, (delta, reason)) in entries.iter().enumerate() {
            let reference = if reason.starts_with("purchase") {
                "cs_1"
            } else {
                "job"
            };
            items.push(item(&[
                ("pk", s(PK)),
                ("sk", s(&format!("LEDGER#{i}"))),
                ("delta", n(*delta)),
                ("reason", s(reason)),
                ("reference", s(reference)),
                ("balanceAfter", n(0)),
            ]));
        }
        items
    }

    #[test]
    fn a_debt_must_be_what_the_purchases_are_worth_less_what_they_moved() {
        let right = books(
            0,
            45,
            &[
                (50, "purchase"),
                (-45, "generation"),
                (-5, "purchase_dispute"),
            ],
        );
        assert_eq!(check_items(&right, &[]).violations, vec![]);
        let forgotten = books(
            0,
            0,
            &[
                (50, "purchase"),
                (-45, "generation"),
                (-5, "purchase_dispute"),
            ],
        );
        assert_eq!(
            check_items(&forgotten, &[]).violations.len(),
            1,
            "a debt lost"
        );
        let twice = books(
            5,
            45,
            &[
                (50, "purchase"),
                (-45, "generation"),
                (-5, "purchase_dispute"),
                (5, "purchase"),
            ],
        );
        assert!(
            check_items(&twice, &[])
                .violations
                .iter()
                .any(|v| v.0.contains("debt of 45")),
            "a second grant"
        );
    }
}
