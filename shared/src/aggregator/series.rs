//! One asset's candles for one timeframe: the forming candle and the recently
//! closed ones that a late tick inside the grace window may still revise.

use std::collections::VecDeque;

use crate::{Candle, CandleEvent, CandleState, Price, Tick, Timeframe};

/// Closed candles kept for revision, at most; the grace window normally keeps
/// far fewer.
const MAX_RECENT_CLOSED: usize = 64;

/// A candle being built, with the tick times that decide its open and close.
#[derive(Debug, Clone, Copy)]
struct Builder {
    candle: Candle,
    /// Timestamp (ms) of the tick that set `open`.
    open_at: i64,
    /// Timestamp (ms) of the tick that set `close`.
    close_at: i64,
}

impl Builder {
    fn start(tick: &Tick, timeframe: Timeframe, open_time: i64, state: CandleState) -> Self {
        let p = tick.price;
        let at = tick.timestamp.millis();
        Self {
            candle: Candle {
                asset: tick.asset,
                timeframe,
                open_time,
                open: p,
                high: p,
                low: p,
                close: p,
                volume: 1,
                state,
            },
            open_at: at,
            close_at: at,
        }
    }

    /// Adds a tick of this bucket. Ties in time keep arrival order: the first
    /// tick at the earliest time opens, the last tick at the latest time closes.
    fn add(&mut self, at: i64, price: Price) {
        let c = &mut self.candle;
        if at < self.open_at {
            self.open_at = at;
            c.open = price;
        }
        if at >= self.close_at {
            self.close_at = at;
            c.close = price;
        }
        c.high = c.high.max(price);
        c.low = c.low.min(price);
        c.volume += 1;
    }

    fn close_time_ms(&self) -> i64 {
        self.candle.close_time() * 1000
    }
}

/// The candles of one asset in one timeframe.
#[derive(Debug, Clone)]
pub(super) struct Series {
    timeframe: Timeframe,
    /// The newest candle whose bucket has not ended.
    forming: Option<Builder>,
    /// Closed candles, oldest first, still reachable by a late tick.
    recent_closed: VecDeque<Builder>,
}

impl Series {
    pub(super) fn new(timeframe: Timeframe) -> Self {
        Self {
            timeframe,
            forming: None,
            recent_closed: VecDeque::new(),
        }
    }

    pub(super) fn forming(&self) -> Option<Candle> {
        self.forming.map(|b| b.candle)
    }

    /// Adds an accepted tick. `clock_ms` is the time up to which buckets are
    /// closed by the timer; `oldest_ms` the oldest tick time still accepted.
    pub(super) fn add(
        &mut self,
        tick: &Tick,
        clock_ms: i64,
        oldest_ms: i64,
        out: &mut Vec<CandleEvent>,
    ) {
        let at = tick.timestamp.millis();
        let bucket = self.timeframe.bucket_of_millis(at);
        let bucket_end_ms = (bucket + self.timeframe.seconds()) * 1000;
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
            && f.close_time_ms() <= clock_ms
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

    /// Forgets closed candles no acceptable tick can reach any more.
    fn prune(&mut self, oldest_ms: i64) {
        while let Some(front) = self.recent_closed.front() {
            if front.close_time_ms() <= oldest_ms || self.recent_closed.len() > MAX_RECENT_CLOSED {
                self.recent_closed.pop_front();
            } else {
                break;
            }
        }
    }
}
