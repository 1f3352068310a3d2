//! The job worker (DESIGN §3). One SQS message names one job; the worker
//!
//! 1. claims the job with a lease (a duplicate delivery meets the lease and is retried later,
//!    by when the job is finished and the retry does nothing);
//! 2. asks the provider for the job's images (the adapter retries and keeps the deadline);
//! 3. makes each image's renditions concurrently, on blocking threads, and uploads its three
//!    files to the keys of the image's slot (fixed when the job was created, so a retried
//!    attempt overwrites rather than orphans);
//! 4. finishes the job in one transaction: the images' metadata, the final status, and the
//!    refund of what was not delivered, at most once per job.
//!
//! An image that fails (unusable bytes, storage down) is refunded and its files removed; a job
//! with no image fails with the first failure's code and a full refund. If removing a failed
//! image's files failed too, the job is finished all the same but the message is retried: a
//! delivery that finds its job finished removes the files of the slots it did not deliver
//! (nothing else refers to them), so no file is stranded. If the finishing
//! transaction itself fails, the message is retried: the job stays claimed until its lease
//! expires, the next delivery redoes it over the same keys, and when the queue gives up, the
//! dead-letter handler ([`Worker::handle`] on a message from the dead-letter queue) fails the
//! job with a full refund and removes every file its slots may have.

use std::{sync::Arc, time::Duration};

use artforge_domain::{
    Catalog, FileUploads, Image, ImageFiles, ImageId, Job, JobError, JobErrorCode, ProviderError,
    StoreError, Tags, Variant, Visibility,
    image::object_key,
    ports::{Claim, Completion, ImageProvider, Jobs},
};
use artforge_imaging::{Pipeline, PipelineError};
use artforge_sqs::JobMessage;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use time::OffsetDateTime;
use tracing::{Instrument, error, info, info_span, warn};

