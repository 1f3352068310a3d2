//! The gallery Lambda: wiring only. Tracing, then the function built once from the
//! environment; the router serves every invocation, and the metrics it recorded (archives
//! refused by the paid limits) are written (as EMF lines) when it has answered.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_runtime::logging::init();
    let metrics = artforge_metrics::init()?;
    let app = gallery::App::from_env().await?;
    let router = app
        .router()
        .layer(axum::middleware::map_response(move |answer| async move {
            metrics.flush();
            answer
        }));
    lambda_http::run(router).await
}
