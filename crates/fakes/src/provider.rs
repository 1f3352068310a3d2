//! The remote services, faked: an image provider that answers what the test scripted, and a
//! payment provider that opens numbered checkout pages and reports them as a test paid them.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use artforge_domain::{
    CheckoutPage, ImageProvider, Pack, PartialImage, Partials, PaymentError, Payments,
    ProviderError, ProviderRequest, SessionState, User, edit::EditFiles,
};

use crate::Faults;

/// One scripted answer: per image asked for, its bytes or why not; or the whole call failing.
pub type Answer = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>;

/// An image provider whose answers are scripted; once the script runs out, every image asked
/// for is `image`. It streams nothing unless told to ([`FakeProvider::streaming`]).
#[derive(Clone)]
pub struct FakeProvider {
    image: Arc<Vec<u8>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    requests: Arc<Mutex<Vec<ProviderRequest>>>,
    edits: Arc<Mutex<Vec<EditFiles>>>,
    stream: Option<Stream>,
    /// The partial images asked for, per call with previews.
    wanted: Arc<Mutex<Vec<u8>>>,
}

/// What a streaming fake sends before it answers.
#[derive(Clone)]
struct Stream {
    partials: Arc<Vec<Vec<u8>>>,
    pause: Duration,
}

impl FakeProvider {
    /// A provider that answers `image` for every image.
    pub fn answering(image: Vec<u8>) -> Self {
        Self {
            image: Arc::new(image),
            script: Arc::default(),
            requests: Arc::default(),
            stream: None,
            wanted: Arc::default(),
            edits: Arc::default(),
        }
    }

    /// A provider that streams: asked for previews, it sends `partials` (as many as asked
    /// for, at once, as a burst would come), waits `pause`, then answers.
    pub fn streaming(self, partials: Vec<Vec<u8>>, pause: Duration) -> Self {
        Self {
            stream: Some(Stream {
                partials: Arc::new(partials),
                pause,
            }),
            ..self
        }
    }

    /// How many partial images each call with previews asked for.
    pub fn partials_asked(&self) -> Vec<u8> {
        self.wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The next call answers `answer` instead.
    pub fn then(&self, answer: Answer) -> &Self {
        self.script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(answer);
        self
    }

    /// The files of every edit asked for so far (its request is in [`FakeProvider::requests`]).
    pub fn edits(&self) -> Vec<EditFiles> {
        self.edits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every request made so far.
    pub fn requests(&self) -> Vec<ProviderRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ImageProvider for FakeProvider {
    async fn generate(&self, request: &ProviderRequest) -> Answer {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        let scripted = self
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        scripted.unwrap_or_else(|| {
            Ok((0..request.count)
                .map(|_| Ok(self.image.as_ref().clone()))
                .collect())
        })
    }

    async fn generate_with_previews(
        &self,
        request: &ProviderRequest,
        partials: &Partials,
    ) -> Answer {
        self.stream_partials(partials).await;
        self.generate(request).await
    }

    /// Recorded, then answered from the same script as generations.
    async fn edit(&self, request: &ProviderRequest, files: &EditFiles) -> Answer {
        self.edits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(files.clone());
        self.generate(request).await
    }

    /// Streams as [`ImageProvider::generate_with_previews`] does, then answers as
    /// [`ImageProvider::edit`] does.
    async fn edit_with_previews(
        &self,
        request: &ProviderRequest,
        files: &EditFiles,
        partials: &Partials,
    ) -> Answer {
        self.stream_partials(partials).await;
        self.edit(request, files).await
    }
}

impl FakeProvider {
    /// Records the partial images asked for and, when streaming, sends them and pauses.
    async fn stream_partials(&self, partials: &Partials) {
        self.wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(partials.wanted());
        if let Some(stream) = &self.stream
            && partials.wanted() > 0
        {
            for (index, bytes) in (0..partials.wanted()).zip(stream.partials.iter()) {
                partials.send(PartialImage {
                    index,
                    bytes: bytes.clone(),
                });
            }
            tokio::time::sleep(stream.pause).await;
        }
    }
}

/// A payment provider that opens `cs_fake_<n>` sessions, unpaid until [`FakePayments::pay`].
#[derive(Debug, Clone, Default)]
pub struct FakePayments {
    opened: Arc<AtomicU32>,
    sessions: Arc<Mutex<HashMap<String, SessionState>>>,
    pub faults: Faults,
}

impl FakePayments {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many checkout pages were opened.
    pub fn opened(&self) -> u32 {
        self.opened.load(Ordering::SeqCst)
    }

    /// The customer pays session `id` (as Stripe would report it after checkout); the
    /// payment intent is `pi_fake_<session>`. Returns the session as it is now, `None` for a
    /// session this provider never opened.
    pub fn pay(&self, id: &str) -> Option<SessionState> {
        self.update(id, |session| {
            session.paid = true;
            session.payment_intent = Some(format!("pi_fake_{id}"));
        })
    }

    /// Changes session `id` as a test needs (another amount, metadata, unpaid...).
    pub fn update(&self, id: &str, change: impl FnOnce(&mut SessionState)) -> Option<SessionState> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let session = sessions.get_mut(id)?;
        change(session);
        Some(session.clone())
    }
}

impl Payments for FakePayments {
    async fn checkout(&self, user: &User, pack: &Pack) -> Result<CheckoutPage, PaymentError> {
        self.faults
            .check("checkout")
            .map_err(|e| PaymentError::Unavailable(Box::new(e)))?;
        let n = self.opened.fetch_add(1, Ordering::SeqCst) + 1;
        let session_id = format!("cs_fake_{n}");
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                session_id.clone(),
                SessionState {
                    id: session_id.clone(),
                    paid: false,
                    payment_intent: None,
                    amount_total: Some(pack.amount),
                    currency: Some(pack.currency.clone()),
                    user: Some(user.id.to_string()),
                    pack: Some(pack.id.to_string()),
                },
            );
        Ok(CheckoutPage {
            session_id,
            url: format!("https://checkout.example/{}/{}/{n}", user.id, pack.id),
        })
    }

    async fn session(&self, id: &str) -> Result<Option<SessionState>, PaymentError> {
        self.faults
            .check("session")
            .map_err(|e| PaymentError::Unavailable(Box::new(e)))?;
        Ok(self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned())
    }
}
