//! One in-memory store behind every storage port, as `DynamoStore` is one table behind them.
//! Each method takes the lock once, so it is atomic; the checks mirror the adapter's
//! conditions, in the adapter's order where the order decides the answer.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use artforge_domain::{
    Accounts, Admission, Attempt, Claim, ClientAddress, CreditCause, Credits, DisplayName, Email,
    Holder, Idempotency, IdempotencyKey, Image, ImageFilter, ImageId, Images, Job, JobId,
    JobStatus, Jobs, Lease, Ledger, LedgerEntry, LedgerOutcome, Likes, LimitReached, LoginThrottle,
    Movement, NewAccount, Page, PageRequest, PasswordHash, Payment, Purchase, PurchaseSettlement,
    PurchaseStatus, Purchases, RateKey, RateLimits, Remembered, Search, Sessions, Settled,
    Settlement, StoreError, SubmitRefusal, Tag, Tags, UnindexedImages, User, UserId, Visibility,
    Wallet, limits::utc_day, settle,
};
use artforge_domain::{StuckJobs, Unfinished};
use time::OffsetDateTime;

use crate::Faults;

mod erasure;

/// How long an idempotency key is remembered (as the adapter keeps it).
const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<UserId, (User, PasswordHash)>,
    emails: HashMap<Email, UserId>,
    /// Emails that received signup credits (kept after their account is gone).
    signups: HashSet<Email>,
    wallets: HashMap<UserId, Wallet>,
    /// Effect guards: (user, cause) -> the entry the cause wrote.
    guards: HashMap<(UserId, String), String>,
    ledger: BTreeMap<UserId, Vec<LedgerEntry>>,
    revoked: HashSet<(UserId, String)>,
    attempts: HashMap<(Email, ClientAddress), Attempts>,
    /// Rate windows: (key, window start) -> (count, window end).
    rates: HashMap<(String, OffsetDateTime), (u64, OffsetDateTime)>,
    /// Images, with whether they are retired (being deleted).
    images: BTreeMap<(UserId, ImageId), (Image, bool)>,
    /// Images written before search (no words, no index entries): searches miss them until
    /// an update re-files them (ADR 0140).
    unindexed: HashSet<(UserId, ImageId)>,
    /// Likes: (liker, image) -> (like order, the image's owner).
    likes: BTreeMap<(UserId, ImageId), (u64, UserId)>,
    like_seq: u64,
    purchases: BTreeMap<(UserId, String), Purchase>,
    payments: HashMap<String, Payment>,
    jobs: BTreeMap<(UserId, JobId), (Job, Option<Lease>)>,
    idempotency: HashMap<(UserId, String), (Remembered, OffsetDateTime)>,
    /// When the sweeper sent a queued job to the queue again.
    resent: HashMap<(UserId, JobId), OffsetDateTime>,
    counters: HashMap<String, u64>,
    entry_seq: u64,
    /// Closed accounts, with when they closed (their wallets and ledgers stay).
    closed: HashMap<UserId, OffsetDateTime>,
    archives: BTreeMap<(UserId, artforge_domain::ArchiveId), artforge_domain::Archive>,
}

/// Every storage port in memory. Clones share the state.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    pub faults: Faults,
    /// The model-lifecycle check's findings (module `models`).
    pub(crate) notices: Arc<Mutex<HashMap<String, artforge_domain::ModelNotice>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every ledger entry of `user`, oldest first (for tests' books).
    pub fn entries(&self, user: UserId) -> Vec<LedgerEntry> {
        self.lock().ledger.get(&user).cloned().unwrap_or_default()
    }

    /// Whether every balance equals the sum of its ledger and is not negative.
    pub fn books_balance(&self) -> bool {
        let state = self.lock();
        state.users.iter().all(|(id, (user, _))| {
            let sum: i64 = state
                .ledger
                .get(id)
                .map(|entries| entries.iter().map(|e| e.delta).sum())
                .unwrap_or(0);
            i64::try_from(user.credits.get()) == Ok(sum)
        })
    }

    /// Removes an account and its email, as account deletion will; what the email received
    /// (its signup marker) stays.
    pub fn close_account(&self, user: UserId) {
        let mut state = self.lock();
        if let Some((closed, _)) = state.users.remove(&user) {
            state.emails.remove(&closed.email);
            state.wallets.remove(&user);
        }
    }

    /// Makes a stored image one written before search (ADR 0140): without words or index
    /// entries, so searches miss it until an update re-files it.
    pub fn unindex(&self, owner: UserId, id: ImageId) {
        self.lock().unindexed.insert((owner, id));
    }

    /// Every job of every user (for tests that look at what a use case left).
    pub fn all_jobs(&self) -> Vec<Job> {
        self.lock().jobs.values().map(|(j, _)| j.clone()).collect()
    }
}

