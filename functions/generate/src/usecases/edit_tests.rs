//! The rules of edits, uploads and remixes (DESIGN §10) on in-memory fakes: what an edit may
//! use, what is refused before anything is charged (and with which field named), what an edit
//! costs, what the provider is sent, what the images carry, and that every failure refunds.

use std::io::Cursor;

use artforge_domain::{
    Credits, FileUploads, IdempotencyKey, Image, ImageFormat, ImageId, Images, JobStatus, Jobs,
    Preset, ProviderError, RawGeneration, UploadId, UserId, Variant, Visibility,
    edit::{MAX_UPLOAD_BYTES, RawInputs, RawSource, SourceRef, upload_key},
};
use artforge_fakes::{FakeProvider, MemoryFiles, MemoryStore, contract};

use super::{
    fixture::{Fixture, now},
    previews::PreviewPolicy,
    run::{JobRunner, Outcome},
    submit::{Refusal, Submission},
};

fn encoded(picture: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encodes");
    bytes
}

fn png(width: u32, height: u32) -> Vec<u8> {
    encoded(
        image::DynamicImage::ImageRgba8(image::RgbaImage::new(width, height)),
        image::ImageFormat::Png,
    )
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(
        image::DynamicImage::ImageRgb8(image::RgbImage::new(width, height)),
        image::ImageFormat::Jpeg,
    )
}

/// A user's store, files, queue, provider and the use cases over them; the provider answers
/// a transparent 256x256 PNG.
struct Studio(Fixture);

impl std::ops::Deref for Studio {
    type Target = Fixture;

    fn deref(&self) -> &Fixture {
        &self.0
    }
}

impl Studio {
    async fn new(credits: u64) -> Self {
        Self(Fixture::new(FakeProvider::answering(png(256, 256)), credits).await)
    }

    fn runner(&self) -> JobRunner<MemoryStore, FakeProvider, MemoryFiles> {
        self.0.runner(PreviewPolicy::default())
    }

    /// An upload of `owner` as the client sent it: `bytes` declared as `content_type`.
    async fn upload_of(&self, owner: UserId, bytes: Vec<u8>, content_type: &str) -> UploadId {
        let id = UploadId::new();
        self.files
            .put(&upload_key(owner, id), bytes, content_type)
            .await
            .expect("stored");
        id
    }

    async fn upload(&self, bytes: Vec<u8>, content_type: &str) -> UploadId {
        self.upload_of(self.user, bytes, content_type).await
    }

    /// A finished image of `owner`, its original (a PNG of `width` x `height`) stored.
    async fn image_of(&self, owner: UserId, visibility: Visibility, width: u32) -> Image {
        let image = Image {
            visibility,
            original_format: ImageFormat::Png,
            ..contract::image(owner, Preset::Square, &[])
        };
        self.store.add(&image).await.expect("added");
        self.files
            .put(
                &image.object_key(Variant::Original),
                png(width, width),
                "image/png",
            )
            .await
            .expect("stored");
        image
    }

    async fn submit(&self, inputs: RawInputs) -> Result<Submission, Refusal> {
        self.generations()
            .submit(self.user, edit_of(inputs), None, now())
            .await
    }
}

fn edit_of(inputs: RawInputs) -> RawGeneration {
    RawGeneration {
        prompt: Some("make the sky purple".into()),
        model: Some("v2".into()),
        preset: Some("square".into()),
        inputs,
        ..RawGeneration::default()
    }
}

fn sources(list: Vec<RawSource>) -> RawInputs {
    RawInputs {
        sources: Some(list),
        ..RawInputs::default()
    }
}

fn upload_ref(id: UploadId) -> RawSource {
    RawSource::Upload(id.to_string())
}

fn image_ref(id: ImageId) -> RawSource {
    RawSource::Image(id.to_string())
}

/// The one field a 422 or 404 names, and that nothing was charged or queued.
fn refused_field(studio: &Studio, refused: &Result<Submission, Refusal>) -> String {
    assert!(studio.store.all_jobs().is_empty(), "no job was written");
    assert!(studio.queue.sent().is_empty(), "nothing was queued");
    match refused {
        Err(Refusal::Invalid(errors)) => errors.iter().map(|e| e.field.clone()).collect(),
        Err(Refusal::UploadInvalid(e) | Refusal::MaskMismatch(e)) => e.field.clone(),
        Err(Refusal::NotFound(field)) => field.clone(),
        other => panic!("refused before any charge: {other:?}"),
    }
}

