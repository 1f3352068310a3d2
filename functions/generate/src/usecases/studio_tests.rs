//! The studio's rules on fakes (DESIGN §10): backgrounds and formats, custom sizes, real alpha
//! kept end to end, and retired models, each refused before any charge or refunded in full.

use std::io::Cursor;

use artforge_domain::{
    Background, Credits, ImageFormat, Images as _, Job, JobErrorCode, JobStatus, ModelNotice,
    ModelNotices as _, ProviderError, RawGeneration, Variant,
};
use artforge_fakes::{FakeProvider, MemoryFiles, MemoryStore};
use time::OffsetDateTime;

use super::{fixture::Fixture, previews::PreviewPolicy, run::JobRunner, submit::Refusal};

/// A 96x64 PNG whose left half is fully transparent, right half opaque red.
fn transparent_png() -> Vec<u8> {
    let picture = image::RgbaImage::from_fn(96, 64, |x, _| {
        if x < 48 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([220, 30, 30, 255])
        }
    });
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encodes");
    bytes
}

/// A user with 10 credits and a worker whose provider answers [`transparent_png`].
struct Studio {
    fixture: Fixture,
    runner: JobRunner<MemoryStore, FakeProvider, MemoryFiles>,
}

impl std::ops::Deref for Studio {
    type Target = Fixture;

    fn deref(&self) -> &Fixture {
        &self.fixture
    }
}

impl Studio {
    async fn new() -> Self {
        let fixture = Fixture::new(FakeProvider::answering(transparent_png()), 10).await;
        let runner = fixture.runner(PreviewPolicy::default());
        Self { fixture, runner }
    }

    async fn submit(&self, raw: RawGeneration) -> Result<Job, Refusal> {
        self.generations()
            .submit(self.user, raw, None, OffsetDateTime::now_utc())
            .await
            .map(|s| s.job)
    }

