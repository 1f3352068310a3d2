//! The generation API Lambda: wiring only. Tracing, then the API built once from the
//! environment; the router serves every invocation.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_runtime::logging::init();
    let api = generate::Api::from_env().await?;
    lambda_http::run(api.router()).await
}
