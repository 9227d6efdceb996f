//! [`Captured`]: a series' state taken for a snapshot under the hub's lock
//! (the candles are shared, not copied), serialised only when it is sent.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use shared::protocol::{CandleSnapshot, SnapshotReason};
use shared::{Candle, ServerMessage};

use super::SeriesKey;

/// Bytes a candle takes in a snapshot frame, about: counted against the
/// send queue's byte bound before the frame exists.
const CANDLE_JSON_BYTES: usize = 192;

/// A snapshot as of update `seq`, waiting to be sent.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The series.
    pub series: SeriesKey,
    /// The last update included.
    pub seq: u64,
    /// The hub's numbering.
    pub epoch: u64,
    /// Why it is sent.
    pub reason: SnapshotReason,
    /// The candles, oldest first.
    pub candles: Arc<VecDeque<Candle>>,
}

impl Captured {
    /// About the size of its frame, for the byte bound.
    #[must_use]
    pub fn bytes(&self) -> usize {
        128 + self.candles.len() * CANDLE_JSON_BYTES
    }

    /// The `candle_snapshot` frame.
    #[must_use]
    pub fn frame(&self) -> Utf8Bytes {
        let (asset, timeframe) = self.series;
        ServerMessage::CandleSnapshot(CandleSnapshot {
            asset,
            timeframe,
            seq: self.seq,
            epoch: self.epoch,
            reason: self.reason,
            data: self.candles.iter().copied().collect(),
        })
        .to_json()
        .into()
    }
}
