//! Closing accounts, erasing their data, and archives' records, in memory. The adapter erases
//! a user's partition whatever it holds; here each kind of the user's state is named, so a
//! kind added to [`State`] must be added to [`State::erase_rest`] too (the contract suite
//! checks what it can see through the ports).

use artforge_domain::{
    Archive, ArchiveId, ArchiveStatus, Archives, Erasure, Standing, StoreError, UserId,
};
use time::OffsetDateTime;

use super::{MemoryStore, State};

impl State {
    fn erase_jobs(&mut self, user: UserId) -> usize {
        let before = self.jobs.len();
        self.jobs.retain(|(owner, _), _| *owner != user);
        self.resent.retain(|(owner, _), _| *owner != user);
        before - self.jobs.len()
    }

    fn erase_rest(&mut self, user: UserId) -> usize {
        let mut erased = 0;
        let liked: Vec<_> = self
            .likes
            .iter()
            .filter(|((liker, _), _)| *liker == user)
            .map(|((_, image), (_, owner))| (*image, *owner))
            .collect();
        for (image, owner) in liked {
            if let Some((stored, _)) = self.images.get_mut(&(owner, image)) {
                stored.likes = stored.likes.saturating_sub(1);
            }
            self.likes.remove(&(user, image));
            erased += 1;
        }
        let images = self.images.len();
        self.images.retain(|(owner, _), _| *owner != user);
        erased += images - self.images.len();
        let archives = self.archives.len();
        self.archives.retain(|(owner, _), _| *owner != user);
        erased += archives - self.archives.len();
        self.revoked.retain(|(owner, _)| *owner != user);
        self.idempotency.retain(|(owner, _), _| *owner != user);
        let quota = format!("QUOTA#{user}#");
        self.counters.retain(|key, _| !key.starts_with(&quota));
        erased
    }
}

impl Erasure for MemoryStore {
    async fn close(&self, user: UserId, now: OffsetDateTime) -> Result<(), StoreError> {
        self.faults.store("close")?;
        let mut state = self.lock();
        if state.closed.contains_key(&user) {
            return Ok(());
        }
        let (closed, _) = state.users.remove(&user).ok_or(StoreError::NotFound)?;
        state.emails.remove(&closed.email);
        state.closed.insert(user, now);
        Ok(())
    }

    async fn standing(&self, user: UserId) -> Result<Standing, StoreError> {
        self.faults.store("standing")?;
        let state = self.lock();
        Ok(match state.closed.get(&user) {
            Some(at) => Standing::Closed(*at),
            None if state.users.contains_key(&user) => Standing::Open,
            None => Standing::Unknown,
        })
    }

    async fn erase_jobs(&self, user: UserId) -> Result<usize, StoreError> {
        self.faults.store("erase_jobs")?;
        Ok(self.lock().erase_jobs(user))
    }

    async fn erase_rest(&self, user: UserId) -> Result<usize, StoreError> {
        self.faults.store("erase_rest")?;
        Ok(self.lock().erase_rest(user))
    }
}

impl Archives for MemoryStore {
    async fn add_archive(&self, archive: &Archive) -> Result<(), StoreError> {
        self.faults.store("add_archive")?;
        let mut state = self.lock();
        let key = (archive.owner, archive.id);
        if state.archives.contains_key(&key) {
            return Err(StoreError::Corrupt("a new archive's id is taken".into()));
        }
        state.archives.insert(key, archive.clone());
        Ok(())
    }

    async fn archive(&self, owner: UserId, id: ArchiveId) -> Result<Option<Archive>, StoreError> {
        self.faults.store("archive")?;
        Ok(self.lock().archives.get(&(owner, id)).cloned())
    }

    async fn finish_archive(
        &self,
        owner: UserId,
        id: ArchiveId,
        status: ArchiveStatus,
        bytes: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.faults.store("finish_archive")?;
        let mut state = self.lock();
        match state.archives.get_mut(&(owner, id)) {
            Some(archive) if archive.status == ArchiveStatus::Pending => {
                archive.status = status;
                archive.bytes = bytes;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
