//! Live previews through the real adapter (async-openai's `generate_stream`, our transport and
//! retries) against the stand-in's server-sent events.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use artforge_domain::{ImageProvider, PartialImage, Partials};
use artforge_openai::OpenAiProvider;

use crate::provider::{config, png, png_size, request, stand_in};

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

#[tokio::test]
async fn a_streamed_image_hands_on_its_partial_images_as_they_arrive_then_answers_the_final_one() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a forming nebula [fault:slow=300]";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .generate_with_previews(&request(prompt, 1, 1, "1024x1536"), &partials)
        .await
        .expect("the job succeeds");
    let answered = Instant::now();
    let images: Vec<Vec<u8>> = answer
        .into_iter()
        .map(|image| image.expect("the image is there"))
        .collect();
    assert_eq!(images.len(), 1);
    assert_eq!(png_size(&images[0]), (1024, 1536));
    assert_eq!(indices(&seen), [0, 1]);
    let seen = seen.lock().expect("not poisoned");
    for (partial, at) in seen.iter() {
        assert_eq!(png_size(&partial.bytes), (1024, 1536));
        assert_ne!(
            partial.bytes, images[0],
            "a partial image is not the final one"
        );
        assert!(
            answered.duration_since(*at) >= Duration::from_millis(250),
            "partial {} came a pause before the answer",
            partial.index
        );
    }
    assert_eq!(stand_in.calls(prompt), 1);
}

#[tokio::test]
async fn a_job_of_three_streams_its_first_image_and_asks_for_the_other_two_beside_it() {
    let (base, stand_in) = stand_in().await;
    let prompt = "three forming comets";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .generate_with_previews(&request(prompt, 3, 5, "256x256"), &partials)
        .await
        .expect("the job succeeds");
    let images: Vec<Vec<u8>> = answer
        .into_iter()
        .map(|image| image.expect("every image is there"))
        .collect();
    assert_eq!(images.len(), 3);
    assert_ne!(images[1], images[2], "each image is its own picture");
    assert_eq!(indices(&seen), [0, 1]);
    assert_eq!(
        stand_in.calls(prompt),
        2,
        "one streamed request, one for the rest"
    );
}

#[tokio::test]
async fn a_model_that_does_not_stream_yields_its_image_and_no_previews() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a still life [answer:nostream]";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .generate_with_previews(&request(prompt, 1, 1, "256x256"), &partials)
        .await
        .expect("the job succeeds");
    assert_eq!(answer.len(), 1);
    assert!(answer[0].is_ok(), "{answer:?}");
    assert!(indices(&seen).is_empty());
    assert_eq!(
        stand_in.calls(prompt),
        2,
        "refused streamed, then asked plainly"
    );
}

#[tokio::test]
async fn a_streamed_request_is_retried_like_any_other() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a rate-limited aurora [fault:429x1]";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .generate_with_previews(&request(prompt, 1, 1, "256x256"), &partials)
        .await
        .expect("the job succeeds");
    assert!(answer[0].is_ok(), "{answer:?}");
    assert_eq!(indices(&seen), [0, 1]);
    assert_eq!(stand_in.calls(prompt), 2);
}

#[tokio::test]
async fn a_refused_prompt_fails_the_streamed_job_without_previews() {
    let (base, _stand_in) = stand_in().await;
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .generate_with_previews(
            &request("something forbidden [fault:policy]", 1, 1, "256x256"),
            &partials,
        )
        .await;
    assert!(
        matches!(
            answer,
            Err(artforge_domain::ProviderError::ContentPolicy(_))
        ),
        "{answer:?}"
    );
    assert!(indices(&seen).is_empty());
}

/// One source of 512x256 and a mask of its size.
fn edit_files() -> artforge_domain::edit::EditFiles {
    artforge_domain::edit::EditFiles {
        sources: vec![(artforge_domain::ImageFormat::Png, png(512, 256, false))],
        mask: Some(png(512, 256, true)),
    }
}

#[tokio::test]
async fn a_streamed_edit_hands_on_its_partial_images_as_they_arrive_then_answers_the_final_one() {
    let (base, stand_in) = stand_in().await;
    let prompt = "an edit forming [fault:slow=300]";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .edit_with_previews(&request(prompt, 1, 1, "1024x512"), &edit_files(), &partials)
        .await
        .expect("the edit succeeds");
    let answered = Instant::now();
    let images: Vec<Vec<u8>> = answer
        .into_iter()
        .map(|image| image.expect("the image is there"))
        .collect();
    assert_eq!(images.len(), 1);
    assert_eq!(png_size(&images[0]), (1024, 512));
    assert_eq!(indices(&seen), [0, 1]);
    for (partial, at) in seen.lock().expect("not poisoned").iter() {
        assert_eq!(png_size(&partial.bytes), (1024, 512));
        assert_ne!(partial.bytes, images[0], "a partial is not the final one");
        assert!(
            answered.duration_since(*at) >= Duration::from_millis(250),
            "partial {} came a pause before the answer",
            partial.index
        );
    }
    let edits = stand_in.edits(prompt);
    assert_eq!(edits.len(), 1, "one streamed edit");
    assert_eq!(edits[0].images, [(512, 256)]);
    assert_eq!(edits[0].mask, Some((512, 256)), "the mask went with it");
}

#[tokio::test]
async fn an_edit_of_three_streams_its_first_image_and_asks_for_the_other_two_beside_it() {
    let (base, stand_in) = stand_in().await;
    let prompt = "three edited comets";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .edit_with_previews(&request(prompt, 3, 5, "256x256"), &edit_files(), &partials)
        .await
        .expect("the edit succeeds");
    assert_eq!(answer.len(), 3);
    assert!(answer.iter().all(Result::is_ok), "{answer:?}");
    assert_eq!(indices(&seen), [0, 1]);
    assert_eq!(
        stand_in.edits(prompt).len(),
        2,
        "one streamed, one for the rest"
    );
}

#[tokio::test]
async fn a_model_that_does_not_stream_edits_its_image_and_yields_no_previews() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a still edit [answer:nostream]";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .edit_with_previews(&request(prompt, 1, 1, "256x256"), &edit_files(), &partials)
        .await
        .expect("the edit succeeds");
    assert_eq!(answer.len(), 1);
    assert!(answer[0].is_ok(), "{answer:?}");
    assert!(indices(&seen).is_empty());
    assert_eq!(
        stand_in.calls(prompt),
        2,
        "refused streamed, then asked plainly"
    );
    assert_eq!(stand_in.edits(prompt).len(), 2, "both as edits");
}

#[tokio::test]
async fn a_streamed_edit_is_retried_like_any_other() {
    let (base, stand_in) = stand_in().await;
    let prompt = "a rate-limited edit [fault:429x1]";
    let provider = OpenAiProvider::new(config(&base));
    let (partials, seen) = recording(2);
    let answer = provider
        .edit_with_previews(&request(prompt, 1, 1, "256x256"), &edit_files(), &partials)
        .await
        .expect("the edit succeeds");
    assert!(answer[0].is_ok(), "{answer:?}");
    assert_eq!(indices(&seen), [0, 1]);
    assert_eq!(stand_in.calls(prompt), 2);
}
