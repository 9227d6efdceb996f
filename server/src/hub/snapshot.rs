//! [`Snapshots`]: builds a session's queued snapshot markers from the hub's
//! series as its writer takes them.
//!
//! Under the hub's lock it only copies the series' candles and `seq` and
//! tells the outbox the snapshot is taken (from then on the series' updates
//! queue after it); the frame is serialised after the lock is let go. A
//! series without candles gets an empty snapshot and is not created.

use std::sync::{Mutex, Weak};

use axum::extract::ws::Utf8Bytes;
use shared::ServerMessage;
use shared::protocol::{CandleSnapshot, SnapshotReason};

use super::{Outbox, SeriesKey, SnapshotSource, State, lock};

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
        (asset, timeframe): SeriesKey,
        reason: SnapshotReason,
        outbox: &Outbox,
    ) -> Option<Utf8Bytes> {
        let state = self.state.upgrade()?;
        let (seq, data) = {
            let guard = lock(&state);
            let copy = guard
                .series
                .get(&(asset, timeframe))
                .map(|s| (s.seq, s.candles.iter().copied().collect()))
                .unwrap_or_default();
            outbox.snapshot_taken((asset, timeframe));
            copy
        };
        Some(
            ServerMessage::CandleSnapshot(CandleSnapshot {
                asset,
                timeframe,
                seq,
                epoch: self.epoch,
                reason,
                data,
            })
            .to_json()
            .into(),
        )
    }
}
