//! The one-off search backfill (ADR 0140), run by an operator: wiring only. Configuration from
//! the environment (`TABLE_NAME`, `BACKFILL_AFTER`, `BACKFILL_BATCH`, the AWS SDK's own), then
//! [`gallery::backfill::SearchBackfill::run`]; one line per page on stdout with where to resume,
//! logs on stderr. docs/operations.md says when and how.

use gallery::{BackfillConfig, backfill::SearchBackfill};

#[tokio::main]
async fn main() -> Result<(), gallery::Error> {
    // Logs to stderr (level from `RUST_LOG`), so stdout holds the progress lines alone.
    let level = std::env::var("RUST_LOG").ok();
    tracing::subscriber::set_global_default(artforge_runtime::logging::subscriber(
        false,
        level.as_deref(),
        std::io::stderr,
    ))?;
    let config = BackfillConfig::from_env(&artforge_runtime::Env::process())?;
    let aws = artforge_aws::load_from_env()?;
    let backfill = SearchBackfill::build(&config, &aws);
    let totals = backfill
        .run(config.after.clone(), |batch| {
            println!(
                "refiled={} gone={} next={}",
                batch.refiled,
                batch.gone,
                batch.next.as_deref().unwrap_or("done")
            );
        })
        .await?;
    println!(
        "done: batches={} refiled={} gone={}",
        totals.batches, totals.refiled, totals.gone
    );
    Ok(())
}