/// A page of `items` (already in list order) after the item whose position is `after`.
fn page_of<T>(
    items: Vec<T>,
    page: &PageRequest,
    position: impl Fn(&T) -> String,
) -> Result<Page<T>, StoreError> {
    let skip = match &page.after {
        None => 0,
        Some(after) => {
            items
                .iter()
                .position(|i| &position(i) == after)
                .ok_or(StoreError::BadPosition)?
                + 1
        }
    };
    let limit = usize::from(page.limit);
    let mut rest: Vec<T> = items.into_iter().skip(skip).collect();
    let next = (rest.len() > limit).then(|| position(&rest[limit - 1]));
    rest.truncate(limit);
    Ok(Page { items: rest, next })
}

impl State {
    /// Whether an image can be found by a list that searches (`searching`): only once it is
    /// indexed.
    fn searchable(&self, key: &(UserId, ImageId), searching: bool) -> bool {
        !searching || !self.unindexed.contains(key)
    }

    fn wallet(&self, user: UserId) -> Result<Wallet, StoreError> {
        self.wallets.get(&user).copied().ok_or(StoreError::NotFound)
    }

    fn guard(&self, user: UserId, cause: &CreditCause) -> Option<&String> {
        self.guards.get(&(user, cause.effect_key()))
    }

    /// The ledger's one movement, as `Ledger::apply` makes it: guard, settle, entry, balance.
    fn apply(
        &mut self,
        user: UserId,
        cause: &CreditCause,
        movement: Movement,
    ) -> Result<LedgerOutcome, StoreError> {
        let wallet = self.wallet(user)?;
        if self.guard(user, cause).is_some() {
            return Ok(LedgerOutcome::AlreadyApplied {
                balance: wallet.balance,
            });
        }
        let settlement = settle(wallet, movement)?;
        Ok(self.record(user, cause, &settlement))
    }

    /// Writes a settled movement.
    fn record(&mut self, user: UserId, cause: &CreditCause, settled: &Settlement) -> LedgerOutcome {
        let (delta, balance_after) = (settled.delta, settled.after.balance);
        self.entry_seq += 1;
        let entry = LedgerEntry {
            id: format!("{:020}", self.entry_seq),
            user,
            delta,
            reason: cause.reason().to_owned(),
            reference: cause.reference(),
            balance_after,
            created_at: OffsetDateTime::now_utc(),
        };
        self.guards
            .insert((user, cause.effect_key()), entry.id.clone());
        self.ledger.entry(user).or_default().push(entry.clone());
        if let Some((u, _)) = self.users.get_mut(&user) {
            u.credits = balance_after;
        }
        self.wallets.insert(user, settled.after);
        LedgerOutcome::Applied {
            entry,
            shortfall: settled.shortfall,
        }
    }

    fn live_image(&self, owner: UserId, id: ImageId) -> Option<&Image> {
        match self.images.get(&(owner, id)) {
            Some((image, false)) => Some(image),
            _ => None,
        }
    }
}

impl Accounts for MemoryStore {
    async fn create(&self, account: NewAccount) -> Result<User, StoreError> {
        self.faults.store("create")?;
        let mut state = self.lock();
        if state.emails.contains_key(&account.email) {
            return Err(StoreError::EmailTaken);
        }
        let signup = account.signup_credits;
        if signup > Credits::ZERO && state.signups.contains(&account.email) {
            return Err(StoreError::SignupCreditsUsed);
        }
        let user = User {
            id: account.id,
            email: account.email.clone(),
            name: account.name,
            credits: account.signup_credits,
            token_version: 0,
            created_at: account.created_at,
        };
        if signup > Credits::ZERO {
            state.signups.insert(account.email.clone());
        }
        state.emails.insert(account.email, account.id);
        state
            .users
            .insert(account.id, (user.clone(), account.password_hash));
        state.wallets.insert(account.id, Wallet::default());
        let settled = settle(Wallet::default(), Movement::GrantFree(signup))?;
        state.record(account.id, &CreditCause::Signup, &settled);
        Ok(user)
    }

