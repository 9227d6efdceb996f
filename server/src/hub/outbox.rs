//! [`Outbox`]: one WebSocket session's bounded send queue.
//!
//! The hub pushes without ever waiting, so a slow or dead client never delays
//! anyone else. A newer update of a candle replaces its unsent older update.
//! When updates would overflow the queue, in frames or in bytes, every queued
//! update is dropped and the push reports it: the hub then queues fresh
//! snapshots instead, so the client is told, never silently short of data.
//!
//! A snapshot is queued at most once per series: a repeated subscribe while
//! one waits keeps it (it and the updates queued behind it are exact). It is
//! taken under the hub's lock without copying ([`Captured`] shares the
//! series' candles) and serialised when sent. One that would not fit within
//! the byte bound is queued as a marker instead, built from the series when
//! the writer takes it ([`SnapshotSource`]); while a marker waits, the
//! series' updates are left out: the snapshot will hold them. So a session
//! that never reads holds about the byte bound at most, however often it
//! subscribes.

mod captured;
mod queue;
#[cfg(test)]
mod tests_bytes;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
pub use captured::Captured;
use queue::{Queue, Slot, Waiting};
use shared::protocol::SnapshotReason;
use shared::{Asset, Timeframe};
use tokio::sync::Notify;

/// Most bytes one [`Outbox::next_batch`] takes out of the queue (at least
/// one frame): what a writer holds outside the queue's byte count stays
/// small while a client that does not read blocks its write.
const BATCH_BYTES: usize = 256 * 1024;

/// Which candle an update is for: (asset, timeframe, open time).
pub type CandleKey = (Asset, Timeframe, i64);

/// Which series a snapshot is for.
pub type SeriesKey = (Asset, Timeframe);

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued (or merged into the unsent update of the same candle, or into
    /// the series' snapshot still waiting).
    Queued,
    /// The queue was full: its updates were dropped and the session needs
    /// snapshots.
    Lagged {
        /// Frames dropped, this update included.
        dropped: u64,
    },
    /// The session is closed.
    Closed,
}

/// Builds the snapshot a queued marker stands for, as the writer takes it.
pub trait SnapshotSource: Send + Sync + std::fmt::Debug {
    /// The snapshot of `series` now, or `None` when there is no longer
    /// anything to take it from. While the series cannot change, it calls
    /// [`Outbox::snapshot_taken`], so that every later update is queued
    /// after the snapshot and every earlier one is inside it.
    fn snapshot(
        &self,
        series: SeriesKey,
        reason: SnapshotReason,
        outbox: &Outbox,
    ) -> Option<Captured>;
}

/// How much one session's queue may hold.
#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    /// Frames queued before the session counts as lagging (replies: twice
    /// that closes it).
    pub frames: usize,
    /// Bytes of frame text queued before the session counts as lagging
    /// (replies: twice that closes it).
    pub bytes: usize,
}

/// A session's send queue.
#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<Queue>,
    notify: Notify,
    capacity: usize,
    max_bytes: usize,
    /// Where queued snapshot markers are built; none for a bare queue.
    source: Option<Arc<dyn SnapshotSource>>,
}

