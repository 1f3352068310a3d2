//! The auth Lambda: wiring only. Tracing, then the function built once from the environment;
//! the router serves every invocation.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_runtime::logging::init();
    let auth = auth::Auth::from_env().await?;
    lambda_http::run(auth.router()).await
}