#[tokio::test]
async fn an_edit_of_an_upload_is_priced_from_the_catalogues_edits_and_queued_with_its_files() {
    let studio = Studio::new(5).await;
    let upload = studio.upload(png(512, 512), "image/png").await;
    let mask = studio.upload(png(512, 512), "image/png").await;
    let submitted = studio
        .submit(RawInputs {
            sources: Some(vec![upload_ref(upload)]),
            mask: Some(upload_ref(mask)),
            remix_of: None,
        })
        .await
        .expect("accepted");
    // v2 low: 1 credit an image, 2 an edited image (config/models.json).
    assert_eq!(submitted.job.cost, Credits::new(2));
    assert_eq!(studio.balance().await, 3);
    let edit = submitted.job.inputs.edit.expect("an edit");
    assert_eq!(edit.first, SourceRef::Upload(upload));
    assert_eq!(edit.sources[0].key, upload_key(studio.user, upload));
    assert_eq!(
        edit.mask.map(|m| m.key),
        Some(upload_key(studio.user, mask))
    );
    assert_eq!(studio.queue.sent().len(), 1);
}

#[tokio::test]
async fn an_upload_that_is_missing_unknown_expired_or_of_another_user_is_refused_naming_it() {
    let studio = Studio::new(5).await;
    let never_sent = UploadId::new();
    let refused = studio.submit(sources(vec![upload_ref(never_sent)])).await;
    assert!(
        matches!(refused, Err(Refusal::UploadInvalid(_))),
        "{refused:?}"
    );
    assert_eq!(refused_field(&studio, &refused), "sources[0].upload");

    let other = contract::account(&studio.store, 0).await;
    let theirs = studio.upload_of(other, png(64, 64), "image/png").await;
    let refused = studio.submit(sources(vec![upload_ref(theirs)])).await;
    assert!(
        matches!(refused, Err(Refusal::UploadInvalid(_))),
        "{refused:?}"
    );

    // An upload issued two days ago, still in the bucket (the lifecycle rule is lazy).
    let two_days_ago = u64::try_from((now() - time::Duration::days(2)).unix_timestamp())
        .expect("after 1970")
        * 1000;
    let old: UploadId = ulid::Ulid::from_parts(two_days_ago, 7)
        .to_string()
        .parse()
        .expect("an id");
    studio
        .files
        .put(&upload_key(studio.user, old), png(64, 64), "image/png")
        .await
        .expect("stored");
    let refused = studio.submit(sources(vec![upload_ref(old)])).await;
    let Err(Refusal::UploadInvalid(e)) = &refused else {
        panic!("expired: {refused:?}");
    };
    assert!(e.message.contains("expired"), "{e}");

    let refused = studio
        .submit(sources(vec![RawSource::Upload("not-an-id".into())]))
        .await;
    assert!(matches!(refused, Err(Refusal::Invalid(_))), "{refused:?}");
    assert_eq!(refused_field(&studio, &refused), "sources[0].upload");
    assert_eq!(studio.balance().await, 5, "nothing was charged");
}

