//! The remote services, faked: an image provider that answers what the test scripted, and a
//! payment provider that opens numbered checkout pages.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
};

use artforge_domain::{
    CheckoutPage, ImageProvider, Pack, PaymentError, Payments, ProviderError, ProviderRequest, User,
};

use crate::Faults;

/// One scripted answer: per image asked for, its bytes or why not; or the whole call failing.
pub type Answer = Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>;

/// An image provider whose answers are scripted; once the script runs out, every image asked
/// for is `image`.
#[derive(Clone)]
pub struct FakeProvider {
    image: Arc<Vec<u8>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    requests: Arc<Mutex<Vec<ProviderRequest>>>,
}

impl FakeProvider {
    /// A provider that answers `image` for every image.
    pub fn answering(image: Vec<u8>) -> Self {
        Self {
            image: Arc::new(image),
            script: Arc::default(),
            requests: Arc::default(),
        }
    }

    /// The next call answers `answer` instead.
    pub fn then(&self, answer: Answer) -> &Self {
        self.script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(answer);
        self
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
}

/// A payment provider that opens `cs_fake_<n>` sessions.
#[derive(Debug, Clone, Default)]
pub struct FakePayments {
    opened: Arc<AtomicU32>,
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
}

impl Payments for FakePayments {
    async fn checkout(&self, user: &User, pack: &Pack) -> Result<CheckoutPage, PaymentError> {
        self.faults
            .check("checkout")
            .map_err(|e| PaymentError::Unavailable(Box::new(e)))?;
        let n = self.opened.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(CheckoutPage {
            session_id: format!("cs_fake_{n}"),
            url: format!("https://checkout.example/{}/{}/{n}", user.id, pack.id),
        })
    }
}
