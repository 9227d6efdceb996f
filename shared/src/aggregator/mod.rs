//! [`Aggregator`]: turns ticks, in arrival order, into candles for every
//! configured timeframe of every asset at once, and reports each change as a
//! [`CandleEvent`].
//!
//! - A tick in the forming bucket updates the forming candle.
//! - A tick in a later bucket closes the forming candle and starts a new one;
//!   [`Aggregator::advance_to`] closes candles whose bucket has ended on the
//!   clock, so a quiet market still closes its candle.
//! - A tick is `(asset, timestamp, price)`, as in the store: the same tick
//!   counted once is reported [`CandleEvent::Duplicate`] and changes nothing.
//! - Each asset has a horizon: the start of the minute holding its newest
//!   tick less the grace window. A tick at or after it is live: placed here,
//!   revising a closed candle, or creating the candle its bucket lacked, if
//!   need be. Identities are held for live ticks only ([`identity`]).
//! - A tick before the horizon is [`CandleEvent::Late`]: not placed, counted,
//!   and reported, never silently dropped. The server stores it and
//!   restates its candles from the store ([`restate`]), merged with the
//!   one-minute candles of the current day that the aggregator keeps
//!   ([`minutes`]).
//!
//! A bucket with no ticks makes no candle.

mod builder;
pub mod identity;
mod minutes;
pub mod restate;
mod series;

use std::collections::HashMap;

use identity::{LiveIds, Seen};
use minutes::Minutes;
pub use restate::{Restated, Restatement};
use series::Series;

use crate::{Asset, Candle, Sessions, Tick, Timeframe, TimestampMs};

/// What the aggregator builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorConfig {
    /// The timeframes kept for every asset (duplicates are ignored).
    pub timeframes: Vec<Timeframe>,
    /// How far (ms) behind an asset's newest tick a tick may be and still be
    /// live (placed here, revising a closed candle if need be): the horizon
    /// is the start of the minute holding `newest - grace_ms`.
    pub grace_ms: i64,
}

impl Default for AggregatorConfig {
    /// Every timeframe, a two-second grace window.
    fn default() -> Self {
        Self {
            timeframes: Timeframe::ALL.to_vec(),
            grace_ms: 2_000,
        }
    }
}

/// A change the aggregator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandleEvent {
    /// The forming candle changed (or started).
    Updated(Candle),
    /// A candle's bucket ended; this is its final form unless revised.
    Closed(Candle),
    /// A late tick changed a closed candle, or made one its bucket lacked.
    Revised(Candle),
    /// A tick before its asset's horizon: not placed here; its candles are
    /// restated from the store ([`Aggregator::plan`], [`Aggregator::restate`]).
    Late {
        /// The tick.
        tick: Tick,
    },
    /// A live tick counted before: it changed nothing.
    Duplicate {
        /// The tick.
        tick: Tick,
    },
}

impl CandleEvent {
    /// The candle this event carries, if any.
    #[must_use]
    pub const fn candle(&self) -> Option<&Candle> {
        match self {
            Self::Updated(c) | Self::Closed(c) | Self::Revised(c) => Some(c),
            Self::Late { .. } | Self::Duplicate { .. } => None,
        }
    }
}

/// Counters since the aggregator was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AggregatorStats {
    /// Ticks placed in candles.
    pub accepted: u64,
    /// Ticks before their asset's horizon, left to the late path.
    pub late: u64,
    /// Live ticks counted before, left out.
    pub duplicates: u64,
    /// Revisions of closed candles (by live ticks and restatements).
    pub revisions: u64,
}

/// One asset's state.
#[derive(Debug, Clone)]
struct AssetState {
    asset: Asset,
    /// The newest tick time seen (the watermark), ms.
    newest: i64,
    /// One series per configured timeframe, in configuration order.
    series: Vec<Series>,
    /// Identities of the live ticks.
    ids: LiveIds,
    /// The one-minute candles of the horizon's day onward.
    minutes: Minutes,
}

impl AssetState {
    /// Start (ms) of the minute holding `newest - grace_ms`: ticks before it
    /// are late.
    fn horizon(&self, grace_ms: i64) -> i64 {
        let t = self.newest.saturating_sub(grace_ms);
        t.saturating_sub(t.rem_euclid(60_000))
    }
}

/// Start (ms) of the UTC day holding `ms`.
fn day_of(ms: i64) -> i64 {
    ms.saturating_sub(ms.rem_euclid(86_400_000))
}

/// Candles for many assets and timeframes, built from ticks.
#[derive(Debug, Clone)]
pub struct Aggregator {
    timeframes: Vec<Timeframe>,
    /// Where days and weeks open (`DAY_START`).
    sessions: Sessions,
    grace_ms: i64,
    /// The timer's time (ms): buckets ending at or before it are closed.
    clock_ms: i64,
    assets: Vec<AssetState>,
    index: HashMap<Asset, usize>,
    /// Index of the asset of the previous tick: feeds come in runs.
    last: Option<usize>,
    stats: AggregatorStats,
}

impl Aggregator {
    /// An empty aggregator.
    #[must_use]
    pub fn new(config: AggregatorConfig) -> Self {
        let mut timeframes = config.timeframes;
        timeframes.sort_unstable();
        timeframes.dedup();
        Self {
            timeframes,
            sessions: Sessions::utc(),
            grace_ms: config.grace_ms.max(0),
            clock_ms: i64::MIN,
            assets: Vec::new(),
            index: HashMap::new(),
            last: None,
            stats: AggregatorStats::default(),
        }
    }

