//! Live previews while a job runs (DESIGN §10). The runner asks the provider for
//! [`PreviewPolicy::partial_images`] partial images of the job's first image; [`record`]
//! takes each as it arrives, stores it as a small JPEG under `previews/<userId>/<jobId>/<n>`
//! and lists how many there are on the job, so the owner polling the job sees the picture
//! form. When the job ends, whoever ends it removes the files (the runner's and the sweeper's
//! removals include [`artforge_domain::preview::preview_keys`]); the bucket's lifecycle rule
//! expires `previews/` after a day should a removal fail.
//!
//! The throttle: the job's list is written at once for the first partial image, then at most
//! once per [`PreviewPolicy::write_interval`]; a partial image that arrives sooner is stored at
//! once and listed by the write at the end of the interval (one write for the whole burst).
//! Once the provider has answered, nothing more is listed (the job is about to be finished,
//! which lists none). A preview is only a preview: one that cannot be decoded or stored is
//! skipped, and a failed list write is tried again with the next one.

use std::time::Duration;

use artforge_domain::{
    FileUploads, Job, Jobs, Lease, PartialImage,
    preview::{MAX_PREVIEWS, preview_key},
};
use artforge_imaging::{ImageFormat, Pipeline, PipelineConfig};
use tokio::{sync::mpsc::UnboundedReceiver, time::Instant};
use tracing::{debug, warn};

/// What live previews the worker asks for and how it keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewPolicy {
    /// Partial images asked of the provider (0-3; 0: no streaming, no previews).
    pub partial_images: u8,
    /// At most one write of a job's preview list per this interval.
    pub write_interval: Duration,
    /// The longest side of a stored preview, in pixels.
    pub longest: u32,
    /// The previews' JPEG quality.
    pub quality: u8,
}

impl Default for PreviewPolicy {
    /// Two partial images, a write per second at most, 512-pixel JPEGs at quality 70.
    fn default() -> Self {
        Self {
            partial_images: 2,
            write_interval: Duration::from_secs(1),
            longest: 512,
            quality: 70,
        }
    }
}

impl PreviewPolicy {
    /// No previews: the provider is not asked to stream.
    pub fn off() -> Self {
        Self {
            partial_images: 0,
            ..Self::default()
        }
    }

    pub fn partial_images(&self) -> u8 {
        self.partial_images.min(MAX_PREVIEWS)
    }
}

/// Stores and lists the partial images of `job` (held under `lease`) as they come from
/// `partials`, until it closes. Returns how many it stored.
pub async fn record<J: Jobs, F: FileUploads>(
    jobs: &J,
    files: &F,
    job: &Job,
    lease: &Lease,
    policy: &PreviewPolicy,
    mut partials: UnboundedReceiver<PartialImage>,
) -> u8 {
    let mut stored: u8 = 0;
    let mut listed: u8 = 0;
    let mut last_write: Option<Instant> = None;
    // The lease is gone (the job was finished or taken over): list nothing more.
    let mut refused = false;
    loop {
        let pending = stored > listed && !refused;
        let due = last_write.map_or_else(Instant::now, |at| at + policy.write_interval);
        tokio::select! {
            partial = partials.recv() => {
                let Some(partial) = partial else { break };
                if refused || !store(files, job, policy, partial.clone()).await {
                    continue;
                }
                stored = stored.max(partial.index + 1);
                if last_write.is_some_and(|at| at.elapsed() < policy.write_interval) {
                    continue;
                }
            }
            () = tokio::time::sleep_until(due), if pending => {}
        }
        if stored > listed && !refused {
            last_write = Some(Instant::now());
            match jobs.list_previews(job.owner, job.id, lease, stored).await {
                Ok(true) => listed = stored,
                Ok(false) => {
                    debug!("the job is no longer this worker's; its previews are not listed");
                    refused = true;
                }
                Err(e) => {
                    warn!(error = %e, "listing the job's previews failed; tried again with the next")
                }
            }
        }
    }
    stored
}

/// Stores one partial image as a small JPEG; `false` when it could not be.
async fn store<F: FileUploads>(
    files: &F,
    job: &Job,
    policy: &PreviewPolicy,
    partial: PartialImage,
) -> bool {
    let index = partial.index;
    let (longest, quality) = (policy.longest, policy.quality);
    let made = tokio::task::spawn_blocking(move || small_jpeg(&partial.bytes, longest, quality))
        .await
        .map_err(|e| e.to_string())
        .and_then(|made| made.map_err(|e| e.to_string()));
    let bytes = match made {
        Ok(bytes) => bytes,
        Err(e) => {
            warn!(index, error = %e, "a partial image could not be made a preview; skipped");
            return false;
        }
    };
    let key = preview_key(job.owner, job.id, index);
    match files
        .put(&key, bytes, ImageFormat::Jpeg.content_type())
        .await
    {
        Ok(()) => true,
        Err(e) => {
            warn!(index, error = %e, "storing a preview failed; skipped");
            false
        }
    }
}

/// `source` scaled to `longest` pixels on its longest side (never up), as JPEG.
pub fn small_jpeg(
    source: &[u8],
    longest: u32,
    quality: u8,
) -> Result<Vec<u8>, artforge_imaging::PipelineError> {
    let pipeline = Pipeline::new(PipelineConfig {
        format: ImageFormat::Jpeg,
        quality,
        ..PipelineConfig::default()
    });
    let decoded = pipeline.decode(source)?;
    let (width, height) = (decoded.frame().width(), decoded.frame().height());
    let scale = f64::from(longest.max(1)) / f64::from(width.max(height).max(1));
    let size = if scale >= 1.0 {
        (width, height)
    } else {
        let side = |edge: u32| ((f64::from(edge) * scale).round() as u32).max(1);
        (side(width), side(height))
    };
    let frame = pipeline.cover(&decoded, size)?;
    Ok(pipeline.encode(&frame)?.bytes)
}
