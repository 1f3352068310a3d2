//! The stuck-job sweeper Lambda: wiring only. Tracing and the metrics recorder, then the
//! sweeper built once from the environment; each scheduled event (EventBridge, every few
//! minutes) runs one sweep and one model-lifecycle check and writes their metrics
//! (`SweptJobs`, `ModelsNeedingAttention`, as EMF lines). A sweep that
//! cannot list the stuck jobs fails the invocation, so Lambda's `Errors` metric sees it.

use std::sync::Arc;

use lambda_http::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_runtime::logging::init();
    let metrics = artforge_metrics::init()?;
    let sweeper = Arc::new(generate::JobSweeper::from_env().await?);
    lambda_http::lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let sweeper = sweeper.clone();
        async move {
            let report = sweeper.sweep().await;
            let models = sweeper.check_models().await;
            metrics.flush();
            let report = report?;
            Ok::<_, lambda_http::Error>(serde_json::json!({
                "lookedAt": report.looked_at,
                "resent": report.resent,
                "neverStarted": report.never_started,
                "abandoned": report.abandoned,
                "errors": report.errors,
                "modelsNeedingAttention": models.map(|m| m.needing_attention()),
            }))
        }
    }))
    .await
}
