//! Snapshots of the hub's series: [`capture`] takes one under the hub's lock
//! (sharing the candles, not copying them), and [`Snapshots`] takes a
//! session's queued marker as its writer reaches it. Either way the frame is
//! serialised after the lock is let go, and a series without candles gets
//! an empty snapshot without being created.

use std::sync::{Arc, Mutex, Weak};

use shared::protocol::SnapshotReason;

use super::{Captured, Outbox, SeriesKey, SnapshotSource, State, lock};

/// The state of `series` now, as a snapshot numbered in `epoch`.
pub(super) fn capture(
    state: &State,
    series: SeriesKey,
    reason: SnapshotReason,
    epoch: u64,
) -> Captured {
    let (seq, candles) = state
        .series
        .get(&series)
        .map_or((0, Arc::default()), |s| (s.seq, s.candles.clone()));
    Captured {
        series,
        seq,
        epoch,
        reason,
        candles,
    }
}

/// The hub's series, as a session's outbox sees them.
#[derive(Debug)]
pub(super) struct Snapshots {
    /// Weak: the hub holds the outboxes, an outbox must not hold the hub.
    state: Weak<Mutex<State>>,
    epoch: u64,
}

impl Snapshots {
    /// Snapshots of `state`'s series, numbered in `epoch`.
    pub(super) fn new(state: Weak<Mutex<State>>, epoch: u64) -> Self {
        Self { state, epoch }
    }
}

impl SnapshotSource for Snapshots {
    fn snapshot(
        &self,
        series: SeriesKey,
        reason: SnapshotReason,
        outbox: &Outbox,
    ) -> Option<Captured> {
        let state = self.state.upgrade()?;
        let guard = lock(&state);
        let captured = capture(&guard, series, reason, self.epoch);
        outbox.snapshot_taken(series);
        Some(captured)
    }
}