/// What handling one message came to.
#[derive(Debug)]
pub enum Outcome {
    /// The job is finished (by this delivery).
    Finished,
    /// Nothing to do: the job is finished already, or not ours, or does not exist.
    Skipped,
    /// Another worker holds the job; the message comes back later.
    Busy,
    /// A store failed; the message comes back later.
    Retry(StoreError),
    /// The message is not a job message; it is dropped.
    Malformed,
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
    fn job_error(&self) -> JobError {
        match self {
            Self::Provider(e) => e.job_error(),
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

/// Everything the worker needs, built once at init.
pub struct Worker<S, P, F> {
    pub store: S,
    pub provider: P,
    pub files: F,
    pub catalog: Arc<Catalog>,
    pub pipeline: Arc<Pipeline>,
    /// How long a claimed job is this worker's: its own timeout.
    pub lease: Duration,
    /// Messages from this queue are dead letters: their jobs are failed and refunded.
    pub dead_letter_queue_arn: Option<String>,
}

const ORIGINAL_EXTS: [&str; 3] = ["png", "jpeg", "webp"];

impl<S, P, F> Worker<S, P, F>
where
    S: Jobs,
    P: ImageProvider,
    F: FileUploads + ImageFiles,
{
    /// One SQS batch: each message handled, the ones to deliver again reported as failures.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let outcome = self.handle_message(&record).await;
            if outcome.retry() {
                response.add_failure(record.message_id.clone().unwrap_or_default());
            }
        }
        response
    }

    /// One message, from the job queue or the dead-letter queue.
    pub async fn handle_message(&self, record: &SqsMessage) -> Outcome {
        let message = match record.body.as_deref().map(JobMessage::parse) {
            Some(Ok(message)) => message,
            _ => {
                warn!(message_id = ?record.message_id, "not a job message; dropped");
                return Outcome::Malformed;
            }
        };
        let dead = self.dead_letter_queue_arn.is_some()
            && record.event_source_arn == self.dead_letter_queue_arn;
        let span = info_span!("job", user_id = %message.user_id, job_id = %message.job_id, dead);
        let outcome = if dead {
            self.dead_letter(message).instrument(span.clone()).await
        } else {
            self.run(message).instrument(span.clone()).await
        };
        span.in_scope(|| match &outcome {
            Outcome::Retry(e) => error!(error = %e, "job will be retried"),
            other => info!(outcome = ?other, "message handled"),
        });
        outcome
    }

    /// Claims and runs one job.
    pub async fn run(&self, message: JobMessage) -> Outcome {
        let claim = self
            .store
            .claim(message.user_id, message.job_id, self.lease)
            .await;
        match claim {
            Err(e) => Outcome::Retry(e),
            Ok(Claim::Missing) => {
                warn!("no such job");
                Outcome::Skipped
            }
            Ok(Claim::Finished(job)) => match self.sweep(&job).await {
                Ok(()) => Outcome::Skipped,
                Err(e) => Outcome::Retry(e),
            },
            Ok(Claim::Busy) => Outcome::Busy,
            Ok(Claim::Claimed(job, lease)) => {
                let (images, error, stranded) = self.make(&job).await;
                match self.store.complete(&job, &lease, &images, error).await {
                    Ok(Completion::Finished { job, .. }) if stranded => {
                        match self.sweep(&job).await {
                            Ok(()) => Outcome::Finished,
                            Err(e) => Outcome::Retry(e),
                        }
                    }
                    Ok(Completion::Finished { .. }) => Outcome::Finished,
                    Ok(Completion::NotYours) => Outcome::Skipped,
                    Err(e) => Outcome::Retry(e),
                }
            }
        }
    }

    /// Removes every file a finished job's undelivered slots may have (none refers to them).
    async fn sweep(&self, job: &Job) -> Result<(), StoreError> {
        let keys: Vec<String> = job
            .slots
            .iter()
            .filter(|slot| !job.images.contains(slot))
            .flat_map(|slot| self.slot_keys(job, *slot))
            .collect();
        self.files.remove(&keys).await.inspect_err(|e| {
            error!(error = %e, "removing an undelivered image's files failed; the message comes back");
        })
    }

    /// Fails a job whose message died, with a full refund, and removes whatever files its
    /// attempts left.
    pub async fn dead_letter(&self, message: JobMessage) -> Outcome {
        let failure = JobError::new(
            JobErrorCode::GenerationFailed,
            "the job could not be finished; your credits were refunded",
        );
        match self
            .store
            .abandon(message.user_id, message.job_id, failure)
            .await
        {
            Ok(Completion::Finished { job, refunded }) => {
                warn!(refunded = refunded.get(), "dead job failed and refunded");
                let keys: Vec<String> = job
                    .slots
                    .iter()
                    .flat_map(|slot| self.slot_keys(&job, *slot))
                    .collect();
                if let Err(e) = self.files.remove(&keys).await {
                    error!(error = %e, "removing a dead job's files failed");
                }
                Outcome::Finished
            }
            Ok(Completion::NotYours) => Outcome::Skipped,
            Err(e) => Outcome::Retry(e),
        }
    }

    /// Every key a slot's files may have.
    fn slot_keys(&self, job: &Job, slot: ImageId) -> Vec<String> {
        let preset = job.request.preset;
        let ext = self.pipeline.config().format.ext();
        let mut keys: Vec<String> = ORIGINAL_EXTS
            .iter()
            .map(|e| object_key(job.owner, slot, preset, Variant::Original, e))
            .collect();
        keys.push(object_key(job.owner, slot, preset, Variant::Preset, ext));
        keys.push(object_key(job.owner, slot, preset, Variant::Thumbnail, ext));
        keys
    }

    /// The job's images that were made and stored, the error to fail the job with if none, and
    /// whether a failed image's files could not be removed.
    async fn make(&self, job: &Job) -> (Vec<Image>, Option<JobError>, bool) {
        let Some(request) = self.catalog.provider_request(&job.request) else {
            return (
                Vec::new(),
                Some(JobError::new(
                    JobErrorCode::GenerationFailed,
                    "this model, style or quality is no longer offered; your credits were refunded",
                )),
                false,
            );
        };
        let answers = match self.provider.generate(&request).await {
            Ok(answers) => answers,
            Err(e) => {
                warn!(error = %e, "the provider failed the job");
                return (Vec::new(), Some(e.job_error()), false);
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
                    warn!(error = %failure, "an image of the job failed");
                    stranded |= matches!(failure, ImageFailure::Stranded(_));
                    first_error.get_or_insert_with(|| failure.job_error());
                }
            }
        }
        (images, first_error, stranded)
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
        let target = job.request.preset.size();
        let (source, processed) = tokio::task::spawn_blocking(move || {
            let processed = pipeline.process(&source, target);
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
            style: r.style.clone(),
            preset: r.preset,
            quality: r.quality.clone(),
            width: processed.preset.width,
            height: processed.preset.height,
            tags: Tags::clone(&r.tags),
            visibility: Visibility::Private,
            likes: 0,
            created_at: OffsetDateTime::now_utc(),
            original_ext: processed.source_format.ext().to_owned(),
            variant_ext: processed.format.ext().to_owned(),
        };
        let variant_type = processed.format.content_type();
        let uploads = futures::future::try_join3(
            self.files.put(
                &image.object_key(Variant::Original),
                source,
                processed.source_format.content_type(),
            ),
            self.files.put(
                &image.object_key(Variant::Preset),
                processed.preset.bytes,
                variant_type,
            ),
            self.files.put(
                &image.object_key(Variant::Thumbnail),
                processed.thumbnail.bytes,
                variant_type,
            ),
        )
        .await;
        if let Err(e) = uploads {
            let keys: Vec<String> = [Variant::Original, Variant::Preset, Variant::Thumbnail]
                .into_iter()
                .map(|v| image.object_key(v))
                .collect();
            if let Err(removal) = self.files.remove(&keys).await {
                error!(error = %removal, "removing a failed image's files failed");
                return Err(ImageFailure::Stranded(e));
            }
            return Err(ImageFailure::Storage(e));
        }
        Ok(image)
    }
}
