//! The billing Lambda: wiring only. Tracing, then the function built once from the
//! environment; the router serves every invocation.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_runtime::logging::init();
    let app = stripe_webhook::App::from_env().await?;
    lambda_http::run(app.router()).await
}
