//! [`Minutes`]: one asset's one-minute candles from the start of the UTC day
//! holding its horizon onward (at most about 1,442), kept whatever the
//! configured timeframes, so that a candle restated from the store can be
//! completed with the live minutes after the store's part.

use std::collections::VecDeque;

use super::builder::Builder;
use crate::{CandleState, Tick, Timeframe};

/// One asset's recent one-minute candles.
#[derive(Debug, Clone)]
pub(super) struct Minutes {
    /// Candles by open time, oldest first.
    held: VecDeque<Builder>,
    /// Start (ms) of the oldest minute that may be held: every minute from
    /// here on that had a tick is held.
    from_ms: i64,
}

impl Minutes {
    pub(super) const fn new() -> Self {
        Self {
            held: VecDeque::new(),
            from_ms: i64::MIN,
        }
    }

    /// Start (ms) of the oldest minute held.
    pub(super) const fn held_from_ms(&self) -> i64 {
        self.from_ms
    }

    fn position(&self, open_time: i64) -> Result<usize, usize> {
        // Ticks come mostly in order: look at the newest first.
        match self.held.back() {
            Some(b) if b.candle.open_time == open_time => Ok(self.held.len() - 1),
            Some(b) if b.candle.open_time < open_time => Err(self.held.len()),
            _ => self
                .held
                .binary_search_by_key(&open_time, |b| b.candle.open_time),
        }
    }

    /// Adds a live tick (stamped at or after `from_ms`).
    pub(super) fn add(&mut self, tick: &Tick) {
        let at = tick.timestamp.millis();
        let minute = Timeframe::M1.bucket_of_millis(at);
        match self.position(minute) {
            Ok(i) => self.held[i].add(at, tick.price),
            Err(i) => self.held.insert(
                i,
                Builder::start(tick, Timeframe::M1, minute, CandleState::Closed),
            ),
        }
    }

    /// Puts the minute opening at `open_time` (s) as `part` says (the store's
    /// version, holding late ticks), if it is still held.
    pub(super) fn replace(&mut self, open_time: i64, part: Builder) {
        if open_time.saturating_mul(1000) < self.from_ms {
            return;
        }
        match self.position(open_time) {
            Ok(i) => self.held[i] = part,
            Err(i) => self.held.insert(i, part),
        }
    }

    /// Forgets the minutes before `from_ms`; it never moves back.
    pub(super) fn prune(&mut self, from_ms: i64) {
        self.from_ms = self.from_ms.max(from_ms);
        while self
            .held
            .front()
            .is_some_and(|b| b.candle.open_time.saturating_mul(1000) < self.from_ms)
        {
            self.held.pop_front();
        }
    }

    /// The minutes opening in `from_ms..until_ms`, oldest first.
    pub(super) fn within(&self, from_ms: i64, until_ms: i64) -> impl Iterator<Item = &Builder> {
        let first = self
            .held
            .partition_point(|b| b.candle.open_time.saturating_mul(1000) < from_ms);
        self.held
            .range(first..)
            .take_while(move |b| b.candle.open_time.saturating_mul(1000) < until_ms)
    }

    /// Minutes held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.held.len()
    }
}
