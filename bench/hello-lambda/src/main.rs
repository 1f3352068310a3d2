//! Hello world on `lambda_http`, the yardstick of `scripts/bench-coldstart`: whatever a real
//! function takes beyond this at init is its own doing.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
