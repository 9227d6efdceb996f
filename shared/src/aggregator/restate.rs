//! Restatement: candles that late ticks changed, recomputed from the store
//! (where every tick, late or not, is kept once) and completed with the live
//! one-minute candles the aggregator holds.
//!
//! The candle builder asks [`Aggregator::plan`] which buckets a batch of
//! late ticks touched; for each, the store computes the part of the bucket
//! before [`Restatement::split_ms`] (the whole bucket when it lies before
//! the asset's horizon), and [`Aggregator::restate`] merges that part with
//! the live minutes from the split to the bucket's end.

use std::collections::BTreeMap;

use super::Aggregator;
use super::builder::Builder;
use crate::{Asset, Candle, CandleEvent, Tick, Timeframe};

/// One candle to recompute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Restatement {
    /// Its asset.
    pub asset: Asset,
    /// Its timeframe.
    pub timeframe: Timeframe,
    /// Its open time, Unix seconds.
    pub open_time: i64,
    /// Its end (exclusive), Unix seconds: a day opening at `DAY_START` may
    /// last 23 or 25 hours.
    pub close_time: i64,
    /// End (ms) of the minute of the newest late tick in the bucket: the
    /// store's part must reach at least this far.
    pub late_until_ms: i64,
    /// The store computes the ticks in `open_time..split_ms`; the live
    /// minutes give the rest of the bucket.
    pub split_ms: i64,
}

impl Restatement {
    /// Start of the bucket, Unix ms.
    #[must_use]
    pub const fn start_ms(&self) -> i64 {
        self.open_time * 1000
    }

    /// End of the bucket, Unix ms.
    #[must_use]
    pub const fn end_ms(&self) -> i64 {
        self.close_time * 1000
    }

    /// Whether the store computes the whole bucket.
    #[must_use]
    pub const fn whole(&self) -> bool {
        self.split_ms >= self.end_ms()
    }
}

/// What [`Aggregator::restate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restated {
    /// The candle was replaced (or had no ticks, and nothing changed).
    Done,
    /// The live minutes after the split are no longer held (a new day
    /// began): ask the store again for this.
    AskAgain(Restatement),
}

impl Aggregator {
    /// The candles `late` ticks (of one batch) belong to, in every kept
    /// timeframe and the one-minute one, one-minute first; each split where
    /// the store's part must end. Buckets ending at or before the asset's
    /// horizon are computed whole by the store: every tick in them is late
    /// by now, hence stored.
    #[must_use]
    pub fn plan(&self, late: &[Tick]) -> Vec<Restatement> {
        let mut late_until: BTreeMap<(Timeframe, Asset, i64), i64> = BTreeMap::new();
        let mut timeframes = self.timeframes.clone();
        if !timeframes.contains(&Timeframe::M1) {
            timeframes.insert(0, Timeframe::M1);
        }
        for tick in late {
            let at = tick.timestamp.millis();
            let minute_end = (Timeframe::M1.bucket_of_millis(at) + 60) * 1000;
            for tf in &timeframes {
                let key = (*tf, tick.asset, self.sessions.bucket_of_millis(*tf, at));
                let until = late_until.entry(key).or_insert(minute_end);
                *until = (*until).max(minute_end);
            }
        }
        late_until
            .into_iter()
            .map(|((timeframe, asset, open_time), late_until_ms)| {
                self.split(Restatement {
                    asset,
                    timeframe,
                    open_time,
                    close_time: self.sessions.bucket_end(timeframe, open_time),
                    late_until_ms,
                    split_ms: late_until_ms,
                })
            })
            .collect()
    }

    /// Where the store's part of `r` ends now: the whole bucket before the
    /// horizon, else the later of the late ticks' minute end and the oldest
    /// live minute held.
    fn split(&self, mut r: Restatement) -> Restatement {
        let end = r.end_ms();
        r.split_ms = match self.index.get(&r.asset).map(|i| &self.assets[*i]) {
            Some(state) if end > state.horizon(self.grace_ms) => {
                r.late_until_ms.max(state.minutes.held_from_ms()).min(end)
            }
            _ => end,
        };
        r
    }

    /// Replaces the candle `r` names with `store_part` (the store's candle
    /// of the ticks in `r.start_ms()..r.split_ms`, `None` if it holds none)
    /// merged with the live minutes in `r.split_ms..r.end_ms()`, and reports
    /// it: updated when forming, revised when closed (held or not). A
    /// one-minute restatement also replaces the minute held, so that later
    /// merges include its late ticks.
    pub fn restate(
        &mut self,
        r: &Restatement,
        store_part: Option<&Candle>,
        out: &mut Vec<CandleEvent>,
    ) -> Restated {
        let (start, end) = (r.start_ms(), r.end_ms());
        let Some(i) = self.index.get(&r.asset).copied() else {
            // Nothing held about the asset (forgotten): only the store knows.
            if r.whole() {
                if let Some(c) = store_part {
                    let c = Builder::part(c, r.timeframe, r.open_time, start, end).candle;
                    out.push(CandleEvent::Revised(
                        c.with_state(crate::CandleState::Revised),
                    ));
                    self.stats.revisions += 1;
                }
                return Restated::Done;
            }
            return Restated::AskAgain(Restatement {
                split_ms: end,
                ..*r
            });
        };
        let state = &mut self.assets[i];
        if !r.whole() && r.split_ms < state.minutes.held_from_ms() {
            return Restated::AskAgain(self.split(*r));
        }
        let mut merged =
            store_part.map(|c| Builder::part(c, r.timeframe, r.open_time, start, r.split_ms));
        for minute in state.minutes.within(r.split_ms, end) {
            let minute = minute.relabel(r.timeframe, r.open_time);
            match &mut merged {
                Some(m) => m.absorb(&minute),
                None => merged = Some(minute),
            }
        }
        let Some(merged) = merged else {
            return Restated::Done;
        };
        if r.timeframe == Timeframe::M1 && r.whole() {
            state.minutes.replace(r.open_time, merged);
        }
        let Some(position) = self.timeframes.iter().position(|tf| *tf == r.timeframe) else {
            return Restated::Done;
        };
        let before = out.len();
        state.series[position].restate(r.open_time, merged, out);
        self.stats.revisions += out[before..]
            .iter()
            .filter(|e| matches!(e, CandleEvent::Revised(_)))
            .count() as u64;
        Restated::Done
    }
}
