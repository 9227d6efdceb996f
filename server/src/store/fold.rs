//! [`CandleFold`]: candles built from one asset's ticks read in (timestamp,
//! insertion) order, as the live aggregator builds them from ticks in
//! arrival order. The embedded store uses it because SQLite has no exact
//! decimal type to take a maximum over.
//!
//! Memory is bounded: only the newest `limit` candles are kept while the
//! ticks stream past.

use std::collections::VecDeque;

use shared::{Asset, Candle, CandleState, Price, Timeframe};

/// One candle under construction.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    open_time: i64,
    open: Price,
    high: Price,
    low: Price,
    close: Price,
    volume: u64,
}

/// Folds ticks into the newest `limit` candles of one asset and timeframe.
#[derive(Debug)]
pub struct CandleFold {
    asset: Asset,
    timeframe: Timeframe,
    limit: usize,
    done: VecDeque<Bucket>,
    current: Option<Bucket>,
}

impl CandleFold {
    /// An empty fold keeping at most `limit` candles (at least one).
    #[must_use]
    pub fn new(asset: Asset, timeframe: Timeframe, limit: usize) -> Self {
        Self {
            asset,
            timeframe,
            limit: limit.max(1),
            done: VecDeque::new(),
            current: None,
        }
    }

    /// Adds the next tick; ticks must come in (timestamp, insertion) order.
    pub fn push(&mut self, timestamp_ms: i64, price: Price) {
        let open_time = self.timeframe.bucket_of_millis(timestamp_ms);
        match &mut self.current {
            Some(b) if b.open_time == open_time => {
                b.high = b.high.max(price);
                b.low = b.low.min(price);
                b.close = price;
                b.volume += 1;
            }
            current => {
                if let Some(finished) = current.take() {
                    self.done.push_back(finished);
                    if self.done.len() >= self.limit {
                        self.done.pop_front();
                    }
                }
                *current = Some(Bucket {
                    open_time,
                    open: price,
                    high: price,
                    low: price,
                    close: price,
                    volume: 1,
                });
            }
        }
    }

    /// The candles, oldest first; the bucket holding `now_s` is forming.
    #[must_use]
    pub fn finish(self, now_s: i64) -> Vec<Candle> {
        let forming = self.timeframe.bucket_start(now_s);
        let (asset, timeframe) = (self.asset, self.timeframe);
        self.done
            .into_iter()
            .chain(self.current)
            .filter_map(|b| {
                let state = if b.open_time == forming {
                    CandleState::Forming
                } else {
                    CandleState::Closed
                };
                Candle::new_checked(
                    asset,
                    timeframe,
                    b.open_time,
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    state,
                )
                .ok()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Aggregator, AggregatorConfig, Tick, TimestampMs};

    const T0: i64 = 1_705_314_600_000; // 2024-01-15 10:30 UTC

    fn ticks() -> Vec<(i64, &'static str)> {
        vec![
            (T0, "1.0823"),
            (T0 + 1_000, "1.0830"),
            (T0 + 1_000, "1.0801"), // same instant: arrival order decides
            (T0 + 59_999, "1.0815"),
            (T0 + 60_000, "1.09"),
            (T0 + 180_000, "1.1"), // a gap of one minute
            (T0 + 180_500, "1.05"),
        ]
    }

    #[test]
    fn it_builds_the_candles_the_live_aggregator_builds() {
        let asset = Asset::new("EURUSD_otc");
        for timeframe in Timeframe::ALL {
            let mut fold = CandleFold::new(asset, timeframe, 1000);
            let mut live = Aggregator::new(AggregatorConfig {
                timeframes: vec![timeframe],
                ..AggregatorConfig::default()
            });
            let mut expected = std::collections::BTreeMap::new();
            let mut events = Vec::new();
            for (ts, price) in ticks() {
                fold.push(ts, Price::new(price));
                let tick = Tick::new(asset, Price::new(price), TimestampMs::new(ts));
                live.ingest(&tick, &mut events);
            }
            for event in &events {
                if let Some(c) = event.candle() {
                    expected.insert(c.open_time(), c.with_state(CandleState::Closed));
                }
            }
            let got: Vec<Candle> = fold.finish(0);
            let expected: Vec<Candle> = expected.into_values().collect();
            assert_eq!(got, expected, "{timeframe}");
        }
    }

    #[test]
    fn only_the_newest_limit_are_kept_and_the_current_bucket_is_forming() {
        let asset = Asset::new("A");
        let mut fold = CandleFold::new(asset, Timeframe::M1, 2);
        for (ts, price) in ticks() {
            fold.push(ts, Price::new(price));
        }
        let now_s = (T0 + 190_000) / 1000;
        let got = fold.finish(now_s);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].open_time(), (T0 + 60_000) / 1000);
        assert_eq!(got[0].state(), CandleState::Closed);
        assert_eq!(got[1].open_time(), (T0 + 180_000) / 1000);
        assert_eq!(got[1].state(), CandleState::Forming);
        assert_eq!(got[1].high(), Price::new("1.1"));
        assert_eq!(got[1].low(), Price::new("1.05"));
        assert_eq!(got[1].volume(), 2);
    }

    #[test]
    fn no_ticks_no_candles() {
        assert!(
            CandleFold::new(Asset::new("A"), Timeframe::H1, 5)
                .finish(0)
                .is_empty()
        );
    }
}