    /// The same aggregator with days and weeks opening at `sessions`
    /// (`DAY_START`) rather than at midnight UTC; for a new aggregator,
    /// before any tick.
    #[must_use]
    pub fn with_sessions(mut self, sessions: Sessions) -> Self {
        self.sessions = sessions;
        self
    }

    /// Where days and weeks open.
    #[must_use]
    pub const fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The timeframes kept, shortest first.
    #[must_use]
    pub fn timeframes(&self) -> &[Timeframe] {
        &self.timeframes
    }

    /// Places a tick and appends what changed to `out`: candle events for a
    /// live tick, [`CandleEvent::Late`] or [`CandleEvent::Duplicate`]
    /// otherwise.
    pub fn ingest(&mut self, tick: &Tick, out: &mut Vec<CandleEvent>) {
        let i = self.asset_index(tick.asset);
        let state = &mut self.assets[i];
        let at = tick.timestamp.millis();
        let horizon = state.horizon(self.grace_ms);
        // Before the horizon, a tick is late whether seen or not.
        let seen = if at < horizon {
            Seen::Full
        } else {
            state.ids.insert(at, tick.price)
        };
        match seen {
            Seen::Full => {
                self.stats.late += 1;
                out.push(CandleEvent::Late { tick: *tick });
                return;
            }
            Seen::Again => {
                self.stats.duplicates += 1;
                out.push(CandleEvent::Duplicate { tick: *tick });
                return;
            }
            Seen::New => {}
        }
        state.newest = state.newest.max(at);
        let oldest = state.horizon(self.grace_ms);
        if oldest > horizon {
            state.ids.prune(oldest);
            state.minutes.prune(day_of(oldest));
        }
        state.minutes.add(tick);
        let before = out.len();
        for series in &mut state.series {
            series.add(tick, self.clock_ms, oldest, out);
        }
        self.stats.accepted += 1;
        self.stats.revisions += out[before..]
            .iter()
            .filter(|e| matches!(e, CandleEvent::Revised(_)))
            .count() as u64;
    }

    /// Places ticks in order and returns every event.
    pub fn ingest_all<'a>(
        &mut self,
        ticks: impl IntoIterator<Item = &'a Tick>,
    ) -> Vec<CandleEvent> {
        let mut out = Vec::new();
        for tick in ticks {
            self.ingest(tick, &mut out);
        }
        out
    }

    /// Moves the clock to `now` and closes every forming candle whose bucket
    /// has ended, appending a [`CandleEvent::Closed`] for each. The clock
    /// never goes back.
    pub fn advance_to(&mut self, now: TimestampMs, out: &mut Vec<CandleEvent>) {
        self.clock_ms = self.clock_ms.max(now.millis());
        for state in &mut self.assets {
            let oldest = state.horizon(self.grace_ms);
            for series in &mut state.series {
                series.advance_to(self.clock_ms, oldest, out);
            }
        }
    }

    /// The forming candle of an asset in a timeframe, if any.
    #[must_use]
    pub fn forming(&self, asset: Asset, timeframe: Timeframe) -> Option<Candle> {
        let state = &self.assets[*self.index.get(&asset)?];
        let position = self.timeframes.iter().position(|tf| *tf == timeframe)?;
        state.series[position].forming()
    }

    /// The newest tick time of an asset: "no tick since T".
    #[must_use]
    pub fn last_tick(&self, asset: Asset) -> Option<TimestampMs> {
        self.index
            .get(&asset)
            .map(|i| TimestampMs::new(self.assets[*i].newest))
    }

    /// Every asset with its newest tick time, in first-seen order.
    pub fn last_ticks(&self) -> impl Iterator<Item = (Asset, TimestampMs)> + '_ {
        self.assets
            .iter()
            .map(|s| (s.asset, TimestampMs::new(s.newest)))
    }

    /// Assets whose newest tick is older than `now - quiet_ms`: candidates for
    /// a quiet market or a dead feed.
    pub fn silent_since(
        &self,
        now: TimestampMs,
        quiet_ms: i64,
    ) -> impl Iterator<Item = (Asset, TimestampMs)> + '_ {
        let limit = now.millis().saturating_sub(quiet_ms);
        self.last_ticks().filter(move |(_, t)| t.millis() < limit)
    }

    /// Drops everything held about `asset`, as if it had never ticked: its
    /// next tick starts new candles. Returns whether anything was held.
    pub fn forget(&mut self, asset: Asset) -> bool {
        let Some(i) = self.index.remove(&asset) else {
            return false;
        };
        self.assets.swap_remove(i);
        if let Some(moved) = self.assets.get(i) {
            self.index.insert(moved.asset, i);
        }
        self.last = None;
        true
    }

    /// Counters since creation.
    #[must_use]
    pub const fn stats(&self) -> AggregatorStats {
        self.stats
    }

    fn asset_index(&mut self, asset: Asset) -> usize {
        if let Some(i) = self.last
            && self.assets[i].asset == asset
        {
            return i;
        }
        let i = match self.index.get(&asset) {
            Some(i) => *i,
            None => {
                let i = self.assets.len();
                self.assets.push(AssetState {
                    asset,
                    newest: i64::MIN,
                    series: self
                        .timeframes
                        .iter()
                        .map(|tf| Series::new(*tf, self.sessions.clone()))
                        .collect(),
                    ids: LiveIds::default(),
                    minutes: Minutes::new(),
                });
                self.index.insert(asset, i);
                i
            }
        };
        self.last = Some(i);
        i
    }
}

#[cfg(test)]
mod tests;
