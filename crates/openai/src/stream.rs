//! Streamed answers (`stream: true` with `partial_images`): server-sent events of partial
//! images, then the final image. One streamed request makes one image (its `completed` event
//! carries no image index), so the adapter streams a job's first image alone.
//!
//! The piece is shared by every images endpoint that streams: [`Event`] is what a generation's
//! (`image_generation.*`) and an edit's (`image_edit.*`) events have in common, [`follow`]
//! reads any such stream to its final image, handing each partial image on as it arrives, and
//! [`refuses_streaming`] tells a model that does not stream (asked again without) from any
//! other failure.

use artforge_domain::{PartialImage, Partials, ProviderError};
use async_openai::{
    error::OpenAIError,
    types::images::{ImageEditStreamEvent, ImageGenStreamEvent},
};
use base64::Engine;
use futures::{Stream, StreamExt};

use crate::{
    classify::{Failure, classify},
    transport::HttpFailure,
};

/// One event of a streamed image answer, whichever endpoint sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Partial { index: u8, b64_json: String },
    Completed { b64_json: String },
}

impl From<ImageGenStreamEvent> for Event {
    fn from(event: ImageGenStreamEvent) -> Self {
        match event {
            ImageGenStreamEvent::PartialImage(p) => Self::Partial {
                index: p.partial_image_index,
                b64_json: p.b64_json,
            },
            ImageGenStreamEvent::Completed(c) => Self::Completed {
                b64_json: c.b64_json,
            },
        }
    }
}

impl From<ImageEditStreamEvent> for Event {
    fn from(event: ImageEditStreamEvent) -> Self {
        match event {
            ImageEditStreamEvent::PartialImage(p) => Self::Partial {
                index: p.partial_image_index,
                b64_json: p.b64_json,
            },
            ImageEditStreamEvent::Completed(c) => Self::Completed {
                b64_json: c.b64_json,
            },
        }
    }
}

/// How one streamed attempt ended.
#[derive(Debug)]
pub(crate) enum Streamed {
    /// The final image's bytes.
    Image(Vec<u8>),
    /// The provider sent no event at all: it answered something other than an event stream
    /// (a provider that ignores `stream`). Ask again without streaming.
    NotStreamed,
}

/// Reads `events` to the final image, handing each partial image to `partials` as it arrives.
/// A stream cut short (a transport failure, or its end before `completed`) is transient; a
/// final image that is not base64 is [`ProviderError::BadAnswer`]; a partial image that is not
/// is skipped (it is only a preview).
pub(crate) async fn follow<E, S>(events: S, partials: &Partials) -> Result<Streamed, Failure>
where
    E: Into<Event>,
    S: Stream<Item = Result<E, OpenAIError>>,
{
    let mut events = std::pin::pin!(events);
    let mut seen = 0_usize;
    while let Some(event) = events.next().await {
        seen += 1;
        match event.map(Into::into) {
            Ok(Event::Partial { index, b64_json }) => match decode(&b64_json) {
                Ok(bytes) => partials.send(PartialImage { index, bytes }),
                Err(e) => {
                    tracing::warn!(index, error = %e, "a partial image is not base64; skipped")
                }
            },
            Ok(Event::Completed { b64_json }) => {
                return decode(&b64_json).map(Streamed::Image).map_err(|e| {
                    Failure::Final(ProviderError::BadAnswer(format!(
                        "the streamed image is not base64: {e}"
                    )))
                });
            }
            Err(OpenAIError::StreamError(e)) => {
                return Err(Failure::Transient {
                    source: Box::new(OpenAIError::StreamError(e)),
                    retry_after: None,
                });
            }
            Err(e) => return Err(classify(e)),
        }
    }
    if seen == 0 {
        return Ok(Streamed::NotStreamed);
    }
    Err(Failure::Transient {
        source: "the image stream ended before its completed event".into(),
        retry_after: None,
    })
}

/// Whether the provider refused the request because the model does not stream: a 400 naming
/// `stream` or `partial_images` as the parameter at fault.
pub(crate) fn refuses_streaming(error: &OpenAIError) -> bool {
    let OpenAIError::Boxed(boxed) = error else {
        return false;
    };
    boxed.downcast_ref::<HttpFailure>().is_some_and(|failure| {
        failure.status == reqwest::StatusCode::BAD_REQUEST
            && failure
                .error
                .as_ref()
                .and_then(|e| e.param.as_deref())
                .is_some_and(|param| matches!(param, "stream" | "partial_images"))
    })
}

