//! One (asset, timeframe) series in the hub: its update numbering, its recent
//! candles for snapshots, and its recent update frames for resuming clients.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use shared::protocol::CandleUpdate;
use shared::{Candle, ServerMessage};

/// The `redis_update` frame of a candle state.
#[must_use]
pub fn update_frame(data: Candle, seq: u64) -> Utf8Bytes {
    ServerMessage::RedisUpdate(CandleUpdate { data, seq })
        .to_json()
        .into()
}

/// A series' live state.
#[derive(Debug, Default)]
pub struct Series {
    /// Number of the newest update.
    pub seq: u64,
    /// Recent candles by open time, the forming one last; shared with the
    /// snapshots queued to sessions, copied on the next change while shared.
    pub candles: Arc<VecDeque<Candle>>,
    /// Recent updates with their numbers, oldest first, for resuming
    /// clients (serialised only when one asks).
    pub recent: VecDeque<(u64, Candle)>,
}

impl Series {
    /// Applies a candle's new state: replaces the candle with its open time or
    /// inserts it in order, keeping at most `keep` candles.
    pub fn apply(&mut self, candle: Candle, keep: usize) {
        let t = candle.open_time();
        let candles = Arc::make_mut(&mut self.candles);
        match candles.binary_search_by_key(&t, Candle::open_time) {
            Ok(i) => candles[i] = candle,
            Err(i) => candles.insert(i, candle),
        }
        while candles.len() > keep {
            candles.pop_front();
        }
    }

    /// Records update `seq`, keeping at most `keep`.
    pub fn remember(&mut self, seq: u64, candle: Candle, keep: usize) {
        self.recent.push_back((seq, candle));
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
    }

    /// The frames after `last_seq`, if all of them are still held.
    pub fn since(&self, last_seq: u64) -> Option<Vec<Utf8Bytes>> {
        if last_seq > self.seq {
            return None;
        }
        if last_seq == self.seq {
            return Some(Vec::new());
        }
        let oldest = self.recent.front()?.0;
        if oldest > last_seq + 1 {
            return None;
        }
        Some(
            self.recent
                .iter()
                .filter(|(s, _)| *s > last_seq)
                .map(|(seq, candle)| update_frame(*candle, *seq))
                .collect(),
        )
    }
}