    async fn credentials(&self, email: &Email) -> Result<Option<(User, PasswordHash)>, StoreError> {
        self.faults.store("credentials")?;
        let state = self.lock();
        Ok(state
            .emails
            .get(email)
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn credentials_of(
        &self,
        user: UserId,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        self.faults.store("credentials_of")?;
        Ok(self.lock().users.get(&user).cloned())
    }

    async fn get(&self, user: UserId) -> Result<Option<User>, StoreError> {
        self.faults.store("get")?;
        Ok(self.lock().users.get(&user).map(|(u, _)| u.clone()))
    }

    async fn rename(&self, user: UserId, name: &DisplayName) -> Result<User, StoreError> {
        self.faults.store("rename")?;
        let mut state = self.lock();
        let (u, _) = state.users.get_mut(&user).ok_or(StoreError::NotFound)?;
        u.name = Some(name.clone());
        Ok(u.clone())
    }

    async fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        expected_version: u64,
    ) -> Result<User, StoreError> {
        self.faults.store("change_password")?;
        let mut state = self.lock();
        match state.users.get_mut(&user) {
            Some((u, stored)) if u.token_version == expected_version => {
                *stored = hash.clone();
                u.token_version += 1;
                Ok(u.clone())
            }
            _ => Err(StoreError::Contention),
        }
    }

    async fn revoke_all_tokens(&self, user: UserId) -> Result<(), StoreError> {
        self.faults.store("revoke_all_tokens")?;
        let mut state = self.lock();
        let (u, _) = state.users.get_mut(&user).ok_or(StoreError::NotFound)?;
        u.token_version += 1;
        Ok(())
    }
}

impl Sessions for MemoryStore {
    async fn is_active(
        &self,
        user: UserId,
        token_version: u64,
        token_id: &str,
    ) -> Result<bool, StoreError> {
        self.faults.store("is_active")?;
        let state = self.lock();
        Ok(state
            .users
            .get(&user)
            .is_some_and(|(u, _)| u.token_version == token_version)
            && !state.revoked.contains(&(user, token_id.to_owned())))
    }

    async fn revoke(
        &self,
        user: UserId,
        token_id: &str,
        _expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.faults.store("revoke")?;
        self.lock().revoked.insert((user, token_id.to_owned()));
        Ok(())
    }
}

/// The login attempts at one (email, address), as the adapter's item holds them.
#[derive(Debug, Clone, Copy)]
struct Attempts {
    count: u32,
    hold: Option<(u32, OffsetDateTime)>,
    expires_at: OffsetDateTime,
}

impl LoginThrottle for MemoryStore {
    async fn begin_attempt(
        &self,
        email: &Email,
        from: ClientAddress,
        now: OffsetDateTime,
        keep: time::Duration,
    ) -> Result<Attempt, StoreError> {
        self.faults.store("begin_attempt")?;
        let mut state = self.lock();
        let fresh = Attempts {
            count: 0,
            hold: None,
            expires_at: now + keep,
        };
        let attempts = state
            .attempts
            .entry((email.clone(), from))
            .and_modify(|a| {
                if a.expires_at <= now {
                    *a = fresh;
                }
            })
            .or_insert(fresh);
        if let Some((_, until)) = attempts.hold.filter(|(_, until)| *until > now) {
            return Ok(Attempt::Held { until });
        }
        attempts.count += 1;
        attempts.expires_at = now + keep;
        Ok(Attempt::Counted {
            number: attempts.count,
            turn: attempts.hold.map(|(turn, _)| turn),
        })
    }

    async fn hold(
        &self,
        email: &Email,
        from: ClientAddress,
        turn: u32,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.faults.store("hold")?;
        if let Some(attempts) = self.lock().attempts.get_mut(&(email.clone(), from))
            && attempts.hold.is_none_or(|(_, held)| held < until)
        {
            attempts.hold = Some((turn, until));
        }
        Ok(())
    }