fn decode(b64: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::STANDARD.decode(b64.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_openai::types::images::{ImageGenCompletedEvent, ImageGenPartialImageEvent};

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn partial(index: u8, bytes: &[u8]) -> Result<ImageGenStreamEvent, OpenAIError> {
        Ok(ImageGenStreamEvent::PartialImage(
            ImageGenPartialImageEvent {
                b64_json: b64(bytes),
                partial_image_index: index,
                ..ImageGenPartialImageEvent::default()
            },
        ))
    }

    fn completed(bytes: &[u8]) -> Result<ImageGenStreamEvent, OpenAIError> {
        Ok(ImageGenStreamEvent::Completed(ImageGenCompletedEvent {
            b64_json: b64(bytes),
            ..ImageGenCompletedEvent::default()
        }))
    }

    fn recording(wanted: u8) -> (Partials, Arc<Mutex<Vec<PartialImage>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let partials = Partials::new(wanted, move |p| sink.lock().expect("lock").push(p));
        (partials, seen)
    }

    #[tokio::test]
    async fn partial_images_are_handed_on_in_order_and_the_completed_image_is_the_answer() {
        let (partials, seen) = recording(2);
        let events =
            futures::stream::iter([partial(0, b"p0"), partial(1, b"p1"), completed(b"final")]);
        let answer = follow(events, &partials).await.expect("an image");
        assert!(matches!(answer, Streamed::Image(bytes) if bytes == b"final"));
        let seen = seen.lock().expect("lock");
        assert_eq!(
            seen.iter()
                .map(|p| (p.index, p.bytes.clone()))
                .collect::<Vec<_>>(),
            [(0, b"p0".to_vec()), (1, b"p1".to_vec())]
        );
    }

    #[tokio::test]
    async fn a_stream_cut_short_is_transient_and_an_empty_one_was_not_a_stream() {
        let (partials, _) = recording(2);
        let cut = futures::stream::iter([partial(0, b"p0")]);
        let failure = follow(cut, &partials).await.expect_err("cut short");
        assert!(failure.is_transient(), "{failure:?}");
        let empty = futures::stream::iter(Vec::<Result<ImageGenStreamEvent, OpenAIError>>::new());
        assert!(matches!(
            follow(empty, &partials).await,
            Ok(Streamed::NotStreamed)
        ));
    }

    #[tokio::test]
    async fn a_final_image_that_is_not_base64_is_a_bad_answer_but_a_bad_partial_is_skipped() {
        let (partials, seen) = recording(2);
        let bad_partial = Ok(ImageGenStreamEvent::PartialImage(
            ImageGenPartialImageEvent {
                b64_json: "not base64!".into(),
                ..ImageGenPartialImageEvent::default()
            },
        ));
        let events = futures::stream::iter([bad_partial, completed(b"final")]);
        assert!(matches!(
            follow(events, &partials).await,
            Ok(Streamed::Image(_))
        ));
        assert!(seen.lock().expect("lock").is_empty());
        let bad_final = Ok(ImageGenStreamEvent::Completed(ImageGenCompletedEvent {
            b64_json: "not base64!".into(),
            ..ImageGenCompletedEvent::default()
        }));
        let failure = follow(futures::stream::iter([bad_final]), &partials)
            .await
            .expect_err("a bad final image");
        assert!(
            matches!(failure, Failure::Final(ProviderError::BadAnswer(_))),
            "{failure:?}"
        );
    }

    #[test]
    fn edit_events_read_like_generation_events() {
        use async_openai::types::images::ImageEditPartialImageEvent;
        let event: Event = ImageEditStreamEvent::PartialImage(ImageEditPartialImageEvent {
            b64_json: "eA==".into(),
            partial_image_index: 1,
            ..ImageEditPartialImageEvent::default()
        })
        .into();
        assert_eq!(
            event,
            Event::Partial {
                index: 1,
                b64_json: "eA==".into()
            }
        );
    }
}
