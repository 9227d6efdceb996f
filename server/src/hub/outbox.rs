//! [`Outbox`]: one WebSocket session's bounded send queue.
//!
//! The hub pushes without ever waiting, so a slow or dead client never delays
//! anyone else. A newer update of a candle replaces its unsent older update.
//! When updates would overflow the queue, every queued update is dropped and
//! the push reports it: the hub then queues fresh snapshots instead, so the
//! client is told, never silently short of data.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use rustc_hash::FxHashMap;
use shared::{Asset, Timeframe};
use tokio::sync::Notify;

/// Which candle an update is for: (asset, timeframe, open time).
pub type CandleKey = (Asset, Timeframe, i64);

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued (or merged into the unsent update of the same candle).
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

#[derive(Debug)]
enum Slot {
    /// A reply: always delivered, in order.
    Frame(Utf8Bytes),
    /// A snapshot of a series; a lag replaces it with a fresh one.
    Snapshot(Utf8Bytes),
    /// A live update, which a newer one of the same candle may replace,
    /// with the source timestamp (Unix ms) of the newest tick behind it.
    Update(CandleKey, Utf8Bytes, Option<i64>),
}

#[derive(Debug, Default)]
struct Queue {
    slots: VecDeque<Slot>,
    /// Absolute index of `slots[0]`.
    base: u64,
    /// Absolute index of the unsent update of each candle.
    pending: FxHashMap<CandleKey, u64>,
    closed: bool,
    /// Updates dropped by overflows, for metrics.
    dropped: u64,
}

/// A session's send queue.
#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<Queue>,
    notify: Notify,
    capacity: usize,
}

impl Outbox {
    /// An empty queue holding at most `capacity` frames.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
            capacity: capacity.max(1),
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
        if let Some(&at) = q.pending.get(&key)
            && at >= q.base
        {
            let i = (at - q.base) as usize;
            q.slots[i] = Slot::Update(key, frame, source_ms);
            return Pushed::Queued;
        }
        if q.slots.len() >= self.capacity {
            let before = q.slots.len();
            q.slots.retain(|s| matches!(s, Slot::Frame(_)));
            // The hub queues fresh snapshots next; older ones are stale.
            let dropped = (before - q.slots.len()) as u64 + 1;
            q.dropped += dropped;
            q.pending.clear();
            // Indices moved: start a fresh numbering.
            q.base += before as u64;
            drop(q);
            self.notify.notify_one();
            return Pushed::Lagged { dropped };
        }
        let at = q.base + q.slots.len() as u64;
        let was_empty = q.slots.is_empty();
        q.slots.push_back(Slot::Update(key, frame, source_ms));
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
    /// capacity is closed: it is not reading at all.
    pub fn push_frame(&self, frame: Utf8Bytes) -> Pushed {
        self.push_slot(Slot::Frame(frame))
    }

    /// Queues a snapshot (dropped, like updates, when the session lags).
    /// Updates queued before it are not replaced by later ones, which must
    /// arrive after it.
    pub fn push_snapshot(&self, frame: Utf8Bytes) -> Pushed {
        self.lock().pending.clear();
        self.push_slot(Slot::Snapshot(frame))
    }

    fn push_slot(&self, slot: Slot) -> Pushed {
        let mut q = self.lock();
        if q.closed {
            return Pushed::Closed;
        }
        if q.slots.len() >= self.capacity * 2 {
            q.closed = true;
            drop(q);
            self.notify.notify_one();
            return Pushed::Closed;
        }
        q.slots.push_back(slot);
        drop(q);
        self.notify.notify_one();
        Pushed::Queued
    }

    /// Waits for frames to send and moves up to `max` of them into `out`,
    /// and the source timestamps of the updates among them into `sources`;
    /// `false` once closed. Taking several at once lets the sender write them
    /// with one flush.
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
                if q.closed {
                    return false;
                }
                while out.len() < max {
                    let Some(slot) = q.slots.pop_front() else {
                        break;
                    };
                    q.base += 1;
                    out.push(match slot {
                        Slot::Frame(f) | Slot::Snapshot(f) => f,
                        Slot::Update(key, f, source) => {
                            if q.pending.get(&key) == Some(&(q.base - 1)) {
                                q.pending.remove(&key);
                            }
                            sources.extend(source);
                            f
                        }
                    });
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

    /// Closes the queue; the sender stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }

    /// Frames waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Updates dropped by overflows so far.
    #[cfg(test)]
    fn dropped(&self) -> u64 {
        self.lock().dropped
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
