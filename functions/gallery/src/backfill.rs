//! The one-off search backfill (ADR 0140): images written before search have no `words` and
//! no index entries, so no search finds them. [`SearchBackfill`] walks the table's images a
//! page at a time ([`UnindexedImages`]) and re-files each one that lacks its words through
//! [`Images::update`] with its own tags: the write every tag change makes, so the words and
//! the feed's entries are computed the one way they always are. Images already indexed are not
//! read back from the walk, so a second run changes nothing; a run stopped anywhere resumes
//! from the last position it reported (a page done twice is harmless). Bin `search-backfill`
//! runs it; docs/operations.md says how.

use artforge_domain::{Images, StoreError, UnindexedImages};
use tracing::{info, warn};

/// Items read per page when not told otherwise.
pub const DEFAULT_BATCH: usize = 100;
/// The most items a page may read.
pub const MAX_BATCH: usize = 1000;

/// The backfill over a store.
#[derive(Debug, Clone)]
pub struct SearchBackfill<S> {
    pub images: S,
    /// Items read per page (1 to [`MAX_BATCH`]); at most as many images re-filed per page.
    pub batch: usize,
}

/// What one page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Images re-filed (given their words, and their entries when public).
    pub refiled: usize,
    /// Images deleted between the walk and their re-filing.
    pub gone: usize,
    /// Where the walk goes on; `None` when it is over.
    pub next: Option<String>,
}

/// What a whole run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub batches: usize,
    pub refiled: usize,
    pub gone: usize,
}

/// A run that stopped on a store failure: run it again from `resume`.
#[derive(Debug, thiserror::Error)]
#[error("the backfill stopped; run it again from {}", resume.as_deref().unwrap_or("the start"))]
pub struct Stopped {
    /// The position the failed page started from (`None`: the start).
    pub resume: Option<String>,
    #[source]
    pub cause: StoreError,
}

impl SearchBackfill<artforge_dynamo::DynamoStore> {
    /// The backfill over the table `config` names, through `aws`: the one wiring of the bin
    /// and the tests.
    pub fn build(config: &crate::BackfillConfig, aws: &artforge_aws::SdkConfig) -> Self {
        Self {
            images: artforge_dynamo::DynamoStore::new(
                aws_sdk_dynamodb::Client::new(aws),
                config.table_name.as_str(),
            ),
            batch: config.batch,
        }
    }
}

