//! [`Pending`]: the late work taken in but not yet restated: the candles to
//! recompute (one entry per candle, however many late ticks it got) and the
//! late ticks the store must hold first. Bounded: past [`MAX_PENDING_KEYS`]
//! candles or [`MAX_PENDING_TICKS`] ticks the reviser takes no more work, so
//! the candle builder waits.

use std::collections::HashMap;

use shared::{Asset, Restatement, Tick, Timeframe};

/// Most candles waiting to be restated.
pub const MAX_PENDING_KEYS: usize = 1_000_000;
/// Most late ticks waiting to be found stored.
pub const MAX_PENDING_TICKS: usize = 1_000_000;

/// Late work taken in.
#[derive(Debug, Default)]
pub struct Pending {
    candles: HashMap<(Asset, Timeframe, i64), Restatement>,
    ticks: Vec<Tick>,
}

impl Pending {
    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.candles.is_empty() && self.ticks.is_empty()
    }

    /// Whether no more work may be taken in.
    pub fn is_full(&self) -> bool {
        self.candles.len() >= MAX_PENDING_KEYS || self.ticks.len() >= MAX_PENDING_TICKS
    }

    /// Candles waiting.
    pub fn candles(&self) -> usize {
        self.candles.len()
    }

    /// Takes in a batch's late ticks and the candles they touched; a candle
    /// already waiting keeps one entry reaching as far as both.
    pub fn add(&mut self, ticks: Vec<Tick>, plan: Vec<Restatement>) {
        if self.ticks.is_empty() {
            self.ticks = ticks;
        } else {
            self.ticks.extend(ticks);
        }
        for r in plan {
            self.candles
                .entry((r.asset, r.timeframe, r.open_time))
                .and_modify(|held| {
                    held.late_until_ms = held.late_until_ms.max(r.late_until_ms);
                    held.split_ms = held.split_ms.max(r.split_ms);
                })
                .or_insert(r);
        }
    }

    /// The late ticks the store must hold before restating.
    pub fn ticks(&self) -> &[Tick] {
        &self.ticks
    }

    /// Takes everything: the candles, one-minute ones first (the one-minute
    /// candles the aggregator keeps are replaced by them), then by asset,
    /// timeframe and time.
    pub fn take(&mut self) -> Vec<Restatement> {
        self.ticks.clear();
        let mut all: Vec<Restatement> = self.candles.drain().map(|(_, r)| r).collect();
        all.sort_unstable_by_key(|r| (r.timeframe, r.asset, r.open_time));
        all
    }
}

#[cfg(test)]
mod tests {
    use shared::{Price, TimestampMs};

    use super::*;

    #[test]
    fn one_entry_per_candle_reaching_as_far_as_all() {
        const T0: i64 = 1_705_312_800_000; // a whole hour
        let r = |until: i64, split: i64| Restatement {
            asset: Asset::new("A"),
            timeframe: Timeframe::H1,
            open_time: T0 / 1000,
            close_time: T0 / 1000 + 3600,
            late_until_ms: T0 + until,
            split_ms: T0 + split,
        };
        let tick = Tick::new(Asset::new("A"), Price::new("1"), TimestampMs::new(T0));
        let mut p = Pending::default();
        p.add(vec![tick], vec![r(60_000, 60_000)]);
        p.add(vec![tick], vec![r(120_000, 100_000)]);
        assert_eq!((p.candles(), p.ticks().len()), (1, 2));
        assert_eq!(p.take(), vec![r(120_000, 100_000)]);
        assert!(p.is_empty());
    }
}
