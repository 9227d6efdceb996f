//! One asset's candles for one timeframe: the forming candle and the recently
//! closed ones (ending after the asset's horizon) that a live tick may still
//! revise, and restatement of a candle from the store.

use std::collections::VecDeque;

use super::builder::Builder;
use crate::{Candle, CandleEvent, CandleState, Sessions, Tick, Timeframe};

/// Closed candles kept for revision, at most; the horizon normally keeps
/// far fewer.
const MAX_RECENT_CLOSED: usize = 64;

/// The candles of one asset in one timeframe.
#[derive(Debug, Clone)]
pub(super) struct Series {
    timeframe: Timeframe,
    /// Where days and weeks open.
    sessions: Sessions,
    /// The newest candle whose bucket has not ended.
    forming: Option<Builder>,
    /// Closed candles, oldest first, still reachable by a late tick.
    recent_closed: VecDeque<Builder>,
}

impl Series {
    pub(super) fn new(timeframe: Timeframe, sessions: Sessions) -> Self {
        Self {
            timeframe,
            sessions,
            forming: None,
            recent_closed: VecDeque::new(),
        }
    }

    pub(super) fn forming(&self) -> Option<Candle> {
        self.forming.map(|b| b.candle)
    }

    /// Adds a live tick. `clock_ms` is the time up to which buckets are
    /// closed by the timer; `oldest_ms` the asset's horizon: candles ending
    /// at or before it are no longer held.
    pub(super) fn add(
        &mut self,
        tick: &Tick,
        clock_ms: i64,
        oldest_ms: i64,
        out: &mut Vec<CandleEvent>,
    ) {
        let at = tick.timestamp.millis();
        let bucket = self.sessions.bucket_of_millis(self.timeframe, at);
        let bucket_end_ms = self.end_ms(bucket);
        match &mut self.forming {
            Some(f) if f.candle.open_time == bucket => {
                f.add(at, tick.price);
                out.push(CandleEvent::Updated(f.candle));
                return;
            }
            Some(f) if bucket < f.candle.open_time => {
                self.revise(tick, bucket, out);
                return;
            }
            _ => {}
        }
        if bucket_end_ms <= clock_ms {
            // The timer has already closed this bucket.
            self.revise(tick, bucket, out);
            return;
        }
        if let Some(done) = self.forming.take() {
            self.push_closed(done, out);
        }
        let started = Builder::start(tick, self.timeframe, bucket, CandleState::Forming);
        self.forming = Some(started);
        out.push(CandleEvent::Updated(started.candle));
        self.prune(oldest_ms);
    }

    /// Closes the forming candle when its bucket has ended by `clock_ms`.
    pub(super) fn advance_to(&mut self, clock_ms: i64, oldest_ms: i64, out: &mut Vec<CandleEvent>) {
        if let Some(f) = self.forming
            && self.end_ms(f.candle.open_time) <= clock_ms
        {
            self.forming = None;
            self.push_closed(f, out);
        }
        self.prune(oldest_ms);
    }

    fn push_closed(&mut self, mut done: Builder, out: &mut Vec<CandleEvent>) {
        done.candle.state = CandleState::Closed;
        out.push(CandleEvent::Closed(done.candle));
        self.recent_closed.push_back(done);
    }

    /// A tick for a bucket that has already closed: change (or create) that
    /// candle and report it revised.
    fn revise(&mut self, tick: &Tick, bucket: i64, out: &mut Vec<CandleEvent>) {
        let at = tick.timestamp.millis();
        let position = self
            .recent_closed
            .binary_search_by_key(&bucket, |b| b.candle.open_time);
        let builder = match position {
            Ok(i) => {
                let b = &mut self.recent_closed[i];
                b.add(at, tick.price);
                b.candle.state = CandleState::Revised;
                b
            }
            Err(i) => {
                let b = Builder::start(tick, self.timeframe, bucket, CandleState::Revised);
                self.recent_closed.insert(i, b);
                &self.recent_closed[i]
            }
        };
        out.push(CandleEvent::Revised(builder.candle));
    }

    /// Replaces the candle of the bucket opening at `bucket` (s) with
    /// `merged`, restated from the store and the live minutes: the forming
    /// one is reported updated, a closed one (held or not) revised.
    pub(super) fn restate(&mut self, bucket: i64, mut merged: Builder, out: &mut Vec<CandleEvent>) {
        if let Some(f) = &mut self.forming
            && f.candle.open_time == bucket
        {
            merged.candle.state = CandleState::Forming;
            *f = merged;
            out.push(CandleEvent::Updated(merged.candle));
            return;
        }
        merged.candle.state = CandleState::Revised;
        match self
            .recent_closed
            .binary_search_by_key(&bucket, |b| b.candle.open_time)
        {
            Ok(i) => self.recent_closed[i] = merged,
            Err(i) => self.recent_closed.insert(i, merged),
        }
        out.push(CandleEvent::Revised(merged.candle));
    }

    /// End (ms) of the bucket opening at `open` (s).
    fn end_ms(&self, open: i64) -> i64 {
        self.sessions.bucket_end(self.timeframe, open) * 1000
    }

    /// Forgets closed candles no live tick can reach any more.
    fn prune(&mut self, oldest_ms: i64) {
        while let Some(front) = self.recent_closed.front() {
            let end_ms = self.end_ms(front.candle.open_time);
            if end_ms <= oldest_ms || self.recent_closed.len() > MAX_RECENT_CLOSED {
                self.recent_closed.pop_front();
            } else {
                break;
            }
        }
    }
}
