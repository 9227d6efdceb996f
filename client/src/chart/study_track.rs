//! [`Track`]: one study's values over the candles held, computed live by
//! `shared::indicators` and warmed up with the server's values, so that the
//! page and `GET /api/indicators` agree.
//!
//! Up to the seed (the newest closed candle the server answered for) the
//! values are the server's; from there the page steps the study on itself,
//! from a state equal to the server's: EMA is seeded with the server's
//! value there (an EMA's value is its state), SMA and Bollinger replay the
//! closes held (their state is the last `period` closes), and RSI and MACD
//! resume from the averages the server's answer carries as its `state`.
//! Without the server's values (or state) a study replays the closes held.

use std::collections::BTreeMap;

use shared::Candle;
use shared::indicators::{Averaged, Ema, Indicator, Study, Value};

/// The server's values of a study, by candle open time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerValues {
    /// The study's points.
    pub points: BTreeMap<i64, Value>,
    /// RSI and MACD only: their averages after the candle opening at this
    /// time.
    pub state: Option<(i64, Averaged)>,
}

/// What changed in a track's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Every value may have: draw them all again.
    All,
    /// The values at these open times (ascending), all newer than the rest.
    Newest(Vec<i64>),
}

/// One study's values over the candles held.
#[derive(Debug, Clone)]
pub struct Track {
    study: Study,
    server: ServerValues,
    /// The values, by open time.
    values: BTreeMap<i64, Value>,
    /// The state after the newest closed candle, and that candle's time.
    checkpoint: Option<(i64, Indicator)>,
}

/// The close as a double, as the server's `push_price` takes it.
fn close_of(candle: &Candle) -> f64 {
    candle.close().to_f64_lossy()
}

impl Track {
    /// A track of `study` with no values yet.
    #[must_use]
    pub fn new(study: Study) -> Self {
        Self {
            study,
            server: ServerValues::default(),
            values: BTreeMap::new(),
            checkpoint: None,
        }
    }

    /// The study.
    #[must_use]
    pub const fn study(&self) -> Study {
        self.study
    }

    /// The value at the candle opening at `time`.
    #[must_use]
    pub fn at(&self, time: i64) -> Option<Value> {
        self.values.get(&time).copied()
    }

    /// Every value, oldest first.
    pub fn values(&self) -> impl Iterator<Item = (i64, Value)> + '_ {
        self.values.iter().map(|(t, v)| (*t, *v))
    }

    /// Takes the server's values and computes everything again.
    pub fn set_server(&mut self, server: ServerValues, candles: &[Candle]) {
        self.server = server;
        self.rebuild(candles);
    }

    /// The newest time the server has a value for, if any.
    #[must_use]
    pub fn server_newest(&self) -> Option<i64> {
        self.server.points.keys().next_back().copied()
    }

    /// Computes every value for `candles` (oldest first).
    pub fn rebuild(&mut self, candles: &[Candle]) {
        self.values.clear();
        self.checkpoint = None;
        let Some((newest, closed)) = candles.split_last() else {
            return;
        };
        let (mut running, from) = self.seed(closed);
        for c in &closed[from..] {
            if let Some(v) = running.push(close_of(c)) {
                self.values.insert(c.open_time(), v);
            }
        }
        if let Some(v) = running.clone().push(close_of(newest)) {
            self.values.insert(newest.open_time(), v);
        }
        if let Some(last) = closed.last() {
            self.checkpoint = Some((last.open_time(), running));
        }
    }

    /// The state to step on from and the index in `closed` where stepping
    /// starts; the values up to there filled in.
    fn seed(&mut self, closed: &[Candle]) -> (Indicator, usize) {
        let fresh = Indicator::new(self.study);
        // The newest closed candle held that the server answered for.
        let Some(at) = closed
            .iter()
            .rposition(|c| self.server.points.contains_key(&c.open_time()))
        else {
            return (fresh, 0);
        };
        let time = closed[at].open_time();
        let seeded = match (self.study, self.server.points.get(&time)) {
            (Study::Ema { period }, Some(Value::Line { value })) => {
                Some(Indicator::Ema(Ema::resume(period, *value)))
            }
            (study, Some(_)) => {
                self.server
                    .state
                    .filter(|(t, _)| *t == time)
                    .and_then(|(_, averages)| {
                        Indicator::resume(study, close_of(&closed[at]), averages)
                    })
            }
            (_, None) => None,
        };
        let mut running = fresh;
        for c in &closed[..=at] {
            let mine = if seeded.is_some() {
                None
            } else {
                running.push(close_of(c))
            };
            let server = self.server.points.get(&c.open_time()).copied();
            if let Some(v) = server.or(mine) {
                self.values.insert(c.open_time(), v);
            }
        }
        (seeded.unwrap_or(running), at + 1)
    }

    /// Follows `candles` (oldest first) after the candles at `changed`
    /// changed: steps on from the checkpoint when only candles newer than
    /// it changed, else computes everything again.
    pub fn update(&mut self, candles: &[Candle], changed: &[i64]) -> Changed {
        let Some(checkpoint) = self.checkpoint.as_ref().map(|(t, _)| *t) else {
            self.rebuild(candles);
            return Changed::All;
        };
        if changed.iter().any(|t| *t <= checkpoint) {
            self.rebuild(candles);
            return Changed::All;
        }
        let Some((newest, closed)) = candles.split_last() else {
            return Changed::All;
        };
        let start = closed.partition_point(|c| c.open_time() <= checkpoint);
        let mut times = Vec::new();
        if let Some((_, running)) = self.checkpoint.as_mut() {
            for c in &closed[start..] {
                if let Some(v) = running.push(close_of(c)) {
                    self.values.insert(c.open_time(), v);
                }
                times.push(c.open_time());
            }
            if let Some(v) = running.clone().push(close_of(newest)) {
                self.values.insert(newest.open_time(), v);
            }
            times.push(newest.open_time());
        }
        if let (Some(last), Some(cp)) = (closed.last(), self.checkpoint.as_mut()) {
            cp.0 = cp.0.max(last.open_time());
        }
        // Candles evicted from the buffer take their values with them.
        if let Some(oldest) = candles.first() {
            self.values = self.values.split_off(&oldest.open_time());
        }
        Changed::Newest(times)
    }
}

#[cfg(test)]
mod tests;
