//! [`DirectStore`]: the tick store as the journal, when there is no Redis
//! (the journal's [`Keeper`]). A batch is accepted only once the store has
//! committed it, so a server without Redis still keeps every accepted tick.
//!
//! The store is readied ([`TickStore::prepare`]) before its first write (again on every write until
//! that succeeds, so a database that was down at start-up is picked up), and
//! a write that does not finish within the configured timeout refuses the
//! batch instead of holding up every ingest behind it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shared::Tick;

use super::status::Persister;
use crate::journal::{Keeper, Keeping};
use crate::store::TickStore;

/// The store that journals batches, and the status that shows its writes.
pub struct DirectStore {
    store: TickStore,
    persister: Persister,
    timeout: Duration,
    migrated: AtomicBool,
}

impl DirectStore {
    /// Journals into `store`, reporting through `persister`; a write may take
    /// at most `timeout`.
    #[must_use]
    pub fn new(store: TickStore, persister: Persister, timeout: Duration) -> Self {
        persister.direct_to(store.kind());
        Self {
            store,
            persister,
            timeout,
            migrated: AtomicBool::new(false),
        }
    }

    /// Commits `ticks` (all or nothing; a tick already stored is skipped).
    async fn commit(&self, ticks: &[Tick]) -> Result<(), String> {
        let started = Instant::now();
        let write = async {
            if !self.migrated.load(Ordering::Acquire) {
                self.store.prepare().await?;
                self.migrated.store(true, Ordering::Release);
            }
            self.store.insert(ticks).await
        };
        let outcome = match tokio::time::timeout(self.timeout, write).await {
            Ok(Ok(inserted)) => Ok(inserted),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        };
        match outcome {
            Ok(inserted) => {
                self.persister.committed(ticks, inserted, 0);
                self.persister
                    .batches
                    .committed(ticks.len(), started.elapsed());
                Ok(())
            }
            Err(e) => {
                self.persister.failed_write(&e);
                Err(e)
            }
        }
    }
}

impl Keeper for DirectStore {
    fn keep<'a>(&'a self, ticks: &'a [Tick]) -> Keeping<'a> {
        Box::pin(self.commit(ticks))
    }
}
