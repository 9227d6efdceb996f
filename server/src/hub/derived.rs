//! A timeframe beyond the seven built from ticks (`90M`, `1W`, ...),
//! derived live from its base series' candles ([`Timeframe::base`]) while
//! someone is subscribed to it: no aggregator of ticks per subscription.
//! Every new state of a base candle (updated, closed, or revised by a late
//! tick) re-derives the candle of the bucket holding it with `shared`'s
//! [`resample_in`] (weeks from days opening at `DAY_START`).
//!
//! A derived candle is sent only when the base candles held cover its whole
//! bucket; the base parts of the newest two buckets are kept.

use std::collections::BTreeMap;

use shared::{Asset, Candle, CandleState, Sessions, Timeframe, resample_in};

use super::State;

/// Stored base candles to start a derived series from: every base candle
/// opening at or after `from` (Unix seconds), oldest first, as far as the
/// store has them; the hub's own base candles are newer where both hold one.
#[derive(Debug, Clone, Copy)]
pub struct Seed<'a> {
    /// Start of the stored window.
    pub from: i64,
    /// The stored base candles.
    pub candles: &'a [Candle],
}

/// One derived series' base parts.
#[derive(Debug)]
pub struct Derived {
    /// The derived timeframe.
    timeframe: Timeframe,
    /// Where days and weeks open.
    sessions: Sessions,
    /// Base candles by open time, of the newest buckets.
    parts: BTreeMap<i64, Candle>,
    /// Open time of the oldest bucket whose parts are all held.
    complete_from: i64,
}

impl Derived {
    /// A derived series seeded with base candles (oldest first): all of
    /// them from the oldest on, and all from `covered_from` on (Unix
    /// seconds: the stored window); returns it with the derived candles of
    /// every bucket held whole.
    pub fn seeded(
        timeframe: Timeframe,
        base: &[Candle],
        covered_from: Option<i64>,
        sessions: &Sessions,
    ) -> (Self, Vec<Candle>) {
        let whole_from = |t: i64| {
            let bucket = sessions.bucket_start(timeframe, t);
            if bucket == t {
                bucket
            } else {
                sessions.bucket_end(timeframe, bucket)
            }
        };
        let complete_from = base
            .first()
            .map(Candle::open_time)
            .into_iter()
            .chain(covered_from)
            .map(whole_from)
            .min()
            .unwrap_or(i64::MIN);
        let whole: Vec<Candle> = base
            .iter()
            .filter(|c| c.open_time() >= complete_from)
            .copied()
            .collect();
        let mut derived = Self {
            timeframe,
            sessions: sessions.clone(),
            parts: whole.iter().map(|c| (c.open_time(), *c)).collect(),
            complete_from,
        };
        let mut candles = resample_in(&whole, timeframe, sessions).unwrap_or_default();
        if let Some(last) = candles.last_mut() {
            *last = derived.state_of(*last, true);
        }
        derived.prune();
        (derived, candles)
    }

    /// The derived timeframe.
    pub const fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// Takes a base candle's new state; returns the derived candles it
    /// changed, oldest first: the one holding it, after the previous one
    /// closed when it opens a new bucket.
    pub fn apply(&mut self, part: Candle) -> Vec<Candle> {
        let bucket = self.sessions.bucket_start(self.timeframe, part.open_time());
        if bucket < self.complete_from {
            return Vec::new();
        }
        let newest = self.newest_bucket();
        self.parts.insert(part.open_time(), part);
        let mut changed = Vec::new();
        // The newest bucket was still forming if its last part never
        // closed (it had no ticks): a later bucket's first part closes it.
        if let Some(previous) = newest
            && previous < bucket
            && !self.ends_closed(self.sessions.bucket_end(self.timeframe, previous))
            && let Some(closed) = self.derive(previous, false)
        {
            changed.push(closed);
        }
        let is_newest = newest.is_none_or(|n| n <= bucket);
        changed.extend(self.derive(bucket, is_newest));
        self.prune();
        changed
    }

    fn newest_bucket(&self) -> Option<i64> {
        let (open, _) = self.parts.last_key_value()?;
        Some(self.sessions.bucket_start(self.timeframe, *open))
    }

    /// The derived candle of `bucket` from the parts held.
    fn derive(&self, bucket: i64, is_newest: bool) -> Option<Candle> {
        let end = self.sessions.bucket_end(self.timeframe, bucket);
        let parts: Vec<Candle> = self.parts.range(bucket..end).map(|(_, c)| *c).collect();
        let merged = *resample_in(&parts, self.timeframe, &self.sessions)
            .ok()?
            .first()?;
        Some(self.state_of(merged, is_newest))
    }

    /// A bucket's state: forming while it is the newest and the base part
    /// ending with it has not closed.
    fn state_of(&self, merged: Candle, is_newest: bool) -> Candle {
        let end = self.sessions.bucket_end(self.timeframe, merged.open_time());
        if is_newest && !self.ends_closed(end) {
            merged.with_state(CandleState::Forming)
        } else {
            merged
        }
    }

    /// Whether the part ending at `end` (Unix seconds) is held and closed.
    fn ends_closed(&self, end: i64) -> bool {
        self.parts.range(..end).next_back().is_some_and(|(_, c)| {
            self.sessions.bucket_end(c.timeframe(), c.open_time()) == end
                && c.state() != CandleState::Forming
        })
    }

    /// Forgets parts older than the newest two buckets.
    fn prune(&mut self) {
        let Some(newest) = self.newest_bucket() else {
            return;
        };
        let keep_from = self.sessions.bucket_start(self.timeframe, newest - 1);
        self.parts = self.parts.split_off(&keep_from);
        self.complete_from = self.complete_from.max(keep_from);
    }
}

/// Derives exactly the timeframes of `asset` that someone follows beyond
/// the seven built from ticks: a new one starts from `seed` and the hub's
/// base series, one no longer followed is dropped with its series.
pub(super) fn follow(state: &mut State, asset: Asset, seed: Option<Seed<'_>>, sessions: &Sessions) {
    let mut followed: Vec<Timeframe> = state
        .subscribers
        .get(&asset)
        .into_iter()
        .flatten()
        .flat_map(|s| s.follow.derived())
        .collect();
    followed.sort_unstable();
    followed.dedup();
    let derived = state.derived.entry(asset).or_default();
    for d in derived
        .iter()
        .filter(|d| !followed.contains(&d.timeframe()))
    {
        state.series.remove(&(asset, d.timeframe()));
    }
    derived.retain(|d| followed.contains(&d.timeframe()));
    for tf in followed {
        if derived.iter().any(|d| d.timeframe() == tf) {
            continue;
        }
        let mut base: BTreeMap<i64, Candle> = seed
            .into_iter()
            .flat_map(|s| s.candles)
            .filter(|c| c.timeframe() == tf.base())
            .map(|c| (c.open_time(), *c))
            .collect();
        if let Some(series) = state.series.get(&(asset, tf.base())) {
            base.extend(series.candles.iter().map(|c| (c.open_time(), *c)));
        }
        let base: Vec<Candle> = base.into_values().collect();
        let (d, candles) = Derived::seeded(tf, &base, seed.map(|s| s.from), sessions);
        derived.push(d);
        if !candles.is_empty() {
            let series = state.series.entry((asset, tf)).or_default();
            for c in candles {
                series.apply(c, usize::MAX);
            }
        }
    }
    if derived.is_empty() {
        state.derived.remove(&asset);
    }
}

#[cfg(test)]
mod tests;