#[tokio::test]
async fn an_upload_that_is_not_an_image_lies_about_its_type_or_is_too_big_is_refused_uncharged() {
    let studio = Studio::new(5).await;
    let text = studio
        .upload(b"<html>hello</html>".to_vec(), "image/png")
        .await;
    let lying = studio.upload(jpeg(64, 64), "image/png").await;
    let mut big = png(64, 64);
    big.resize(usize::try_from(MAX_UPLOAD_BYTES + 1).expect("fits"), 0);
    let big = studio.upload(big, "image/png").await;
    let wide = studio.upload(png(4097, 8), "image/png").await;
    for (upload, says) in [
        (text, "not a PNG, JPEG or WebP"),
        (lying, "declared as image/png but is image/jpeg"),
        (big, "larger than 20 MiB"),
        (wide, "at most 4096"),
    ] {
        let refused = studio.submit(sources(vec![upload_ref(upload)])).await;
        let Err(Refusal::UploadInvalid(e)) = &refused else {
            panic!("{says}: {refused:?}");
        };
        assert_eq!(e.field, "sources[0].upload");
        assert!(e.message.contains(says), "{e}");
        refused_field(&studio, &refused);
    }
    let exactly = studio.upload(png(4096, 8), "image/png").await;
    assert!(
        studio
            .submit(sources(vec![upload_ref(exactly)]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn seventeen_sources_are_refused_and_sixteen_taken() {
    let studio = Studio::new(20).await;
    let upload = studio.upload(png(64, 64), "image/png").await;
    let refused = studio.submit(sources(vec![upload_ref(upload); 17])).await;
    assert_eq!(refused_field(&studio, &refused), "sources");
    let taken = studio
        .submit(sources(vec![upload_ref(upload); 16]))
        .await
        .expect("sixteen is the most");
    assert_eq!(taken.job.inputs.edit.map(|e| e.sources.len()), Some(16));
}

#[tokio::test]
async fn a_private_image_of_another_user_is_no_source_but_a_public_one_and_an_own_one_are() {
    let studio = Studio::new(10).await;
    let other = contract::account(&studio.store, 0).await;
    let private = studio.image_of(other, Visibility::Private, 64).await;
    let public = studio.image_of(other, Visibility::Public, 64).await;
    let own = studio.image_of(studio.user, Visibility::Private, 64).await;

    let refused = studio
        .submit(sources(vec![image_ref(own.id), image_ref(private.id)]))
        .await;
    assert!(matches!(refused, Err(Refusal::NotFound(_))), "{refused:?}");
    assert_eq!(refused_field(&studio, &refused), "sources[1].image");
    let refused = studio
        .submit(sources(vec![image_ref(ImageId::new())]))
        .await;
    assert_eq!(refused_field(&studio, &refused), "sources[0].image");

    let taken = studio
        .submit(sources(vec![image_ref(public.id), image_ref(own.id)]))
        .await
        .expect("accepted");
    let edit = taken.job.inputs.edit.expect("an edit");
    assert_eq!(edit.sources[0].key, public.object_key(Variant::Original));
    assert_eq!(edit.first, SourceRef::Image(public.id));
}

#[tokio::test]
async fn a_mask_must_be_a_png_of_the_first_sources_pixel_size() {
    let studio = Studio::new(10).await;
    let source = studio.upload(png(512, 256), "image/png").await;
    let small = studio.upload(png(256, 256), "image/png").await;
    let jpeg_mask = studio.upload(jpeg(512, 256), "image/jpeg").await;
    let with_mask = |mask| RawInputs {
        sources: Some(vec![upload_ref(source)]),
        mask: Some(upload_ref(mask)),
        remix_of: None,
    };
    let refused = studio.submit(with_mask(small)).await;
    let Err(Refusal::MaskMismatch(e)) = &refused else {
        panic!("another size: {refused:?}");
    };
    assert!(e.message.contains("512x256"), "{e}");
    assert_eq!(refused_field(&studio, &refused), "mask");
    let refused = studio.submit(with_mask(jpeg_mask)).await;
    assert!(
        matches!(refused, Err(Refusal::UploadInvalid(_))),
        "{refused:?}"
    );
    assert_eq!(refused_field(&studio, &refused), "mask.upload");

    // An image source: its original's size, read from the file.
    let image = studio.image_of(studio.user, Visibility::Private, 300).await;
    let square = studio.upload(png(300, 300), "image/png").await;
    let accepted = studio
        .submit(RawInputs {
            sources: Some(vec![image_ref(image.id)]),
            mask: Some(upload_ref(square)),
            remix_of: None,
        })
        .await;
    assert!(accepted.is_ok(), "{accepted:?}");
    let refused = studio
        .submit(RawInputs {
            sources: None,
            mask: Some(upload_ref(square)),
            remix_of: None,
        })
        .await;
    assert!(
        matches!(refused, Err(Refusal::Invalid(_))),
        "a mask needs sources"
    );
}

#[tokio::test]
async fn a_remix_of_an_own_or_public_image_is_recorded_and_of_a_private_foreign_one_is_not_found() {
    let studio = Studio::new(10).await;
    let other = contract::account(&studio.store, 0).await;
    let private = studio.image_of(other, Visibility::Private, 64).await;
    let public = studio.image_of(other, Visibility::Public, 64).await;
    let remix = |id: ImageId| RawInputs {
        remix_of: Some(id.to_string()),
        ..RawInputs::default()
    };
    let refused = studio.submit(remix(private.id)).await;
    assert_eq!(refused_field(&studio, &refused), "remixOf");
    let refused = studio
        .submit(RawInputs {
            remix_of: Some("nope".into()),
            ..RawInputs::default()
        })
        .await;
    assert_eq!(refused_field(&studio, &refused), "remixOf");

    let job = studio.submit(remix(public.id)).await.expect("accepted").job;
    assert_eq!(job.cost, Credits::new(1), "a remix costs as a generation");
    assert_eq!(job.inputs.remix_of, Some(public.id));
    let outcome = studio.runner().run(studio.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let made = studio
        .store
        .image(studio.user, job.slots[0])
        .await
        .expect("read")
        .expect("made");
    assert_eq!(made.lineage.remix_of, Some(public.id));
    assert!(!made.lineage.edited());
}

#[tokio::test]
async fn the_worker_sends_the_sources_and_mask_and_the_images_keep_the_first_source() {
    let studio = Studio::new(10).await;
    let image = studio.image_of(studio.user, Visibility::Private, 300).await;
    let reference = studio.upload(jpeg(64, 32), "image/jpeg").await;
    let mask = studio.upload(png(300, 300), "image/png").await;
    let job = studio
        .submit(RawInputs {
            sources: Some(vec![image_ref(image.id), upload_ref(reference)]),
            mask: Some(upload_ref(mask)),
            remix_of: Some(image.id.to_string()),
        })
        .await
        .expect("accepted")
        .job;
    let outcome = studio.runner().run(studio.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let sent = studio.provider.edits();
    assert_eq!(sent.len(), 1, "one edit, no generation");
    let formats: Vec<ImageFormat> = sent[0].sources.iter().map(|(f, _)| *f).collect();
    assert_eq!(formats, [ImageFormat::Png, ImageFormat::Jpeg]);
    assert_eq!(sent[0].sources[1].1, jpeg(64, 32), "the upload's bytes");
    assert_eq!(sent[0].mask.as_deref(), Some(png(300, 300).as_slice()));
    let done = studio
        .store
        .job(studio.user, job.id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(done.status, JobStatus::Succeeded);
    let made = studio
        .store
        .image(studio.user, done.images[0])
        .await
        .expect("read")
        .expect("made");
    assert!(made.lineage.edited());
    assert_eq!(made.lineage.edited_from, Some(SourceRef::Image(image.id)));
    assert_eq!(made.lineage.remix_of, Some(image.id));
}

#[tokio::test]
async fn an_edit_the_provider_fails_is_refunded_in_full_once() {
    let studio = Studio::new(5).await;
    let upload = studio.upload(png(64, 64), "image/png").await;
    let job = studio
        .submit(sources(vec![upload_ref(upload)]))
        .await
        .expect("accepted")
        .job;
    assert_eq!(studio.balance().await, 3);
    studio
        .provider
        .then(Err(ProviderError::ContentPolicy("refused".into())));
    let outcome = studio.runner().run(studio.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let done = studio
        .store
        .job(studio.user, job.id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.refunded, Credits::new(2));
    assert_eq!(studio.balance().await, 5);
    let again = studio.runner().run(studio.user, job.id).await;
    assert!(matches!(again, Outcome::Skipped), "{again:?}");
    assert_eq!(studio.balance().await, 5, "refunded once");
    assert!(studio.store.books_balance());
}

#[tokio::test]
async fn an_edit_whose_source_is_gone_before_the_worker_runs_fails_refunded_without_the_provider() {
    use artforge_domain::ImageFiles;
    let studio = Studio::new(5).await;
    let upload = studio.upload(png(64, 64), "image/png").await;
    let job = studio
        .submit(sources(vec![upload_ref(upload)]))
        .await
        .expect("accepted")
        .job;
    studio
        .files
        .remove(&[upload_key(studio.user, upload)])
        .await
        .expect("removed");
    let outcome = studio.runner().run(studio.user, job.id).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let done = studio
        .store
        .job(studio.user, job.id)
        .await
        .expect("read")
        .expect("job");
    assert_eq!(done.status, JobStatus::Failed);
    assert!(
        done.error
            .as_ref()
            .is_some_and(|e| e.message.contains("gone")),
        "{:?}",
        done.error
    );
    assert_eq!(studio.balance().await, 5);
    assert!(
        studio.provider.requests().is_empty(),
        "the provider was not asked"
    );
}

#[tokio::test]
async fn an_idempotency_key_reused_with_other_sources_is_refused() {
    let studio = Studio::new(10).await;
    let first = studio.upload(png(64, 64), "image/png").await;
    let second = studio.upload(png(64, 64), "image/png").await;
    let key = || Some(IdempotencyKey::parse("edit-1").expect("a key"));
    let gens = studio.generations();
    let one = gens
        .submit(
            studio.user,
            edit_of(sources(vec![upload_ref(first)])),
            key(),
            now(),
        )
        .await
        .expect("accepted");
    let replay = gens
        .submit(
            studio.user,
            edit_of(sources(vec![upload_ref(first)])),
            key(),
            now(),
        )
        .await
        .expect("a replay");
    assert!(replay.replayed && replay.job.id == one.job.id);
    let other = gens
        .submit(
            studio.user,
            edit_of(sources(vec![upload_ref(second)])),
            key(),
            now(),
        )
        .await;
    assert!(matches!(other, Err(Refusal::KeyReused)), "{other:?}");
    assert_eq!(studio.balance().await, 8, "charged once");
}
