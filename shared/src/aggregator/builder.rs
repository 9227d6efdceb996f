//! [`Builder`]: a candle being built, with the tick times that decide its
//! open and close, so that ticks and whole parts of a bucket can be added in
//! any order.

use crate::{Candle, CandleState, Price, Tick, Timeframe};

/// A candle being built, with the tick times that decide its open and close.
#[derive(Debug, Clone, Copy)]
pub(super) struct Builder {
    pub(super) candle: Candle,
    /// Timestamp (ms) of the tick that set `open` (or any time at or before
    /// every tick of the candle, for a part read from the store).
    pub(super) open_at: i64,
    /// Timestamp (ms) of the tick that set `close` (or any time at or after
    /// every tick of the candle and before every later one).
    pub(super) close_at: i64,
}

impl Builder {
    /// A candle of one tick.
    pub(super) fn start(
        tick: &Tick,
        timeframe: Timeframe,
        open_time: i64,
        state: CandleState,
    ) -> Self {
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

    /// A candle computed elsewhere (the store) from the ticks stamped in
    /// `from_ms..until_ms`, re-labelled as a part of the `timeframe` bucket
    /// opening at `open_time`.
    pub(super) fn part(
        candle: &Candle,
        timeframe: Timeframe,
        open_time: i64,
        from_ms: i64,
        until_ms: i64,
    ) -> Self {
        Self {
            candle: Candle {
                timeframe,
                open_time,
                ..*candle
            },
            open_at: from_ms,
            close_at: until_ms - 1,
        }
    }

    /// The same ticks as a part of the `timeframe` bucket opening at
    /// `open_time`.
    pub(super) fn relabel(mut self, timeframe: Timeframe, open_time: i64) -> Self {
        self.candle.timeframe = timeframe;
        self.candle.open_time = open_time;
        self
    }

    /// Adds a tick of this bucket. Ties in time keep arrival order: the first
    /// tick at the earliest time opens, the last tick at the latest time closes.
    pub(super) fn add(&mut self, at: i64, price: Price) {
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

    /// Adds a part of the same bucket holding other ticks (disjoint in time,
    /// or later in arrival at equal times), keeping this one's labels.
    pub(super) fn absorb(&mut self, other: &Self) {
        let c = &mut self.candle;
        if other.open_at < self.open_at {
            self.open_at = other.open_at;
            c.open = other.candle.open;
        }
        if other.close_at >= self.close_at {
            self.close_at = other.close_at;
            c.close = other.candle.close;
        }
        c.high = c.high.max(other.candle.high);
        c.low = c.low.min(other.candle.low);
        c.volume += other.candle.volume;
    }
}