impl Outbox {
    /// An empty queue holding at most `capacity` frames, of any size.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self::bounded(
            OutboxLimits {
                frames: capacity,
                bytes: usize::MAX,
            },
            Arc::default(),
            None,
        )
    }

    /// An empty queue within `limits`, counting the bytes it holds into
    /// `total`, building snapshot markers from `source`.
    #[must_use]
    pub fn bounded(
        limits: OutboxLimits,
        total: Arc<AtomicUsize>,
        source: Option<Arc<dyn SnapshotSource>>,
    ) -> Self {
        Self {
            queue: Mutex::new(Queue::new(total)),
            notify: Notify::new(),
            capacity: limits.frames.max(1),
            max_bytes: limits.bytes.max(1),
            source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a live update of `key`; `source_ms` is the source timestamp
    /// of the newest tick behind it, for the latency metric.
    pub fn push_update(&self, key: CandleKey, frame: Utf8Bytes, source_ms: Option<i64>) -> Pushed {
        let mut q = self.lock();
        if q.closed {
            return Pushed::Closed;
        }
        if q.snapshots.get(&(key.0, key.1)) == Some(&Waiting::Marker) {
            // The series' snapshot, built when sent, will hold it.
            return Pushed::Queued;
        }
        let len = frame.len();
        if let Some(&at) = q.pending.get(&key)
            && q.replace(at, Slot::Update(key, frame.clone(), source_ms))
        {
            return Pushed::Queued;
        }
        if q.len() >= self.capacity || q.bytes().saturating_add(len) > self.max_bytes {
            // The hub queues fresh snapshots next; older ones are stale.
            let dropped = q.drop_stale() + 1;
            q.dropped += dropped;
            drop(q);
            self.notify.notify_one();
            return Pushed::Lagged { dropped };
        }
        let at = q.next_index();
        let was_empty = q.is_empty();
        q.push(Slot::Update(key, frame, source_ms));
        q.pending.insert(key, at);
        drop(q);
        // The sender checks the queue before it waits, so only the first
        // frame of an empty queue needs to wake it.
        if was_empty {
            self.notify.notify_one();
        }
        Pushed::Queued
    }

    /// Queues a reply. A session whose replies pile up past twice the
    /// capacity, in frames or in bytes, is closed: it is not reading at all.
    pub fn push_frame(&self, frame: Utf8Bytes) -> Pushed {
        self.push_slot(Slot::Frame(frame))
    }

    /// Queues a ready snapshot (dropped, like updates, when the session
    /// lags; one that would pass the byte bound drops the queued updates and
    /// snapshots first). Updates queued before it are not replaced by later
    /// ones, which must arrive after it.
    pub fn push_snapshot(&self, frame: Utf8Bytes) -> Pushed {
        let mut q = self.lock();
        q.pending.clear();
        if !q.closed && q.bytes().saturating_add(frame.len()) > self.max_bytes {
            let dropped = q.drop_stale();
            q.dropped += dropped;
        }
        self.push_locked(q, Slot::Snapshot(frame))
    }

    /// Queues the snapshot `captured` under the hub's lock, unless one of
    /// its series is already queued: then that one is sent (with the updates
    /// queued behind it, it is as exact). One that would pass the byte bound
    /// is queued as a marker, built from the [`SnapshotSource`] when sent.
    pub fn push_series_snapshot(&self, captured: Captured) -> Pushed {
        let mut q = self.lock();
        if q.closed {
            return Pushed::Closed;
        }
        let series = captured.series;
        if q.snapshots.contains_key(&series) {
            return Pushed::Queued;
        }
        if q.bytes().saturating_add(captured.bytes()) <= self.max_bytes {
            q.snapshots.insert(series, Waiting::Captured);
            return self.push_locked(q, Slot::Captured(Box::new(captured)));
        }
        q.snapshots.insert(series, Waiting::Marker);
        self.push_locked(q, Slot::Pending(series, captured.reason))
    }

    /// Whether a snapshot of `series` is queued (or being built).
    #[must_use]
    pub fn awaits_snapshot(&self, series: SeriesKey) -> bool {
        self.lock().snapshots.contains_key(&series)
    }

    /// Called by the [`SnapshotSource`] once it has read `series` for a
    /// marker: its updates are queued again from now on.
    pub fn snapshot_taken(&self, series: SeriesKey) {
        self.lock().snapshots.remove(&series);
    }

    fn push_slot(&self, slot: Slot) -> Pushed {
        self.push_locked(self.lock(), slot)
    }

    /// Queues `slot` unless the session is closed or its replies pile up
    /// past twice the bounds, which closes it.
    fn push_locked(&self, mut q: std::sync::MutexGuard<'_, Queue>, slot: Slot) -> Pushed {
        if q.closed {
            return Pushed::Closed;
        }
        if q.len() >= self.capacity.saturating_mul(2)
            || q.bytes().saturating_add(slot.bytes()) > self.max_bytes.saturating_mul(2)
        {
            q.closed = true;
            q.clear();
            drop(q);
            self.notify.notify_one();
            return Pushed::Closed;
        }
        q.push(slot);
        drop(q);
        self.notify.notify_one();
        Pushed::Queued
    }

    /// Waits for frames to send and moves up to `max` of them into `out`,
    /// and the source timestamps of the updates among them into `sources`;
    /// `false` once closed. Taking several at once lets the sender write them
    /// with one flush, up to [`BATCH_BYTES`]. Snapshot markers are built
    /// here, in queue order.
    pub async fn next_batch(
        &self,
        out: &mut Vec<Utf8Bytes>,
        sources: &mut Vec<i64>,
        max: usize,
    ) -> bool {
        loop {
            let notified = self.notify.notified();
            {
                let mut q = self.lock();
                let mut taken: usize = out.iter().map(|f| f.as_str().len()).sum();
                while out.len() < max && taken < BATCH_BYTES {
                    if q.closed {
                        return false;
                    }
                    let Some(slot) = q.pop() else {
                        break;
                    };
                    let before = out.len();
                    match slot {
                        Slot::Frame(f) | Slot::Snapshot(f) => out.push(f),
                        Slot::Update(key, f, source) => {
                            if q.pending.get(&key) == Some(&(q.base - 1)) {
                                q.pending.remove(&key);
                            }
                            sources.extend(source);
                            out.push(f);
                        }
                        Slot::Captured(captured) => {
                            q.snapshots.remove(&captured.series);
                            // Serialised without holding the queue.
                            drop(q);
                            out.push(captured.frame());
                            q = self.lock();
                        }
                        Slot::Pending(series, reason) => {
                            // The source takes the hub's lock, which is
                            // always taken before this one: let go first.
                            drop(q);
                            let built = self
                                .source
                                .as_ref()
                                .and_then(|s| s.snapshot(series, reason, self));
                            out.extend(built.as_ref().map(Captured::frame));
                            q = self.lock();
                            if built.is_none() {
                                // Nothing to build from: no longer awaited.
                                q.snapshots.remove(&series);
                            }
                        }
                    }
                    taken += out[before..]
                        .iter()
                        .map(|f| f.as_str().len())
                        .sum::<usize>();
                }
                if q.closed {
                    return false;
                }
                if !out.is_empty() {
                    return true;
                }
            }
            notified.await;
        }
    }

    /// Waits for the next frame to send; `None` once closed.
    pub async fn next(&self) -> Option<Utf8Bytes> {
        let mut one = Vec::with_capacity(1);
        self.next_batch(&mut one, &mut Vec::new(), 1)
            .await
            .then(|| one.pop())
            .flatten()
    }

    /// Closes the queue and lets go of what it holds; the sender stops.
    pub fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        q.clear();
        drop(q);
        self.notify.notify_one();
    }

    /// Frames waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Updates dropped by overflows so far.
    #[cfg(test)]
    fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Bytes of frame text waiting.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: i64) -> CandleKey {
        (Asset::new("A"), Timeframe::M1, t)
    }

    #[tokio::test]
    async fn a_newer_update_replaces_the_unsent_one() {
        let outbox = Outbox::new(8);
        outbox.push_update(key(0), "a1".into(), None);
        outbox.push_update(key(60), "b1".into(), None);
        outbox.push_update(key(0), "a2".into(), None);
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox.next().await.as_deref(), Some("a2"));
        // Once sent, the next update of the same candle queues anew.
        outbox.push_update(key(0), "a3".into(), None);
        assert_eq!(outbox.next().await.as_deref(), Some("b1"));
        assert_eq!(outbox.next().await.as_deref(), Some("a3"));
    }

    #[tokio::test]
    async fn overflow_drops_updates_keeps_replies_and_says_so() {
        let outbox = Outbox::new(3);
        outbox.push_frame("reply".into());
        outbox.push_snapshot("old snapshot".into());
        assert_eq!(
            outbox.push_update(key(0), "u0".into(), None),
            Pushed::Queued
        );
        assert_eq!(
            outbox.push_update(key(60), "u1".into(), None),
            Pushed::Lagged { dropped: 3 }
        );
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox.dropped(), 3);
        assert_eq!(outbox.next().await.as_deref(), Some("reply"));
        // Coalescing still works after the renumbering.
        outbox.push_update(key(0), "v0".into(), None);
        outbox.push_update(key(0), "v1".into(), None);
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox.next().await.as_deref(), Some("v1"));
    }

    #[tokio::test]
    async fn a_session_that_never_reads_is_closed() {
        let outbox = Outbox::new(2);
        for _ in 0..4 {
            assert_eq!(outbox.push_frame("x".into()), Pushed::Queued);
        }
        assert_eq!(outbox.push_frame("x".into()), Pushed::Closed);
        assert_eq!(outbox.next().await, None);
    }
}
