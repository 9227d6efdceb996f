//! [`Aggregator`]: turns ticks, in arrival order, into candles for every
//! configured timeframe of every asset at once, and reports each change as a
//! [`CandleEvent`].
//!
//! - A tick in the forming bucket updates the forming candle.
//! - A tick in a later bucket closes the forming candle and starts a new one;
//!   [`Aggregator::advance_to`] closes candles whose bucket has ended on the
//!   clock, so a quiet market still closes its candle.
//! - A late tick (older than the asset's newest tick) within the grace window
//!   revises a closed candle, or creates the candle its bucket lacked.
//! - A tick older than the newest one by more than the grace window is
//!   rejected, counted and reported, never silently dropped.
//!
//! A bucket with no ticks makes no candle.

mod series;

use std::collections::HashMap;

use series::Series;

use crate::{Asset, Candle, Tick, Timeframe, TimestampMs};

/// What the aggregator builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorConfig {
    /// The timeframes kept for every asset (duplicates are ignored).
    pub timeframes: Vec<Timeframe>,
    /// How far (ms) behind an asset's newest tick a tick may be and still be
    /// accepted, revising a closed candle if need be.
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
    /// A tick came too late to be placed and changed nothing.
    LateTickRejected {
        /// The refused tick.
        tick: Tick,
        /// The asset's newest tick time when it arrived.
        newest: TimestampMs,
    },
}

impl CandleEvent {
    /// The candle this event carries, if any.
    #[must_use]
    pub const fn candle(&self) -> Option<&Candle> {
        match self {
            Self::Updated(c) | Self::Closed(c) | Self::Revised(c) => Some(c),
            Self::LateTickRejected { .. } => None,
        }
    }
}

/// Counters since the aggregator was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AggregatorStats {
    /// Ticks placed in candles.
    pub accepted: u64,
    /// Ticks rejected as too late.
    pub late_rejected: u64,
    /// Revisions of closed candles.
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
}

/// Candles for many assets and timeframes, built from ticks.
#[derive(Debug, Clone)]
pub struct Aggregator {
    timeframes: Vec<Timeframe>,
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
            grace_ms: config.grace_ms.max(0),
            clock_ms: i64::MIN,
            assets: Vec::new(),
            index: HashMap::new(),
            last: None,
            stats: AggregatorStats::default(),
        }
    }

    /// The timeframes kept, shortest first.
    #[must_use]
    pub fn timeframes(&self) -> &[Timeframe] {
        &self.timeframes
    }

    /// Places a tick and appends what changed to `out`.
    pub fn ingest(&mut self, tick: &Tick, out: &mut Vec<CandleEvent>) {
        let i = self.asset_index(tick.asset);
        let state = &mut self.assets[i];
        let at = tick.timestamp.millis();
        if at < state.newest.saturating_sub(self.grace_ms) {
            self.stats.late_rejected += 1;
            out.push(CandleEvent::LateTickRejected {
                tick: *tick,
                newest: TimestampMs::new(state.newest),
            });
            return;
        }
        state.newest = state.newest.max(at);
        let oldest = state.newest.saturating_sub(self.grace_ms);
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
            let oldest = state.newest.saturating_sub(self.grace_ms);
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
                    series: self.timeframes.iter().map(|tf| Series::new(*tf)).collect(),
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