    async fn clear(&self, email: &Email, from: ClientAddress) -> Result<(), StoreError> {
        self.faults.store("clear")?;
        self.lock().attempts.remove(&(email.clone(), from));
        Ok(())
    }
}

impl RateLimits for MemoryStore {
    async fn count(
        &self,
        key: &RateKey,
        window_start: OffsetDateTime,
        window_end: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.faults.store("count")?;
        let mut state = self.lock();
        let window = state
            .rates
            .entry((key.to_string(), window_start))
            .or_insert((0, window_end));
        window.0 += 1;
        Ok(window.0)
    }
}

impl Ledger for MemoryStore {
    async fn apply(
        &self,
        user: UserId,
        cause: &CreditCause,
        movement: Movement,
    ) -> Result<LedgerOutcome, StoreError> {
        self.faults.store("apply")?;
        self.lock().apply(user, cause, movement)
    }

    async fn balance(&self, user: UserId) -> Result<Credits, StoreError> {
        self.faults.store("balance")?;
        Ok(self.lock().wallet(user)?.balance)
    }

    async fn wallet(&self, user: UserId) -> Result<Wallet, StoreError> {
        self.faults.store("wallet")?;
        self.lock().wallet(user)
    }

    async fn history(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        self.faults.store("history")?;
        let mut entries = self.lock().ledger.get(&user).cloned().unwrap_or_default();
        entries.reverse();
        page_of(entries, &page, |e| e.id.clone())
    }
}

impl Images for MemoryStore {
    async fn add(&self, image: &Image) -> Result<(), StoreError> {
        self.faults.store("add")?;
        let mut state = self.lock();
        let key = (image.owner, image.id);
        if state.images.contains_key(&key) {
            return Err(StoreError::Unavailable("the image exists".into()));
        }
        state.images.insert(key, (image.clone(), false));
        Ok(())
    }

    async fn image(&self, owner: UserId, id: ImageId) -> Result<Option<Image>, StoreError> {
        self.faults.store("image")?;
        Ok(self.lock().live_image(owner, id).cloned())
    }

