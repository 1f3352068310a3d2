//! Running a job (DESIGN §3, steps 2 and 3). For one job the runner
//!
//! 1. claims it with a lease (a duplicate delivery meets the lease and is retried later, by
//!    when the job is finished and the retry does nothing);
//! 2. asks the provider for its images (the provider adapter retries and keeps the deadline);
//! 3. makes each image's renditions concurrently, on blocking threads, and stores its three
//!    files under the keys of the image's slot (fixed when the job was created, so a retried
//!    attempt overwrites rather than orphans);
//! 4. finishes the job in one atomic step: the images' metadata, the final status, and the
//!    refund of what was not delivered, at most once per job.
//!
//! An image that fails (unusable bytes, storage down) is refunded and its files removed; a job
//! with no image fails with the first failure's code and a full refund. If removing a failed
//! image's files failed too, the job is finished all the same but the delivery is retried: a
//! delivery that finds its job finished removes the files of the slots it did not deliver
//! (nothing else refers to them), so no file is stranded. If finishing itself fails, the
//! delivery is retried: the job stays claimed until its lease ends, the next delivery redoes
//! it over the same keys, and when the queue gives up, [`JobRunner::dead_letter`] fails the
//! job with a full refund and removes every file its slots may have (delivered again until they
//! are gone). A delivery whose finish is refused because someone else finished the job sweeps
//! the slots the final job does not list. So every file a delivery stores is either listed by
//! the job's final state or removed by a later delivery of its message (docs/reliability.md,
//! "No orphaned image files").
//!
//! Live previews (module [`super::previews`]): while the provider makes the images (of a
//! generation or an edit), the partial images it streams are stored and listed on the job; they are files a delivery stores too,
//! so every removal above (after a finish, a refused finish, a dead letter) includes the job's
//! preview keys, and a runner that asks for previews removes them once it finished the job.

use std::{sync::Arc, time::Duration};

use artforge_domain::{
    Catalog, Claim, FileReads, FileUploads, Holder, Image, ImageFiles, ImageFormat, ImageId,
    ImageProvider, ImageSpec, Job, JobError, JobErrorCode, JobId, JobStatus, Jobs, Lease, Partials,
    ProviderError, ProviderRequest, StoreError, Tags, UserId, Variant, Visibility,
    edit::{Edit, EditFiles},
    image::object_key,
    preview::preview_keys,
};
use artforge_imaging::{Pipeline, PipelineError};
use time::OffsetDateTime;
use tracing::{debug, error, info, warn};

use super::{
    fail::{GiveUp, give_up},
    previews::{self, PreviewPolicy},
};

/// What handling one delivery came to.
#[derive(Debug)]
pub enum Outcome {
    /// The job is finished (by this delivery).
    Finished,
    /// Nothing to do: the job is finished already, or not ours, or does not exist.
    Skipped,
    /// Another worker holds the job; deliver it again later.
    Busy,
    /// A store failed; deliver it again later.
    Retry(StoreError),
}

impl Outcome {
    /// Whether the message should be delivered again.
    pub fn retry(&self) -> bool {
        matches!(self, Self::Busy | Self::Retry(_))
    }
}

