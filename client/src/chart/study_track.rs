//! [`Track`]: one study's values over the candles held, computed live by
//! `shared::indicators` and warmed up with the server's values, so that the
//! page and `GET /api/indicators` agree.
//!
//! Up to the seed (the newest closed candle the server answered for) the
//! values are the server's; from there the page steps the study on itself,
//! from a state equal to the server's: EMA and MACD are seeded with the
//! server's averages there (an [`Ema`]'s first value is its state), SMA and
//! Bollinger replay the closes held (their state is the last `period`
//! closes), and RSI resumes from the Wilder averages the server's answer
//! carries as its `state`. Without the server's values (or state) a study
//! replays the closes held.

use std::collections::BTreeMap;

use shared::Candle;
use shared::indicators::{Averages, Ema, Indicator, MacdValue, Rsi, Study, Value};

/// The server's values of a study, by candle open time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerValues {
    /// The study's points.
    pub points: BTreeMap<i64, Value>,
    /// MACD only: its fast and slow EMAs (`ema:fast`, `ema:slow`), the
    /// state its line cannot be seeded from.
    pub fast: BTreeMap<i64, f64>,
    /// See `fast`.
    pub slow: BTreeMap<i64, f64>,
    /// RSI only: Wilder's averages after the candle opening at this time.
    pub rsi: Option<(i64, Averages)>,
}

/// A study's running state: `shared`'s [`Indicator`], or a MACD rebuilt
/// from `shared`'s [`Ema`]s seeded with the server's.
#[derive(Debug, Clone)]
enum Running {
    Shared(Indicator),
    Macd { fast: Ema, slow: Ema, signal: Ema },
}

impl Running {
    /// As `ta.macd` steps: `shared::indicators::Macd::push` over seeded EMAs.
    fn push(&mut self, close: f64) -> Option<Value> {
        match self {
            Self::Shared(i) => i.push(close),
            Self::Macd { fast, slow, signal } => {
                let macd = fast.push(close) - slow.push(close);
                let signal = signal.push(macd);
                Some(Value::Macd(MacdValue {
                    macd,
                    signal,
                    histogram: macd - signal,
                }))
            }
        }
    }
}

/// An [`Ema`] whose state is `value` (its first push is its state).
fn ema_at(period: usize, value: f64) -> Ema {
    let mut ema = Ema::new(period);
    ema.push(value);
    ema
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
    checkpoint: Option<(i64, Running)>,
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
    fn seed(&mut self, closed: &[Candle]) -> (Running, usize) {
        let fresh = Running::Shared(Indicator::new(self.study));
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
                Some(Running::Shared(Indicator::Ema(ema_at(period, *value))))
            }
            (Study::Rsi { period }, Some(Value::Line { .. })) => self
                .server
                .rsi
                .filter(|(t, _)| *t == time)
                .map(|(_, averages)| {
                    let last = close_of(&closed[at]);
                    Running::Shared(Indicator::Rsi(Rsi::resume(period, last, averages)))
                }),
            (Study::Macd { fast, slow, signal }, Some(Value::Macd(m))) => {
                match (self.server.fast.get(&time), self.server.slow.get(&time)) {
                    (Some(f), Some(s)) => Some(Running::Macd {
                        fast: ema_at(fast, *f),
                        slow: ema_at(slow, *s),
                        signal: ema_at(signal, m.signal),
                    }),
                    _ => None,
                }
            }
            _ => None,
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
