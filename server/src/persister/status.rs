//! [`Persister`]: the handle on the persister's status (`batch_status`),
//! written by the persister's loop and by the store-as-journal, read by the
//! status and the metrics.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use shared::Tick;
use shared::protocol::wire_time;

use crate::clock::now_millis;

/// What `batch_status` shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PersisterStatus {
    /// Whether the persister runs.
    pub running: bool,
    /// Where ticks go: `postgresql` or `sqlite`.
    pub store: &'static str,
    /// Assets whose ticks it has written.
    pub active_assets: BTreeSet<String>,
    /// When the last batch was committed, ISO 8601 UTC.
    pub last_flush: Option<String>,
    /// Rows inserted so far.
    pub rows_written: u64,
    /// Ticks already stored (replays, retries) and skipped.
    pub duplicates_skipped: u64,
    /// Ticks read but not yet committed.
    pub pending: u64,
    /// Failed write attempts so far.
    pub failures: u64,
    /// Rows the database refused, set aside.
    pub rejected: u64,
    /// When the next retry is due, while failing.
    pub next_retry: Option<String>,
    /// The last error, while failing.
    pub last_error: Option<String>,
    /// Whether the store takes writes: `true` once the start-up check or a
    /// write succeeded, `false` while they fail (`last_error` says why;
    /// `/readyz` then answers 503), `null` before the first attempt.
    pub writable: Option<bool>,
}

/// A handle on the running persister's status.
#[derive(Clone, Default)]
pub struct Persister {
    status: Arc<Mutex<PersisterStatus>>,
    /// Batch sizes and durations, for `/metrics`.
    pub batches: crate::metrics::BatchMetrics,
}

impl Persister {
    /// The current status.
    #[must_use]
    pub fn status(&self) -> PersisterStatus {
        self.lock().clone()
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, PersisterStatus> {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Shows that the store is written directly, batch by batch as ingest
    /// accepts them (no Redis configured: the store is the journal).
    pub fn direct_to(&self, store: &'static str) {
        let mut s = self.lock();
        s.running = true;
        s.store = store;
    }

    /// Records a committed batch of `ticks`, `inserted` of them new and
    /// `rejected` refused.
    pub fn committed(&self, ticks: &[Tick], inserted: u64, rejected: u64) {
        let mut s = self.lock();
        s.rows_written += inserted;
        s.duplicates_skipped += (ticks.len() as u64).saturating_sub(inserted + rejected);
        s.rejected += rejected;
        for t in ticks {
            if !s.active_assets.contains(t.asset.as_str()) {
                s.active_assets.insert(t.asset.to_string());
            }
        }
        s.last_flush = Some(wire_time(now_millis()));
        s.next_retry = None;
        s.last_error = None;
        s.writable = Some(true);
        s.pending = 0;
    }

    /// Records a write that failed and was not retried here (ingest answers
    /// with an error instead).
    pub fn failed_write(&self, error: &str) {
        tracing::warn!("tick store: {error}");
        let mut s = self.lock();
        s.failures += 1;
        s.last_error = Some(error.to_owned());
        s.writable = Some(false);
    }

    pub(super) fn failed(&self, error: &str, delay: Duration) {
        tracing::warn!("persister: {error}; retrying in {delay:?}");
        let mut s = self.lock();
        s.failures += 1;
        s.last_error = Some(error.to_owned());
        s.next_retry = Some(wire_time(
            now_millis() + i64::try_from(delay.as_millis()).unwrap_or(0),
        ));
    }
}
