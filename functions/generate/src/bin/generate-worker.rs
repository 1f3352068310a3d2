//! The generation worker Lambda: wiring only. Tracing and the metrics recorder, then the
//! worker built once from the environment; each SQS batch (of one) is handled by
//! [`generate::Worker::handle`], which reports the messages to deliver again, and the metrics it
//! recorded are written (as EMF lines) after it.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::{BoxFuture, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    artforge_runtime::logging::init();
    let metrics = artforge_metrics::init()?;
    let worker = Arc::new(generate::Worker::from_env().await?);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = worker.clone();
        // Boxed: the handler's future is deep, and its type need not be part of the runtime's.
        let handled: BoxFuture<'static, _> =
            Box::pin(async move { worker.handle(event.payload).await });
        async move {
            let response = handled.await;
            metrics.flush();
            Ok::<_, lambda_http::Error>(response)
        }
    }))
    .await
}
