//! Live previews through the real adapter (async-openai's `generate_stream` and `edit_stream`,
//! our transport and retries) against the stand-in's server-sent events: each rule is checked
//! on both endpoints.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use artforge_domain::{ImageProvider, PartialImage, Partials, ProviderError, edit::EditFiles};
use artforge_openai::OpenAiProvider;

use crate::provider::{config, png, png_size, request, stand_in};

type Answer = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>;

/// Partial images as they arrived, with when.
type Seen = Arc<Mutex<Vec<(PartialImage, Instant)>>>;

fn recording(wanted: u8) -> (Partials, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let partials = Partials::new(wanted, move |partial| {
        sink.lock()
            .expect("not poisoned")
            .push((partial, Instant::now()));
    });
    (partials, seen)
}

fn indices(seen: &Seen) -> Vec<u8> {
    seen.lock()
        .expect("not poisoned")
        .iter()
        .map(|(p, _)| p.index)
        .collect()
}

/// Which images endpoint a job streams from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Generations,
    Edits,
}

const BOTH: [Endpoint; 2] = [Endpoint::Generations, Endpoint::Edits];

impl Endpoint {
    /// `prompt`, told apart per endpoint (the stand-in counts calls per prompt).
    fn prompt(self, prompt: &str) -> String {
        format!("{prompt} ({self:?})")
    }

    /// The job, with previews, as the worker asks for it: an edit of one source of 512x256
    /// under a mask of its size.
    async fn ask(
        self,
        provider: &OpenAiProvider,
        prompt: &str,
        count: u8,
        per_request: u8,
        size: &str,
        partials: &Partials,
    ) -> Answer {
        let request = request(prompt, count, per_request, size);
        match self {
            Self::Generations => provider.generate_with_previews(&request, partials).await,
            Self::Edits => {
                let files = EditFiles {
                    sources: vec![(artforge_domain::ImageFormat::Png, png(512, 256, false))],
                    mask: Some(png(512, 256, true)),
                };
                provider
                    .edit_with_previews(&request, &files, partials)
                    .await
            }
        }
    }
}

#[tokio::test]
async fn a_streamed_image_hands_on_its_partial_images_as_they_arrive_then_answers_the_final_one() {
    let (base, stand_in) = stand_in().await;
    let provider = OpenAiProvider::new(config(&base));
    for endpoint in BOTH {
        let prompt = endpoint.prompt("a forming nebula [fault:slow=300]");
        let (partials, seen) = recording(2);
        let answer = endpoint
            .ask(&provider, &prompt, 1, 1, "1024x1536", &partials)
            .await
            .expect("the job succeeds");
        let answered = Instant::now();
        let images: Vec<Vec<u8>> = answer
            .into_iter()
            .map(|image| image.expect("the image is there"))
            .collect();
        assert_eq!(images.len(), 1);
        assert_eq!(png_size(&images[0]), (1024, 1536));
        assert_eq!(indices(&seen), [0, 1], "{endpoint:?}");
        let seen = seen.lock().expect("not poisoned");
        for (partial, at) in seen.iter() {
            assert_eq!(png_size(&partial.bytes), (1024, 1536));
            assert_ne!(
                partial.bytes, images[0],
                "a partial image is not the final one"
            );
            assert!(
                answered.duration_since(*at) >= Duration::from_millis(250),
                "{endpoint:?}: partial {} came a pause before the answer",
                partial.index
            );
        }
        assert_eq!(stand_in.calls(&prompt), 1);
    }
    // Each test has its own stand-in: its only edits are this test's.
    let edits = stand_in.edits("(Edits)");
    assert_eq!(edits.len(), 1, "the edit was streamed as an edit");
    assert_eq!(edits[0].images, [(512, 256)]);
    assert_eq!(edits[0].mask, Some((512, 256)), "with its mask");
}

#[tokio::test]
async fn a_job_of_three_streams_its_first_image_and_asks_for_the_other_two_beside_it() {
    let (base, stand_in) = stand_in().await;
    let provider = OpenAiProvider::new(config(&base));
    for endpoint in BOTH {
        let prompt = endpoint.prompt("three forming comets");
        let (partials, seen) = recording(2);
        let answer = endpoint
            .ask(&provider, &prompt, 3, 5, "256x256", &partials)
            .await
            .expect("the job succeeds");
        let images: Vec<Vec<u8>> = answer
            .into_iter()
            .map(|image| image.expect("every image is there"))
            .collect();
        assert_eq!(images.len(), 3);
        assert_ne!(images[1], images[2], "each image is its own picture");
        assert_eq!(indices(&seen), [0, 1], "{endpoint:?}");
        assert_eq!(
            stand_in.calls(&prompt),
            2,
            "{endpoint:?}: one streamed request, one for the rest"
        );
    }
}

#[tokio::test]
async fn a_model_that_does_not_stream_yields_its_image_and_no_previews() {
    let (base, stand_in) = stand_in().await;
    let provider = OpenAiProvider::new(config(&base));
    for endpoint in BOTH {
        let prompt = endpoint.prompt("a still life [answer:nostream]");
        let (partials, seen) = recording(2);
        let answer = endpoint
            .ask(&provider, &prompt, 1, 1, "256x256", &partials)
            .await
            .expect("the job succeeds");
        assert_eq!(answer.len(), 1);
        assert!(answer[0].is_ok(), "{endpoint:?}: {answer:?}");
        assert!(indices(&seen).is_empty());
        assert_eq!(
            stand_in.calls(&prompt),
            2,
            "{endpoint:?}: refused streamed, then asked plainly"
        );
    }
    assert_eq!(
        stand_in.edits("(Edits)").len(),
        2,
        "an edit is asked again as an edit"
    );
}

#[tokio::test]
async fn a_streamed_request_is_retried_like_any_other() {
    let (base, stand_in) = stand_in().await;
    let provider = OpenAiProvider::new(config(&base));
    for endpoint in BOTH {
        let prompt = endpoint.prompt("a rate-limited aurora [fault:429x1]");
        let (partials, seen) = recording(2);
        let answer = endpoint
            .ask(&provider, &prompt, 1, 1, "256x256", &partials)
            .await
            .expect("the job succeeds");
        assert!(answer[0].is_ok(), "{endpoint:?}: {answer:?}");
        assert_eq!(indices(&seen), [0, 1]);
        assert_eq!(stand_in.calls(&prompt), 2);
    }
}

#[tokio::test]
async fn a_refused_prompt_fails_the_streamed_job_without_previews() {
    let (base, _stand_in) = stand_in().await;
    let provider = OpenAiProvider::new(config(&base));
    for endpoint in BOTH {
        let prompt = endpoint.prompt("something forbidden [fault:policy]");
        let (partials, seen) = recording(2);
        let answer = endpoint
            .ask(&provider, &prompt, 1, 1, "256x256", &partials)
            .await;
        assert!(
            matches!(answer, Err(ProviderError::ContentPolicy(_))),
            "{endpoint:?}: {answer:?}"
        );
        assert!(indices(&seen).is_empty());
    }
}
