//! [`TickFile`]: the ticks of a CSV file, in time order; and
//! [`TickAggregation`], which turns them into candles with the server's own
//! [`Aggregator`], a budget of ticks at a time.
//!
//! The ticks are placed in timestamp order (file order among equal
//! timestamps), so none is late: the candles are those the server holds
//! once every tick of the file is stored, a repeated tick (same asset,
//! timestamp and price) counted once.

use super::CsvError;
use super::line::TickRow;
use crate::time::iso8601_millis;
use crate::{
    Aggregator, AggregatorConfig, Asset, Candle, CandleEvent, CandleState, Tick, Timeframe,
    TimestampMs,
};

/// Ticks of one asset, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickFile {
    asset: Asset,
    ticks: Vec<TickRow>,
}

impl TickFile {
    /// The ticks `rows` of `asset`, sorted by time (stable: ties keep the
    /// file's order).
    #[must_use]
    pub fn new(asset: Asset, mut rows: Vec<TickRow>) -> Self {
        if !rows.is_sorted_by_key(|r| r.at) {
            rows.sort_by_key(|r| r.at);
        }
        Self { asset, ticks: rows }
    }

    /// Their asset.
    #[must_use]
    pub const fn asset(&self) -> Asset {
        self.asset
    }

    /// How many ticks (repeats included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// Whether there are none (never true for a file read).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }

    /// The ticks, oldest first.
    pub fn ticks(&self) -> impl ExactSizeIterator<Item = Tick> + '_ {
        self.ticks
            .iter()
            .map(|r| Tick::new(self.asset, r.price, TimestampMs::new(r.at)))
    }

    /// The candles of `timeframe`, in one go.
    ///
    /// # Errors
    ///
    /// [`CsvError::TooDense`], see [`TickAggregation::finish`].
    pub fn candles(&self, timeframe: Timeframe) -> Result<Vec<Candle>, CsvError> {
        let mut aggregation = TickAggregation::new(timeframe);
        aggregation.step(self, usize::MAX);
        aggregation.finish()
    }
}

/// Candles of one timeframe being built from a [`TickFile`].
#[derive(Debug, Clone)]
pub struct TickAggregation {
    aggregator: Aggregator,
    /// Ticks placed so far.
    fed: usize,
    /// The candles so far, oldest first.
    candles: Vec<Candle>,
    /// The aggregator's events of one tick.
    events: Vec<CandleEvent>,
    /// Time (ms) of the first tick the aggregator could not place.
    refused: Option<i64>,
}

impl TickAggregation {
    /// Nothing placed yet.
    #[must_use]
    pub fn new(timeframe: Timeframe) -> Self {
        Self {
            aggregator: Aggregator::new(AggregatorConfig {
                timeframes: vec![timeframe],
                ..AggregatorConfig::default()
            }),
            fed: 0,
            candles: Vec::new(),
            events: Vec::new(),
            refused: None,
        }
    }

    /// Places up to `budget` more ticks of `file`; `true` once all are.
    pub fn step(&mut self, file: &TickFile, budget: usize) -> bool {
        let end = file.len().min(self.fed.saturating_add(budget));
        for row in &file.ticks[self.fed.min(end)..end] {
            let tick = Tick::new(file.asset, row.price, TimestampMs::new(row.at));
            self.aggregator.ingest(&tick, &mut self.events);
            for event in self.events.drain(..) {
                match event {
                    CandleEvent::Updated(c) | CandleEvent::Closed(c) | CandleEvent::Revised(c) => {
                        put(&mut self.candles, c);
                    }
                    CandleEvent::Late { tick } => {
                        self.refused.get_or_insert(tick.timestamp.millis());
                    }
                    CandleEvent::Duplicate { .. } => {}
                }
            }
            self.fed += 1;
        }
        self.fed >= file.len()
    }

    /// Ticks placed so far.
    #[must_use]
    pub const fn fed(&self) -> usize {
        self.fed
    }

    /// Repeated ticks, counted once.
    #[must_use]
    pub const fn repeats(&self) -> u64 {
        self.aggregator.stats().duplicates
    }

    /// The candles, oldest first, every one closed.
    ///
    /// # Errors
    ///
    /// [`CsvError::TooDense`] when the aggregator could not place a tick:
    /// more ticks within a minute than it tells apart.
    pub fn finish(self) -> Result<Vec<Candle>, CsvError> {
        if let Some(at) = self.refused {
            return Err(CsvError::TooDense {
                at: iso8601_millis(at),
            });
        }
        Ok(self
            .candles
            .into_iter()
            .map(|c| c.with_state(CandleState::Closed))
            .collect())
    }
}

/// Puts `c` in place by open time, replacing an earlier state of it.
fn put(candles: &mut Vec<Candle>, c: Candle) {
    let t = c.open_time();
    match candles.last_mut() {
        Some(last) if last.open_time() == t => *last = c,
        Some(last) if last.open_time() > t => {
            match candles.binary_search_by_key(&t, Candle::open_time) {
                Ok(i) => candles[i] = c,
                Err(i) => candles.insert(i, c),
            }
        }
        _ => candles.push(c),
    }
}