/// Why one image of a job was not delivered.
#[derive(Debug, thiserror::Error)]
enum ImageFailure {
    #[error(transparent)]
    Provider(ProviderError),
    #[error("the provider's image could not be processed")]
    Pipeline(#[source] PipelineError),
    #[error("the image processing task failed")]
    Task(#[source] tokio::task::JoinError),
    #[error("storing the image's files failed")]
    Storage(#[source] StoreError),
    /// Storing failed, and removing what was stored failed too: files may be left.
    #[error("storing the image's files failed, and so did removing them")]
    Stranded(#[source] StoreError),
}

impl ImageFailure {
    /// What the job's owner reads when this failure is the job's.
    fn job_error(&self) -> JobError {
        match self {
            Self::Provider(e) => provider_error(e),
            Self::Pipeline(_) => JobError::new(
                JobErrorCode::GenerationFailed,
                "the provider's image could not be read; your credits were refunded",
            ),
            Self::Task(_) | Self::Storage(_) | Self::Stranded(_) => JobError::new(
                JobErrorCode::GenerationFailed,
                "the image could not be stored; your credits were refunded",
            ),
        }
    }
}

/// What the job's owner reads when the provider failed it.
pub fn provider_error(error: &ProviderError) -> JobError {
    match error {
        ProviderError::ContentPolicy(_) => JobError::new(
            JobErrorCode::ContentPolicyViolation,
            "the prompt was refused by the image provider's content policy; rephrase it and try again",
        ),
        ProviderError::QuotaExceeded(_)
        | ProviderError::Unavailable(_)
        | ProviderError::DeadlineExceeded => JobError::new(
            JobErrorCode::ProviderUnavailable,
            "the image provider is unavailable right now; your credits were refunded, try again later",
        ),
        ProviderError::ModelRetired(_) => JobError::new(
            JobErrorCode::ModelRetired,
            "the image provider has retired this model; your credits were refunded, choose another model",
        ),
        ProviderError::Rejected { .. } | ProviderError::BadAnswer(_) => JobError::new(
            JobErrorCode::GenerationFailed,
            "the image provider could not make this image; your credits were refunded",
        ),
    }
}

/// Counts a provider failure by kind; the provider's own failures (not a refusal of the
/// request) also count towards the total the alarm watches.
fn observe_provider_error(error: &ProviderError) {
    let (kind, operational) = match error {
        ProviderError::ContentPolicy(_) => ("content_policy", false),
        ProviderError::Rejected { .. } => ("rejected", false),
        // Operational: the configured model is gone, an operator must switch it.
        ProviderError::ModelRetired(_) => ("model_retired", true),
        ProviderError::QuotaExceeded(_) => ("quota_exceeded", true),
        ProviderError::Unavailable(_) => ("unavailable", true),
        ProviderError::DeadlineExceeded => ("deadline_exceeded", true),
        ProviderError::BadAnswer(_) => ("bad_answer", true),
    };
    artforge_metrics::provider_error(kind, operational);
}

/// The largest file an edit sends: the provider takes images under 50 MB.
const MAX_SOURCE_BYTES: u64 = 50 * 1000 * 1000;

/// What a claimed job becomes with `delivered` of its images made: `succeeded` with any image,
/// else `failed` with the first failure's error; what was not delivered is refunded.
pub fn finished(
    job: Job,
    delivered: &[Image],
    error: Option<JobError>,
    now: OffsetDateTime,
) -> Job {
    let refunded = job.refund_for(delivered.len());
    let (status, error) = if delivered.is_empty() {
        let error = error.unwrap_or_else(|| {
            JobError::new(
                JobErrorCode::GenerationFailed,
                "no image could be made; your credits were refunded",
            )
        });
        (JobStatus::Failed, Some(error))
    } else {
        (JobStatus::Succeeded, None)
    };
    Job {
        status,
        images: delivered.iter().map(|i| i.id).collect(),
        refunded,
        error,
        previews: 0,
        updated_at: now,
        ..job
    }
}

/// Every key a slot's files may have: the original in any format, the renditions in `format`
/// (the pipeline's default) and in the format the job asked for.
pub fn slot_keys(job: &Job, slot: ImageId, format: ImageFormat) -> Vec<String> {
    let preset = job.request.preset;
    let mut keys: Vec<String> = ImageFormat::ALL
        .iter()
        .map(|f| object_key(job.owner, slot, preset, Variant::Original, *f))
        .collect();
    let mut formats = vec![format];
    if job.request.output.format != format {
        formats.push(job.request.output.format);
    }
    for format in formats {
        for variant in [Variant::Preset, Variant::Thumbnail] {
            keys.push(object_key(job.owner, slot, preset, variant, format));
        }
    }
    keys
}

/// The renditions of `source` that `output` asks for: its exact pixels, in its format, with
/// alpha kept for a transparent background.
fn render(
    pipeline: &Pipeline,
    source: &[u8],
    output: &ImageSpec,
) -> Result<artforge_imaging::Processed, PipelineError> {
    pipeline.process_with(
        source,
        (output.width, output.height),
        artforge_imaging::Output {
            format: output.format,
            keep_alpha: output.keeps_alpha(),
        },
    )
}

/// Everything running a job takes, built once.
pub struct JobRunner<J, P, F> {
    pub jobs: J,
    pub provider: P,
    pub files: F,
    pub catalog: Arc<Catalog>,
    pub pipeline: Arc<Pipeline>,
    /// How long a claimed job is this runner's: the worker's own timeout.
    pub lease: Duration,
    /// The live previews asked for while a job runs.
    pub previews: PreviewPolicy,
}

impl<J, P, F> JobRunner<J, P, F>
where
    J: Jobs,
    P: ImageProvider,
    F: FileUploads + ImageFiles + FileReads,
{
    /// Claims and runs one job.
    pub async fn run(&self, owner: UserId, id: JobId) -> Outcome {
        let claim = self
            .jobs
            .claim(owner, id, self.lease, OffsetDateTime::now_utc())
            .await;
        match claim {
            Err(e) => Outcome::Retry(e),
            Ok(Claim::Refused(None)) => {
                warn!("no such job");
                Outcome::Skipped
            }
            Ok(Claim::Refused(Some(job))) if job.status.is_final() => {
                match self.sweep(&job).await {
                    Ok(()) => Outcome::Skipped,
                    Err(e) => Outcome::Retry(e),
                }
            }
            Ok(Claim::Refused(Some(_))) => Outcome::Busy,
            Ok(Claim::Claimed(job, lease)) => {
                let had_previews = job.previews > 0;
                let (images, error, stranded, previewed) = self.make(&job, &lease).await;
                let done = finished(job, &images, error, OffsetDateTime::now_utc());
                let result = self
                    .jobs
                    .finish(&done, Holder::Lease(&lease), &images)
                    .await;
                if matches!(result, Ok(true)) {
                    artforge_metrics::job_finished(
                        done.status == JobStatus::Succeeded,
                        done.refunded.get(),
                    );
                }
                // Previews (this delivery's or listed by an earlier one) are removed with any
                // stranded files, once the job lists none.
                let previews = previewed || had_previews;
                match result {
                    Ok(true) if stranded || previews => match self.sweep(&done).await {
                        Ok(()) => Outcome::Finished,
                        Err(e) => Outcome::Retry(e),
                    },
                    Ok(true) => Outcome::Finished,
                    // Finished by someone else while this delivery ran (the dead-letter
                    // handler, a sweep): the files it just stored under slots the job does not
                    // list are nobody's, and this is the last delivery that knows of them.
                    Ok(false) => self.after_refused_finish(&done).await,
                    Err(e) => Outcome::Retry(e),
                }
            }
        }
    }

    /// After this delivery's finish was refused: sweep the job if it is final (the files
    /// written here are then nobody's); if another delivery holds it, come back later and
    /// sweep then.
    /// A job that is gone was erased with its closed account (ADR 0150): it finishes into
    /// nothing, and every file this delivery stored for it is removed.
    async fn after_refused_finish(&self, done: &Job) -> Outcome {
        match self.jobs.job(done.owner, done.id).await {
            Ok(Some(job)) if job.status.is_final() => match self.sweep(&job).await {
                Ok(()) => Outcome::Skipped,
                Err(e) => Outcome::Retry(e),
            },
            Ok(Some(_)) => Outcome::Busy,
            Ok(None) => {
                info!("the job is gone with its account; its files are removed");
                let erased = Job {
                    images: Vec::new(),
                    ..done.clone()
                };
                match self.sweep(&erased).await {
                    Ok(()) => Outcome::Skipped,
                    Err(e) => Outcome::Retry(e),
                }
            }
            Err(e) => Outcome::Retry(e),
        }
    }

    /// Fails a job whose message died, with a full refund, and removes whatever files its
    /// attempts left. The message is delivered again until the files are gone: a delivery that
    /// finds the job final already (this handler failed it before, but was interrupted or
    /// could not remove the files) removes them then.
    pub async fn dead_letter(&self, owner: UserId, id: JobId) -> Outcome {
        let now = OffsetDateTime::now_utc();
        let (job, outcome) = match give_up(&self.jobs, owner, id, GiveUp::DeadLetter, now).await {
            Ok(Some(job)) => {
                warn!(
                    refunded = job.refunded.get(),
                    "dead job failed and refunded"
                );
                (job, Outcome::Finished)
            }
            Ok(None) => match self.jobs.job(owner, id).await {
                Ok(Some(job)) if job.status.is_final() => (job, Outcome::Skipped),
                Ok(_) => return Outcome::Skipped,
                Err(e) => return Outcome::Retry(e),
            },
            Err(e) => return Outcome::Retry(e),
        };
        match self.sweep(&job).await {
            Ok(()) => outcome,
            Err(e) => Outcome::Retry(e),
        }
    }

    /// Removes every file a finished job's undelivered slots may have (none refers to them), and
    /// its previews.
    async fn sweep(&self, job: &Job) -> Result<(), StoreError> {
        let keys: Vec<String> = job
            .slots
            .iter()
            .filter(|slot| !job.images.contains(slot))
            .flat_map(|slot| self.slot_keys(job, *slot))
            .chain(preview_keys(job.owner, job.id))
            .collect();
        self.files.remove(&keys).await.inspect_err(|e| {
            error!(error = %e, "removing an undelivered image's files failed; the message comes back");
        })
    }

    fn slot_keys(&self, job: &Job, slot: ImageId) -> Vec<String> {
        slot_keys(job, slot, self.pipeline.config().format)
    }

    /// The job's images that were made and stored, the error to fail the job with if none,
    /// whether a failed image's files could not be removed, and whether previews were stored.
    async fn make(&self, job: &Job, lease: &Lease) -> (Vec<Image>, Option<JobError>, bool, bool) {
        let Some(request) = self.catalog.provider_request(&job.request) else {
            return (
                Vec::new(),
                Some(JobError::new(
                    JobErrorCode::GenerationFailed,
                    "this model, style or quality is no longer offered; your credits were refunded",
                )),
                false,
                false,
            );
        };
        let edit = match &job.inputs.edit {
            None => None,
            Some(edit) => match self.edit_files(edit).await {
                Ok(files) => Some(files),
                Err(error) => return (Vec::new(), Some(error), false, false),
            },
        };
        let started = std::time::Instant::now();
        let (answered, previewed) = self.ask(job, lease, &request, edit.as_ref()).await;
        artforge_metrics::provider_call(started.elapsed());
        let answers = match answered {
            Ok(answers) => answers,
            Err(e) => {
                observe_provider_error(&e);
                warn!(error = %e, "the provider failed the job");
                return (Vec::new(), Some(provider_error(&e)), false, previewed);
            }
        };
        let results = futures::future::join_all(
            job.slots
                .iter()
                .zip(answers)
                .map(|(slot, answer)| self.make_image(job, *slot, answer)),
        )
        .await;
        let mut images = Vec::new();
        let mut first_error = None;
        let mut stranded = false;
        for result in results {
            match result {
                Ok(image) => images.push(image),
                Err(failure) => {
                    if let ImageFailure::Provider(e) = &failure {
                        observe_provider_error(e);
                    }
                    warn!(error = %failure, "an image of the job failed");
                    stranded |= matches!(failure, ImageFailure::Stranded(_));
                    first_error.get_or_insert_with(|| failure.job_error());
                }
            }
        }
        (images, first_error, stranded, previewed)
    }

    /// The provider's answer (a generation, or an edit of `edit`'s files), with the partial
    /// images it streams meanwhile stored and listed as the job's previews (none when the
    /// policy asks for none), and whether any was stored.
    async fn ask(
        &self,
        job: &Job,
        lease: &Lease,
        request: &ProviderRequest,
        edit: Option<&EditFiles>,
    ) -> (
        Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>,
        bool,
    ) {
        let wanted = self.previews.partial_images();
        if wanted == 0 {
            let answered = match edit {
                None => self.provider.generate(request).await,
                Some(files) => self.provider.edit(request, files).await,
            };
            return (answered, false);
        }
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let partials = Partials::new(wanted, move |partial| {
            if sender.send(partial).is_err() {
                debug!("a partial image came after the previews were closed; dropped");
            }
        });
        let provider = &self.provider;
        let asked = async move {
            let answered = match edit {
                None => provider.generate_with_previews(request, &partials).await,
                Some(files) => provider.edit_with_previews(request, files, &partials).await,
            };
            // Closes the channel: the recorder stores what came and ends.
            drop(partials);
            answered
        };
        let recorded = previews::record(
            &self.jobs,
            &self.files,
            job,
            lease,
            &self.previews,
            receiver,
        );
        let (answered, stored) = tokio::join!(asked, recorded);
        if stored > 0 {
            debug!(stored, "previews stored");
        }
        (answered, stored > 0)
    }

    /// The bytes of an edit's files. A file gone since the job was submitted (an image
    /// deleted, an upload expired) fails the job, refunded.
    async fn edit_files(&self, edit: &Edit) -> Result<EditFiles, JobError> {
        let gone = || {
            JobError::new(
                JobErrorCode::GenerationFailed,
                "a source image or the mask is gone; your credits were refunded",
            )
        };
        let unreadable = || {
            JobError::new(
                JobErrorCode::GenerationFailed,
                "the source images could not be read; your credits were refunded",
            )
        };
        let read = |key: String| async move {
            match self.files.peek(&key, MAX_SOURCE_BYTES).await {
                Ok(Some(peeked)) if peeked.is_whole() => Ok(peeked.head),
                Ok(_) => Err(gone()),
                Err(e) => {
                    warn!(error = %e, "reading an edit's file failed");
                    Err(unreadable())
                }
            }
        };
        let sources =
            futures::future::try_join_all(edit.sources.iter().map(|file| async {
                Ok::<_, JobError>((file.format, read(file.key.clone()).await?))
            }))
            .await?;
        let mask = match &edit.mask {
            None => None,
            Some(file) => Some(read(file.key.clone()).await?),
        };
        Ok(EditFiles { sources, mask })
    }

    /// One image: renditions on a blocking thread, three uploads at once. On a storage
    /// failure the image's files are removed again.
    async fn make_image(
        &self,
        job: &Job,
        slot: ImageId,
        answer: Result<Vec<u8>, ProviderError>,
    ) -> Result<Image, ImageFailure> {
        let source = answer.map_err(ImageFailure::Provider)?;
        let pipeline = self.pipeline.clone();
        let output = job.request.output;
        let (source, processed) = tokio::task::spawn_blocking(move || {
            let processed = render(&pipeline, &source, &output);
            (source, processed)
        })
        .await
        .map_err(ImageFailure::Task)?;
        let processed = processed.map_err(ImageFailure::Pipeline)?;
        let r = &job.request;
        let image = Image {
            id: slot,
            owner: job.owner,
            job: job.id,
            prompt: r.prompt.as_str().to_owned(),
            tier: r.tier,
            style: r.style,
            preset: r.preset,
            quality: r.quality,
            width: processed.preset.width,
            height: processed.preset.height,
            tags: Tags::clone(&r.tags),
            visibility: Visibility::Private,
            likes: 0,
            created_at: OffsetDateTime::now_utc(),
            original_format: processed.source_format,
            variant_format: processed.format,
            background: output.background,
            lineage: job.inputs.lineage(),
        };
        let uploads = futures::future::try_join3(
            self.files.put(
                &image.object_key(Variant::Original),
                source,
                image.content_type(Variant::Original),
            ),
            self.files.put(
                &image.object_key(Variant::Preset),
                processed.preset.bytes,
                image.content_type(Variant::Preset),
            ),
            self.files.put(
                &image.object_key(Variant::Thumbnail),
                processed.thumbnail.bytes,
                image.content_type(Variant::Thumbnail),
            ),
        )
        .await;
        if let Err(e) = uploads {
            let keys: Vec<String> = Variant::ALL.iter().map(|v| image.object_key(*v)).collect();
            if let Err(removal) = self.files.remove(&keys).await {
                error!(error = %removal, "removing a failed image's files failed");
                return Err(ImageFailure::Stranded(e));
            }
            return Err(ImageFailure::Storage(e));
        }
        Ok(image)
    }
}
