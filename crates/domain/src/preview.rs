//! Live previews (DESIGN §10): while a job runs, the provider may stream partial images of its
//! first image; the worker stores each as a small JPEG under [`preview_key`] and lists how many
//! there are on the job, so a client polling the job sees the picture form. When the job ends,
//! the files are removed (and the bucket's lifecycle rule expires `previews/` after a day, in
//! case a removal failed).

use std::{fmt, sync::Arc};

use crate::{JobId, UserId};

/// The most partial images a provider sends for one image (the images API takes 0-3).
pub const MAX_PREVIEWS: u8 = 3;

/// Where a job's `n`th partial image is stored.
pub fn preview_key(owner: UserId, job: JobId, n: u8) -> String {
    format!("previews/{owner}/{job}/{n}")
}

/// Every key a job's previews may have, whoever stored them.
pub fn preview_keys(owner: UserId, job: JobId) -> Vec<String> {
    (0..MAX_PREVIEWS)
        .map(|n| preview_key(owner, job, n))
        .collect()
}

/// One partial image as the provider streamed it: its index (from 0) and its bytes, in the
/// provider's format and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialImage {
    pub index: u8,
    pub bytes: Vec<u8>,
}

/// Where a provider sends the partial images it streams, as they arrive, and how many the
/// caller wants. A provider that does not stream sends none; so does [`Partials::none`].
#[derive(Clone)]
pub struct Partials {
    wanted: u8,
    send: Option<Arc<dyn Fn(PartialImage) + Send + Sync>>,
}

impl Partials {
    /// No previews: the provider is not asked to stream.
    pub fn none() -> Self {
        Self {
            wanted: 0,
            send: None,
        }
    }

    /// `wanted` partial images (at most [`MAX_PREVIEWS`]), each handed to `send`.
    pub fn new(wanted: u8, send: impl Fn(PartialImage) + Send + Sync + 'static) -> Self {
        Self {
            wanted: wanted.min(MAX_PREVIEWS),
            send: Some(Arc::new(send)),
        }
    }

    /// How many partial images to ask for; 0: do not stream.
    pub fn wanted(&self) -> u8 {
        if self.send.is_some() { self.wanted } else { 0 }
    }

    /// Hands one partial image on; one past the number wanted is dropped.
    pub fn send(&self, partial: PartialImage) {
        if let Some(send) = &self.send
            && partial.index < self.wanted
        {
            send(partial);
        }
    }
}

impl fmt::Debug for Partials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partials")
            .field("wanted", &self.wanted())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn preview_keys_are_per_user_and_job_and_cover_every_index_a_provider_sends() {
        let (owner, job) = (UserId::new(), JobId::new());
        assert_eq!(
            preview_key(owner, job, 1),
            format!("previews/{owner}/{job}/1")
        );
        let keys = preview_keys(owner, job);
        assert_eq!(keys.len(), usize::from(MAX_PREVIEWS));
        assert!(keys.contains(&preview_key(owner, job, MAX_PREVIEWS - 1)));
    }

    #[test]
    fn partials_pass_on_only_the_indices_wanted() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let partials = Partials::new(2, move |p| sink.lock().expect("lock").push(p.index));
        assert_eq!(partials.wanted(), 2);
        for index in 0..4 {
            partials.send(PartialImage {
                index,
                bytes: Vec::new(),
            });
        }
        assert_eq!(*seen.lock().expect("lock"), vec![0, 1]);
        assert_eq!(Partials::none().wanted(), 0);
        assert_eq!(Partials::new(9, |_| {}).wanted(), MAX_PREVIEWS);
    }
}
