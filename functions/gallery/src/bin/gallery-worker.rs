//! The account worker Lambda: wiring only. Tracing, then the worker built once from the
//! environment; each SQS batch of the account queue (ZIP archives to build, closed accounts to
//! erase again) is handled by [`gallery::AccountWorker::handle`], which reports the messages
//! to deliver again.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::{BoxFuture, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_runtime::logging::init();
    let worker = Arc::new(gallery::AccountWorker::from_env().await?);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = worker.clone();
        let handled: BoxFuture<'static, _> =
            Box::pin(async move { worker.handle(event.payload).await });
        async move { Ok::<_, lambda_http::Error>(handled.await) }
    }))
    .await
}