impl<S: Images + UnindexedImages> SearchBackfill<S> {
    /// One page from `after`: each image without words re-filed with its own tags.
    pub async fn batch(&self, after: Option<&str>) -> Result<Batch, StoreError> {
        let page = self
            .images
            .unindexed_images(after, self.batch.clamp(1, MAX_BATCH))
            .await?;
        let mut done = Batch {
            next: page.next,
            ..Batch::default()
        };
        for image in page.items {
            match self
                .images
                .update(image.owner, image.id, Some(&image.tags), None)
                .await
            {
                Ok(_) => done.refiled += 1,
                Err(StoreError::NotFound) => {
                    info!(image_id = %image.id, "deleted meanwhile; nothing to index");
                    done.gone += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Every page from `after` to the end of the walk, `report`ed as each is done (its `next`
    /// is where a later run resumes).
    pub async fn run(
        &self,
        after: Option<String>,
        mut report: impl FnMut(&Batch),
    ) -> Result<Totals, Stopped> {
        let mut totals = Totals::default();
        let mut at = after;
        loop {
            let done = match self.batch(at.as_deref()).await {
                Ok(done) => done,
                Err(cause) => {
                    warn!(error = %cause, resume = ?at, "the backfill stopped");
                    return Err(Stopped { resume: at, cause });
                }
            };
            totals.batches += 1;
            totals.refiled += done.refiled;
            totals.gone += done.gone;
            report(&done);
            match done.next {
                Some(next) => at = Some(next),
                None => return Ok(totals),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::{Image, ImageFilter, PageRequest, Preset, Search, UserId, Visibility};
    use artforge_fakes::{MemoryStore, contract};

    use super::*;

    fn search(q: &str) -> Search {
        Search::parse(q, "q").expect("a query")
    }

    fn first_page() -> PageRequest {
        PageRequest {
            limit: 50,
            after: None,
        }
    }

    /// An image of `owner` with this prompt; written before search unless `indexed`.
    async fn image(
        store: &MemoryStore,
        owner: UserId,
        prompt: &str,
        public: bool,
        indexed: bool,
    ) -> Image {
        let mut made = contract::image(owner, Preset::Square, &["harbour"]);
        made.prompt = prompt.into();
        if public {
            made.visibility = Visibility::Public;
        }
        store.add(&made).await.expect("added");
        if !indexed {
            store.unindex(owner, made.id);
        }
        made
    }

    async fn history(store: &MemoryStore, owner: UserId, q: &str) -> Vec<String> {
        let filter = ImageFilter {
            search: Some(search(q)),
            ..ImageFilter::default()
        };
        let page = store
            .images(owner, &filter, first_page())
            .await
            .expect("listed");
        let mut prompts: Vec<String> = page.items.into_iter().map(|i| i.prompt).collect();
        prompts.sort();
        prompts
    }

    async fn feed(store: &MemoryStore, q: &str) -> Vec<String> {
        let page = store
            .search_feed(&search(q), first_page())
            .await
            .expect("listed");
        let mut prompts: Vec<String> = page.items.into_iter().map(|i| i.prompt).collect();
        prompts.sort();
        prompts
    }

    fn backfill(store: &MemoryStore, batch: usize) -> SearchBackfill<MemoryStore> {
        SearchBackfill {
            images: store.clone(),
            batch,
        }
    }

    #[tokio::test]
    async fn images_written_before_search_become_findable_in_the_history_and_public_ones_in_the_feed()
     {
        let store = MemoryStore::new();
        let ada = contract::account(&store, 0).await;
        image(&store, ada, "a red fox, private", false, false).await;
        image(&store, ada, "a red fox, public", true, false).await;
        image(&store, ada, "a red fox, indexed", true, true).await;
        assert_eq!(history(&store, ada, "fox").await, ["a red fox, indexed"]);
        assert_eq!(feed(&store, "fox").await, ["a red fox, indexed"]);

        let totals = backfill(&store, 2)
            .run(None, |_| {})
            .await
            .expect("the backfill ran");
        assert_eq!((totals.refiled, totals.gone), (2, 0));
        assert_eq!(
            history(&store, ada, "fox").await,
            [
                "a red fox, indexed",
                "a red fox, private",
                "a red fox, public"
            ]
        );
        assert_eq!(
            feed(&store, "harb").await,
            ["a red fox, indexed", "a red fox, public"],
            "tags are filed too"
        );
    }

    #[tokio::test]
    async fn images_already_indexed_are_untouched_and_a_second_run_changes_nothing() {
        let store = MemoryStore::new();
        let ada = contract::account(&store, 0).await;
        let grace = contract::account(&store, 0).await;
        for i in 0..3 {
            image(&store, ada, &format!("indexed {i}"), i % 2 == 0, true).await;
        }
        let old = image(&store, grace, "an old comet", true, false).await;
        let first = backfill(&store, 2).run(None, |_| {}).await.expect("ran");
        assert_eq!(first.refiled, 1);
        assert_eq!(
            store.faults.calls("update"),
            1,
            "only the image without words is written"
        );
        let kept = store.image(grace, old.id).await.expect("read");
        assert_eq!(kept, Some(old), "re-filed with its own tags and visibility");

        let second = backfill(&store, 2).run(None, |_| {}).await.expect("ran");
        assert_eq!(second.refiled, 0);
        assert_eq!(store.faults.calls("update"), 1, "nothing written again");
    }

    #[tokio::test]
    async fn a_stopped_run_reports_where_to_resume_and_a_run_from_there_finishes_the_walk() {
        let store = MemoryStore::new();
        let ada = contract::account(&store, 0).await;
        for i in 0..5 {
            image(&store, ada, &format!("an old lighthouse {i}"), false, false).await;
        }
        // The third image's write fails: the second page stops.
        store.faults.fail_after("update", 2, 1);
        let mut reported = Vec::new();
        let stopped = backfill(&store, 2)
            .run(None, |batch| reported.push(batch.clone()))
            .await
            .expect_err("stopped");
        assert_eq!(reported.len(), 1, "the first page was done");
        assert_eq!(reported[0].refiled, 2);
        assert_eq!(
            stopped.resume, reported[0].next,
            "resumed where the last page done left off"
        );
        assert_eq!(history(&store, ada, "lighthouse").await.len(), 2);

        let mut pages = 0;
        let resumed = backfill(&store, 2)
            .run(stopped.resume.clone(), |_| pages += 1)
            .await
            .expect("finished");
        assert_eq!(resumed.refiled, 3, "the rest, none twice");
        assert_eq!(pages, 2);
        assert_eq!(history(&store, ada, "lighthouse").await.len(), 5);
    }

    #[tokio::test]
    async fn a_position_the_store_never_answered_is_refused() {
        let store = MemoryStore::new();
        let refused = backfill(&store, 10).batch(Some("nonsense")).await;
        assert!(
            matches!(refused, Err(StoreError::BadPosition)),
            "{refused:?}"
        );
    }

    #[test]
    fn the_batch_size_is_read_from_the_environment_and_bounded() {
        use std::collections::HashMap;
        let env = |batch: &str| {
            artforge_runtime::Env::with_defaults(HashMap::from([
                ("TABLE_NAME", "artforge".to_owned()),
                ("BACKFILL_BATCH", batch.to_owned()),
                ("BACKFILL_AFTER", " ".to_owned()),
            ]))
        };
        let config = crate::BackfillConfig::from_env(&env("250")).expect("valid");
        assert_eq!((config.batch, config.after), (250, None));
        for bad in ["0", "1001", "many"] {
            assert!(crate::BackfillConfig::from_env(&env(bad)).is_err(), "{bad}");
        }
    }
}