    async fn refused_fields(&self, raw: RawGeneration) -> Vec<String> {
        match self.submit(raw).await {
            Err(Refusal::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("refused as invalid, not {other:?}"),
        }
    }

    async fn run(&self, job: &Job) -> Job {
        self.runner.run(self.user, job.id).await;
        self.job(job).await
    }

    /// The decoded file of `variant` of the job's first image, with its content type.
    async fn file(&self, job: &Job, variant: Variant) -> (image::DynamicImage, String, String) {
        let images = self
            .store
            .images_by_id(self.user, &job.images)
            .await
            .expect("read");
        let key = images[0].object_key(variant);
        let (bytes, content_type) = self.files.get(&key).expect("stored");
        let decoded = image::load_from_memory(&bytes).expect("decodes");
        (decoded, content_type, key)
    }
}

fn raw(model: &str, preset: &str) -> RawGeneration {
    RawGeneration {
        prompt: Some("a sticker of a fox".into()),
        model: Some(model.into()),
        preset: Some(preset.into()),
        ..RawGeneration::default()
    }
}

fn custom(width: u64, height: u64) -> RawGeneration {
    RawGeneration {
        width: Some(width),
        height: Some(height),
        ..raw("v2", "custom")
    }
}

fn has_transparent_pixels(picture: &image::DynamicImage) -> bool {
    picture.color().has_alpha() && picture.to_rgba8().pixels().any(|p| p.0[3] < 255)
}

#[tokio::test]
async fn transparent_with_jpeg_is_refused_naming_both_fields_and_charges_nothing() {
    let studio = Studio::new().await;
    let fields = studio
        .refused_fields(RawGeneration {
            background: Some(Background::Transparent),
            format: Some(ImageFormat::Jpeg),
            ..raw("v2", "square")
        })
        .await;
    assert_eq!(fields, ["background", "format"]);
    assert_eq!(studio.balance().await, 10);
    assert!(studio.store.all_jobs().is_empty());
}

#[tokio::test]
async fn a_bad_custom_size_is_refused_naming_the_field_before_any_charge() {
    let studio = Studio::new().await;
    let cases: [(RawGeneration, &[&str]); 6] = [
        (custom(3841, 2000), &["width"]),
        (custom(1000, 255), &["height"]),
        (custom(300, 901), &["width", "height"]),
        (
            RawGeneration {
                height: None,
                ..custom(800, 800)
            },
            &["height"],
        ),
        (
            RawGeneration {
                width: Some(800),
                height: Some(800),
                ..raw("v2", "square")
            },
            &["width", "height"],
        ),
        (custom(u64::MAX, 1000), &["width"]),
    ];
    for (raw, expected) in cases {
        assert_eq!(studio.refused_fields(raw).await, expected);
    }
    assert_eq!(studio.balance().await, 10);
    assert!(studio.store.all_jobs().is_empty());
    assert!(studio.provider.requests().is_empty());
}

#[tokio::test]
async fn a_custom_size_makes_exactly_its_pixels_from_the_same_aspect_in_multiples_of_16() {
    let studio = Studio::new().await;
    let job = studio.submit(custom(1000, 777)).await.expect("accepted");
    assert_eq!(
        (job.request.output.width, job.request.output.height),
        (1000, 777)
    );
    let done = studio.run(&job).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(studio.provider.requests()[0].size, "1024x800");
    let (sized, content_type, key) = studio.file(&done, Variant::Preset).await;
    assert_eq!((sized.width(), sized.height()), (1000, 777));
    assert_eq!(content_type, "image/jpeg");
    assert!(key.ends_with("/custom.jpeg"), "{key}");
    let images = studio
        .store
        .images_by_id(studio.user, &done.images)
        .await
        .expect("read");
    assert_eq!((images[0].width, images[0].height), (1000, 777));
}

#[tokio::test]
async fn a_transparent_job_keeps_real_alpha_in_the_original_the_sized_image_and_the_thumbnail() {
    let studio = Studio::new().await;
    let job = studio
        .submit(RawGeneration {
            background: Some(Background::Transparent),
            format: Some(ImageFormat::Png),
            ..raw("v2", "square")
        })
        .await
        .expect("accepted");
    let done = studio.run(&job).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{:?}", done.error);
    let asked = &studio.provider.requests()[0];
    assert_eq!(
        (asked.background, asked.output_format),
        (Background::Transparent, ImageFormat::Png)
    );
    for variant in Variant::ALL {
        let (picture, content_type, key) = studio.file(&done, *variant).await;
        assert!(has_transparent_pixels(&picture), "{variant}: real alpha");
        assert_eq!(content_type, "image/png", "{variant}");
        assert!(key.ends_with(".png"), "{key}");
    }
    let images = studio
        .store
        .images_by_id(studio.user, &done.images)
        .await
        .expect("read");
    assert_eq!(images[0].background, Background::Transparent);
    assert_eq!(images[0].variant_format, ImageFormat::Png);
}

#[tokio::test]
async fn a_transparent_webp_job_stores_webp_renditions_with_alpha() {
    let studio = Studio::new().await;
    let job = studio
        .submit(RawGeneration {
            background: Some(Background::Transparent),
            ..raw("v2", "portrait")
        })
        .await
        .expect("accepted: the default format with alpha");
    assert_eq!(job.request.output.format, ImageFormat::Webp);
    let done = studio.run(&job).await;
    assert_eq!(
        studio.provider.requests()[0].output_format,
        ImageFormat::Webp
    );
    for variant in [Variant::Preset, Variant::Thumbnail] {
        let (picture, content_type, key) = studio.file(&done, variant).await;
        assert_eq!(content_type, "image/webp");
        assert!(key.ends_with(".webp"), "{key}");
        assert!(has_transparent_pixels(&picture), "{variant}");
    }
}

#[tokio::test]
async fn an_opaque_job_flattens_the_providers_transparency_into_a_jpeg_as_before() {
    let studio = Studio::new().await;
    let job = studio.submit(raw("v2", "square")).await.expect("accepted");
    let done = studio.run(&job).await;
    let asked = &studio.provider.requests()[0];
    assert_eq!(
        (asked.background, asked.output_format),
        (Background::Auto, ImageFormat::Png)
    );
    for variant in [Variant::Preset, Variant::Thumbnail] {
        let (picture, content_type, _) = studio.file(&done, variant).await;
        assert_eq!(content_type, "image/jpeg");
        assert!(!picture.color().has_alpha());
    }
}

#[tokio::test]
async fn a_submission_for_a_model_past_its_shutdown_is_refused_naming_the_model_uncharged() {
    let studio = Studio::new().await;
    let today = OffsetDateTime::now_utc();
    studio
        .store
        .record(&ModelNotice {
            model: "gpt-image-2.6-flare".into(),
            shutdown: Some(today.date()),
            listed: true,
            checked_at: today,
        })
        .await
        .expect("recorded");
    let Err(Refusal::Invalid(errors)) = studio.submit(raw("v2", "square")).await else {
        panic!("refused");
    };
    assert_eq!(errors[0].field, "model");
    assert!(
        errors[0].message.contains("retired"),
        "{}",
        errors[0].message
    );
    assert_eq!(studio.balance().await, 10);
    assert!(
        studio.submit(raw("v3", "square")).await.is_ok(),
        "another tier's model still works"
    );
}

#[tokio::test]
async fn a_job_whose_model_the_provider_has_retired_fails_with_a_full_refund_and_says_so() {
    let studio = Studio::new().await;
    let job = studio
        .submit(RawGeneration {
            count: Some(2),
            ..raw("v2", "square")
        })
        .await
        .expect("accepted");
    studio.provider.then(Err(ProviderError::ModelRetired(
        "The model `gpt-image-2.6-flare` has been shut down.".into(),
    )));
    let done = studio.run(&job).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.refunded, Credits::new(2));
    let error = done.error.expect("an error");
    assert_eq!(error.code, JobErrorCode::ModelRetired);
    assert!(
        error.message.contains("choose another model"),
        "{}",
        error.message
    );
    assert_eq!(studio.balance().await, 10);
    assert!(studio.store.books_balance());
}
