//! [`DirectStore`]: the tick store as the journal, when no Redis is
//! configured. A batch is accepted only once the store has committed it, so
//! a server without Redis still keeps every accepted tick.

use shared::Tick;

use super::JournalError;
use crate::persister::Persister;
use crate::store::TickStore;

/// The store that journals batches, and the status that shows its writes.
pub(super) struct DirectStore {
    store: TickStore,
    persister: Persister,
}

impl DirectStore {
    /// Journals into `store`, reporting through `persister`.
    pub(super) fn new(store: TickStore, persister: Persister) -> Self {
        persister.direct_to(store.kind());
        Self { store, persister }
    }

    /// Commits `ticks` (all or nothing; a tick already stored is skipped).
    pub(super) async fn keep(&self, ticks: &[Tick]) -> Result<(), JournalError> {
        let started = std::time::Instant::now();
        match self.store.insert(ticks).await {
            Ok(inserted) => {
                self.persister.committed(ticks, inserted, 0);
                self.persister
                    .batches
                    .committed(ticks.len(), started.elapsed());
                Ok(())
            }
            Err(e) => {
                self.persister.failed_write(&e.to_string());
                Err(JournalError::Store(e.to_string()))
            }
        }
    }
}