    async fn images_by_id(&self, owner: UserId, ids: &[ImageId]) -> Result<Vec<Image>, StoreError> {
        self.faults.store("images_by_id")?;
        let state = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| state.live_image(owner, *id).cloned())
            .collect())
    }

    async fn public_image(&self, id: ImageId) -> Result<Option<Image>, StoreError> {
        self.faults.store("public_image")?;
        Ok(self
            .lock()
            .images
            .values()
            .find(|(i, retired)| !retired && i.id == id && i.visibility == Visibility::Public)
            .map(|(i, _)| i.clone()))
    }

    async fn images(
        &self,
        owner: UserId,
        filter: &ImageFilter,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        self.faults.store("images")?;
        let state = self.lock();
        let found: Vec<Image> = state
            .images
            .range((owner, ImageId::MIN)..=(owner, ImageId::MAX))
            .rev()
            .filter(|(key, (i, retired))| {
                !retired && filter.matches(i) && state.searchable(key, filter.search.is_some())
            })
            .map(|(_, (i, _))| i.clone())
            .collect();
        page_of(found, &page, |i| i.id.to_string())
    }

    async fn update(
        &self,
        owner: UserId,
        id: ImageId,
        tags: Option<&Tags>,
        visibility: Option<Visibility>,
    ) -> Result<Image, StoreError> {
        self.faults.store("update")?;
        let mut state = self.lock();
        match state.images.get_mut(&(owner, id)) {
            Some((image, false)) => {
                if let Some(tags) = tags {
                    image.tags = tags.clone();
                }
                if let Some(visibility) = visibility {
                    image.visibility = visibility;
                }
                let image = image.clone();
                state.unindexed.remove(&(owner, id));
                Ok(image)
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn retire(&self, owner: UserId, id: ImageId) -> Result<Option<Image>, StoreError> {
        self.faults.store("retire")?;
        let mut state = self.lock();
        Ok(state.images.get_mut(&(owner, id)).map(|(image, retired)| {
            *retired = true;
            image.clone()
        }))
    }

    async fn forget(&self, owner: UserId, id: ImageId) -> Result<(), StoreError> {
        self.faults.store("forget")?;
        let mut state = self.lock();
        state.images.remove(&(owner, id));
        state.unindexed.remove(&(owner, id));
        Ok(())
    }

    async fn tag_counts(&self, owner: UserId) -> Result<Vec<(Tag, u64)>, StoreError> {
        self.faults.store("tag_counts")?;
        let mut counts: HashMap<Tag, u64> = HashMap::new();
        for (image, retired) in self
            .lock()
            .images
            .range((owner, ImageId::MIN)..=(owner, ImageId::MAX))
            .map(|(_, v)| v)
        {
            if !retired {
                for tag in image.tags.iter() {
                    *counts.entry(tag.clone()).or_default() += 1;
                }
            }
        }
        let mut counts: Vec<(Tag, u64)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(counts)
    }

    async fn feed(&self, page: PageRequest) -> Result<Page<Image>, StoreError> {
        self.faults.store("feed")?;
        let mut public: Vec<Image> = self
            .lock()
            .images
            .values()
            .filter(|(i, retired)| !retired && i.visibility == Visibility::Public)
            .map(|(i, _)| i.clone())
            .collect();
        public.sort_by_key(|i| std::cmp::Reverse(i.id));
        page_of(public, &page, |i| i.id.to_string())
    }

    async fn search_feed(
        &self,
        search: &Search,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        self.faults.store("search_feed")?;
        let state = self.lock();
        let mut found: Vec<Image> = state
            .images
            .iter()
            .filter(|(key, (i, retired))| {
                !retired
                    && i.visibility == Visibility::Public
                    && search.matches(i)
                    && state.searchable(key, true)
            })
            .map(|(_, v)| v)
            .map(|(i, _)| i.clone())
            .collect();
        found.sort_by_key(|i| std::cmp::Reverse(i.id));
        page_of(found, &page, |i| i.id.to_string())
    }
}

/// Positions are `<owner>/<imageId>`, in the order of the images' keys.
impl UnindexedImages for MemoryStore {
    async fn unindexed_images(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Image>, StoreError> {
        self.faults.store("unindexed_images")?;
        let from = match after {
            None => None,
            Some(position) => {
                let (owner, id) = position.split_once('/').ok_or(StoreError::BadPosition)?;
                Some((
                    owner.parse().map_err(|_| StoreError::BadPosition)?,
                    id.parse().map_err(|_| StoreError::BadPosition)?,
                ))
            }
        };
        let state = self.lock();
        let mut read = state
            .images
            .iter()
            .filter(|(key, _)| from.is_none_or(|from| **key > from));
        let mut items = Vec::new();
        let mut last = None;
        for (key, (image, retired)) in read.by_ref().take(limit.max(1)) {
            if !retired && state.unindexed.contains(key) {
                items.push(image.clone());
            }
            last = Some(*key);
        }
        let more = read.next().is_some();
        Ok(Page {
            items,
            next: last
                .filter(|_| more)
                .map(|(owner, id)| format!("{owner}/{id}")),
        })
    }
}

impl Likes for MemoryStore {
    async fn like(&self, user: UserId, image: &Image) -> Result<u64, StoreError> {
        self.faults.store("like")?;
        let mut state = self.lock();
        let key = (user, image.id);
        if state.likes.contains_key(&key) {
            return state
                .live_image(image.owner, image.id)
                .map(|i| i.likes)
                .ok_or(StoreError::NotFound);
        }
        let may = state
            .live_image(image.owner, image.id)
            .is_some_and(|i| i.owner == user || i.visibility == Visibility::Public);
        if !may {
            return Err(StoreError::NotFound);
        }
        state.like_seq += 1;
        let seq = state.like_seq;
        state.likes.insert(key, (seq, image.owner));
        let (stored, _) = state
            .images
            .get_mut(&(image.owner, image.id))
            .ok_or(StoreError::NotFound)?;
        stored.likes += 1;
        Ok(stored.likes)
    }

    async fn unlike(&self, user: UserId, image: &Image) -> Result<u64, StoreError> {
        self.faults.store("unlike")?;
        let mut state = self.lock();
        let key = (user, image.id);
        if !state.likes.contains_key(&key) {
            return state
                .live_image(image.owner, image.id)
                .map(|i| i.likes)
                .ok_or(StoreError::NotFound);
        }
        // As the adapter's condition: the image exists (retired or not) and counts a like.
        match state.images.get_mut(&(image.owner, image.id)) {
            Some((stored, _)) if stored.likes > 0 => {
                stored.likes -= 1;
                let likes = stored.likes;
                let retired = state
                    .images
                    .get(&(image.owner, image.id))
                    .is_some_and(|(_, r)| *r);
                state.likes.remove(&key);
                if retired {
                    return Err(StoreError::NotFound);
                }
                Ok(likes)
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn liked_among(
        &self,
        user: UserId,
        ids: &[ImageId],
    ) -> Result<HashSet<ImageId>, StoreError> {
        self.faults.store("liked_among")?;
        let state = self.lock();
        Ok(ids
            .iter()
            .filter(|id| state.likes.contains_key(&(user, **id)))
            .copied()
            .collect())
    }

    async fn liked(
        &self,
        user: UserId,
        filter: &ImageFilter,
        page: PageRequest,
    ) -> Result<Page<Image>, StoreError> {
        self.faults.store("liked")?;
        let state = self.lock();
        let mut likes: Vec<(u64, Image)> = state
            .likes
            .range((user, ImageId::MIN)..=(user, ImageId::MAX))
            .filter_map(|((_, id), (seq, owner))| {
                state
                    .live_image(*owner, *id)
                    .filter(|i| {
                        i.is_visible_to(Some(user))
                            && filter.matches(i)
                            && state.searchable(&(*owner, *id), filter.search.is_some())
                    })
                    .map(|i| (*seq, i.clone()))
            })
            .collect();
        likes.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        let page = page_of(likes, &page, |(seq, _)| seq.to_string())?;
        Ok(Page {
            items: page.items.into_iter().map(|(_, i)| i).collect(),
            next: page.next,
        })
    }
}

impl Purchases for MemoryStore {
    async fn start(&self, purchase: &Purchase) -> Result<(), StoreError> {
        self.faults.store("start")?;
        self.lock()
            .purchases
            .entry((purchase.user, purchase.checkout_session.clone()))
            .or_insert_with(|| purchase.clone());
        Ok(())
    }

    async fn purchases(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<Purchase>, StoreError> {
        self.faults.store("purchases")?;
        let mut all: Vec<Purchase> = self
            .lock()
            .purchases
            .values()
            .filter(|p| p.user == user)
            .cloned()
            .collect();
        all.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.checkout_session.cmp(&a.checkout_session))
        });
        page_of(all, &page, |p| p.checkout_session.clone())
    }

    async fn purchase(
        &self,
        user: UserId,
        checkout_session: &str,
    ) -> Result<Option<Purchase>, StoreError> {
        self.faults.store("purchase")?;
        Ok(self
            .lock()
            .purchases
            .get(&(user, checkout_session.to_owned()))
            .cloned())
    }

    async fn settle_pending(&self, purchase: &Purchase) -> Result<(), StoreError> {
        self.faults.store("settle_pending")?;
        let mut state = self.lock();
        let key = (purchase.user, purchase.checkout_session.clone());
        match state.purchases.get_mut(&key) {
            None => {
                state.purchases.insert(key, purchase.clone());
            }
            Some(stored) if stored.status == PurchaseStatus::Pending => {
                stored.status = purchase.status;
            }
            Some(_) => {}
        }
        Ok(())
    }

    async fn payment(&self, id: &str) -> Result<Option<Payment>, StoreError> {
        self.faults.store("payment")?;
        Ok(self.lock().payments.get(id).cloned())
    }

    async fn settle(
        &self,
        payment: &Payment,
        purchase: Option<&PurchaseSettlement>,
    ) -> Result<Settled, StoreError> {
        self.faults.store("settle")?;
        let mut state = self.lock();
        let stored = state.payments.get(&payment.id).map_or(0, |p| p.version);
        if stored + 1 != payment.version {
            return Ok(Settled::Raced);
        }
        let mut shortfall = Credits::ZERO;
        if let Some(settlement) = purchase {
            let user = settlement.purchase.user;
            if let Some((cause, movement)) = &settlement.movement {
                match state.apply(user, cause, *movement)? {
                    LedgerOutcome::Applied { shortfall: s, .. } => shortfall = s,
                    LedgerOutcome::AlreadyApplied { .. } => return Ok(Settled::Raced),
                }
            }
            let key = (user, settlement.purchase.checkout_session.clone());
            let mut written = settlement.purchase.clone();
            if let Some(before) = state.purchases.get(&key) {
                written.created_at = before.created_at;
                written.shortfall = before.shortfall;
            }
            written.shortfall = written
                .shortfall
                .checked_add(shortfall)
                .map_err(StoreError::from)?;
            state.purchases.insert(key, written);
        }
        state.payments.insert(payment.id.clone(), payment.clone());
        Ok(Settled::Written { shortfall })
    }
}

impl Jobs for MemoryStore {
    async fn submit(
        &self,
        job: &Job,
        idempotency: Option<&Idempotency>,
        admission: &Admission,
        now: OffsetDateTime,
    ) -> Result<Credits, SubmitRefusal> {
        self.faults.store("submit")?;
        let mut state = self.lock();
        let cause = CreditCause::JobDebit(job.id);
        let wallet = state.wallet(job.owner)?;
        let settlement = settle(wallet, Movement::Debit(job.cost))?;
        if state.jobs.contains_key(&(job.owner, job.id)) || state.guard(job.owner, &cause).is_some()
        {
            return Err(StoreError::Corrupt("a new job's id is taken".into()).into());
        }
        if let Some(idem) = idempotency
            && state
                .idempotency
                .get(&(job.owner, idem.key.as_str().to_owned()))
                .is_some_and(|(_, expires)| *expires > now)
        {
            return Err(SubmitRefusal::KeyTaken);
        }
        let day = utc_day(job.created_at);
        let quota_key = format!("QUOTA#{}#{day}", job.owner);
        let images = u64::from(job.request.count);
        let quota = state.counters.get(&quota_key).copied().unwrap_or(0);
        if quota + images > u64::from(admission.limits.images_per_user) {
            return Err(LimitReached::DailyQuota.into());
        }
        let (free_spend, paid_spend) = admission.split(job.cost, settlement.free_used);
        let budgets = [
            (
                format!("SPEND#{day}"),
                paid_spend,
                admission.limits.spend_cap_micros,
                LimitReached::SpendCap,
            ),
            (
                format!("FREE#{day}"),
                free_spend,
                admission.limits.free_spend_cap_micros,
                LimitReached::FreeBudget,
            ),
        ];
        for (key, add, cap, reached) in &budgets {
            if *add > 0 && state.counters.get(key).copied().unwrap_or(0) + add > *cap {
                return Err((*reached).into());
            }
        }
        state.counters.insert(quota_key, quota + images);
        for (key, add, _, _) in budgets {
            if add > 0 {
                *state.counters.entry(key).or_default() += add;
            }
        }
        if let Some(idem) = idempotency {
            state.idempotency.insert(
                (job.owner, idem.key.as_str().to_owned()),
                (
                    Remembered {
                        job: job.id,
                        fingerprint: idem.fingerprint.clone(),
                    },
                    now + IDEMPOTENCY_TTL,
                ),
            );
        }
        let stored = Job {
            free_cost: settlement.free_used,
            ..job.clone()
        };
        state.jobs.insert((job.owner, job.id), (stored, None));
        let outcome = state.record(job.owner, &cause, &settlement);
        Ok(outcome.balance())
    }

    async fn remembered(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> Result<Option<Remembered>, StoreError> {
        self.faults.store("remembered")?;
        Ok(self
            .lock()
            .idempotency
            .get(&(owner, key.as_str().to_owned()))
            .filter(|(_, expires)| *expires > now)
            .map(|(r, _)| r.clone()))
    }

    async fn job(&self, owner: UserId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.faults.store("job")?;
        Ok(self.lock().jobs.get(&(owner, id)).map(|(j, _)| j.clone()))
    }

    async fn jobs(&self, owner: UserId, page: PageRequest) -> Result<Page<Job>, StoreError> {
        self.faults.store("jobs")?;
        let jobs: Vec<Job> = self
            .lock()
            .jobs
            .range((owner, JobId::MIN)..=(owner, JobId::MAX))
            .rev()
            .map(|(_, (j, _))| j.clone())
            .collect();
        page_of(jobs, &page, |j| j.id.to_string())
    }

    async fn claim(
        &self,
        owner: UserId,
        id: JobId,
        lease: Duration,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        self.faults.store("claim")?;
        let mut state = self.lock();
        let Some((job, held)) = state.jobs.get_mut(&(owner, id)) else {
            return Ok(Claim::Refused(None));
        };
        let claimable = match job.status {
            JobStatus::Queued => true,
            JobStatus::Running => held.as_ref().is_none_or(|l| l.until <= now),
            JobStatus::Succeeded | JobStatus::Failed => false,
        };
        if !claimable {
            return Ok(Claim::Refused(Some(job.clone())));
        }
        let granted = Lease {
            token: ulid::Ulid::generate().to_string(),
            until: now + lease,
        };
        job.status = JobStatus::Running;
        job.updated_at = now;
        *held = Some(granted.clone());
        Ok(Claim::Claimed(job.clone(), granted))
    }

    async fn finish(
        &self,
        job: &Job,
        holder: Holder<'_>,
        images: &[Image],
    ) -> Result<bool, StoreError> {
        self.faults.store("finish")?;
        let mut state = self.lock();
        let refund = CreditCause::JobRefund(job.id);
        if job.refunded > Credits::ZERO && state.guard(job.owner, &refund).is_some() {
            return Ok(false);
        }
        let may = match (state.jobs.get(&(job.owner, job.id)), holder) {
            (Some((stored, Some(held))), Holder::Lease(lease)) => {
                stored.status == JobStatus::Running && held.token == lease.token
            }
            (Some((stored, _)), Holder::Anyone) => !stored.status.is_final(),
            (Some((stored, _)), Holder::Unclaimed) => stored.status == JobStatus::Queued,
            (Some((stored, Some(held))), Holder::Lapsed(at)) => {
                stored.status == JobStatus::Running && held.until <= at
            }
            _ => false,
        };
        if !may {
            return Ok(false);
        }
        if job.refunded > Credits::ZERO {
            state.apply(job.owner, &refund, job.refund(job.refunded))?;
        }
        // A final job lists no previews (the adapter removes the attribute).
        let done = Job {
            previews: 0,
            ..job.clone()
        };
        state.jobs.insert((job.owner, job.id), (done, None));
        for image in images {
            state
                .images
                .insert((image.owner, image.id), (image.clone(), false));
        }
        Ok(true)
    }

    async fn list_previews(
        &self,
        owner: UserId,
        id: JobId,
        lease: &Lease,
        previews: u8,
    ) -> Result<bool, StoreError> {
        self.faults.store("list_previews")?;
        let mut state = self.lock();
        match state.jobs.get_mut(&(owner, id)) {
            Some((job, Some(held)))
                if job.status == JobStatus::Running && held.token == lease.token =>
            {
                job.previews = previews;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl StuckJobs for MemoryStore {
    async fn unfinished(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Unfinished>, StoreError> {
        self.faults.store("unfinished")?;
        let state = self.lock();
        let mut found: Vec<Unfinished> = state
            .jobs
            .iter()
            .filter(|(_, (job, _))| !job.status.is_final() && job.created_at < before)
            .map(|(key, (job, lease))| Unfinished {
                job: job.clone(),
                lease_until: lease.as_ref().map(|l| l.until),
                resent_at: state.resent.get(key).copied(),
            })
            .collect();
        found.sort_by_key(|u| (u.job.created_at, u.job.id));
        found.truncate(limit);
        Ok(found)
    }

    async fn mark_resent(
        &self,
        owner: UserId,
        id: JobId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.faults.store("mark_resent")?;
        let mut state = self.lock();
        let queued = state
            .jobs
            .get(&(owner, id))
            .is_some_and(|(job, _)| job.status == JobStatus::Queued);
        if !queued || state.resent.contains_key(&(owner, id)) {
            return Ok(false);
        }
        state.resent.insert((owner, id), now);
        Ok(true)
    }
}
