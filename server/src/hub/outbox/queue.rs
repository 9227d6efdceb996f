//! The slots of one session's send queue, and the bytes they hold: every
//! change of a slot goes through [`Queue`], which keeps its own byte count
//! and the hub-wide one in step.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::ws::Utf8Bytes;
use rustc_hash::FxHashMap;
use shared::protocol::SnapshotReason;

use super::{CandleKey, Captured, SeriesKey};

#[derive(Debug)]
pub(super) enum Slot {
    /// A reply: always delivered, in order.
    Frame(Utf8Bytes),
    /// A ready snapshot of a series; a lag drops it.
    Snapshot(Utf8Bytes),
    /// A snapshot taken when queued, serialised when sent; a lag drops it.
    Captured(Box<Captured>),
    /// A live update, which a newer one of the same candle may replace,
    /// with the source timestamp (Unix ms) of the newest tick behind it.
    Update(CandleKey, Utf8Bytes, Option<i64>),
    /// A snapshot of a series, built when it is sent: it holds no candles
    /// while it waits, and it is as fresh as can be when it goes.
    Pending(SeriesKey, SnapshotReason),
}

impl Slot {
    /// Bytes of frame text the slot holds.
    pub fn bytes(&self) -> usize {
        match self {
            Self::Frame(f) | Self::Snapshot(f) | Self::Update(_, f, _) => f.len(),
            Self::Captured(c) => c.bytes(),
            Self::Pending(..) => 0,
        }
    }
}

/// How a series' queued snapshot waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiting {
    /// Taken when queued: the series' later updates queue behind it.
    Captured,
    /// A marker, taken when sent: the series' updates are left out until
    /// then, the snapshot will hold them.
    Marker,
}

#[derive(Debug)]
pub(super) struct Queue {
    slots: VecDeque<Slot>,
    /// Absolute index of `slots[0]`.
    pub base: u64,
    /// Absolute index of the unsent update of each candle.
    pub pending: FxHashMap<CandleKey, u64>,
    /// Series whose snapshot is queued (or, for a marker, being built).
    pub snapshots: FxHashMap<SeriesKey, Waiting>,
    pub closed: bool,
    /// Updates dropped by overflows, for metrics.
    pub dropped: u64,
    /// Bytes of frame text held in `slots`.
    bytes: usize,
    /// The same, summed over every session of the hub.
    total: Arc<AtomicUsize>,
}

impl Queue {
    pub fn new(total: Arc<AtomicUsize>) -> Self {
        Self {
            slots: VecDeque::new(),
            base: 0,
            pending: FxHashMap::default(),
            snapshots: FxHashMap::default(),
            closed: false,
            dropped: 0,
            bytes: 0,
            total,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn add(&mut self, n: usize) {
        self.bytes += n;
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    fn sub(&mut self, n: usize) {
        self.bytes -= n;
        self.total.fetch_sub(n, Ordering::Relaxed);
    }

    /// Absolute index the next pushed slot gets.
    pub fn next_index(&self) -> u64 {
        self.base + self.slots.len() as u64
    }

    pub fn push(&mut self, slot: Slot) {
        self.add(slot.bytes());
        self.slots.push_back(slot);
    }

    pub fn pop(&mut self) -> Option<Slot> {
        let slot = self.slots.pop_front()?;
        self.base += 1;
        self.sub(slot.bytes());
        Some(slot)
    }

    /// Replaces the slot at absolute index `at`, if it is still queued.
    pub fn replace(&mut self, at: u64, slot: Slot) -> bool {
        let Some(i) = at.checked_sub(self.base) else {
            return false;
        };
        let Some(old) = self.slots.get(i as usize) else {
            return false;
        };
        let old_bytes = old.bytes();
        self.add(slot.bytes());
        self.sub(old_bytes);
        self.slots[i as usize] = slot;
        true
    }

    /// Drops every update and ready or captured snapshot (replies and
    /// markers stay); returns how many went.
    pub fn drop_stale(&mut self) -> u64 {
        let before = self.slots.len();
        let held = self.bytes;
        self.slots
            .retain(|s| matches!(s, Slot::Frame(_) | Slot::Pending(..)));
        let kept: usize = self.slots.iter().map(Slot::bytes).sum();
        self.sub(held - kept);
        self.pending.clear();
        self.snapshots.retain(|_, w| *w == Waiting::Marker);
        // Indices moved: start a fresh numbering.
        self.base += before as u64;
        (before - self.slots.len()) as u64
    }

    /// Empties the queue of a closed session: nothing more is sent.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.pending.clear();
        self.snapshots.clear();
        let held = self.bytes;
        self.sub(held);
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}
