//! Indicators over a series of closes, incremental and exact to the
//! definitions TradingView publishes for Pine v5 (`ta.sma`, `ta.ema`,
//! `ta.rsi`, `ta.bb`, `ta.macd`). Like Pine they compute in `f64`, from
//! the nearest double of each exact close ([`Price::to_f64_lossy`]).
//!
//! - [`study`]: [`Study`], an indicator and its checked parameters.
//! - [`sma`], [`ema`], [`rsi`], [`bb`], [`macd`]: one struct each, fed a
//!   value at a time through `push`, in bounded memory.
//! - Here: [`Indicator`], any of them behind one `push`, and [`compute`],
//!   a whole series of candles into [`Point`]s.

pub mod bb;
pub mod ema;
pub mod macd;
pub mod rsi;
pub mod sma;
pub mod study;

pub use bb::{Bands, Bb};
pub use ema::Ema;
pub use macd::{Macd, MacdAverages, MacdValue};
pub use rsi::{Averages, Rsi};
pub use sma::Sma;
pub use study::{MAX_PERIOD, Study, StudyError, StudyParams};

use serde::Serialize;

use crate::{Candle, CandleState, Price};

/// The value of a study at one candle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Bollinger Bands: `{basis, upper, lower}`.
    Bands(Bands),
    /// MACD: `{macd, signal, histogram}`.
    Macd(MacdValue),
    /// SMA, EMA and RSI: `{value}`.
    Line {
        /// The study's value.
        value: f64,
    },
}

/// A study's value at the candle that opened at `time`; in JSON
/// `{time, value}`, `{time, basis, upper, lower}` or
/// `{time, macd, signal, histogram}`. Written only: serde cannot read a
/// flattened untagged enum back with `arbitrary_precision` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// The candle's open time, Unix seconds.
    pub time: i64,
    /// The value there.
    #[serde(flatten)]
    pub value: Value,
}

/// A study's running state: one value in, its value out.
#[derive(Debug, Clone)]
pub enum Indicator {
    /// See [`Sma`].
    Sma(Sma),
    /// See [`Ema`].
    Ema(Ema),
    /// See [`Rsi`].
    Rsi(Rsi),
    /// See [`Bb`].
    Bb(Bb),
    /// See [`Macd`].
    Macd(Macd),
}

impl Indicator {
    /// A fresh state for `study`.
    #[must_use]
    pub fn new(study: Study) -> Self {
        match study {
            Study::Sma { period } => Self::Sma(Sma::new(period)),
            Study::Ema { period } => Self::Ema(Ema::new(period)),
            Study::Rsi { period } => Self::Rsi(Rsi::new(period)),
            Study::Bb { period, mult } => Self::Bb(Bb::new(period, mult)),
            Study::Macd { fast, slow, signal } => Self::Macd(Macd::new(fast, slow, signal)),
        }
    }

    /// Takes the next value: the study's value, once it has one.
    pub fn push(&mut self, value: f64) -> Option<Value> {
        match self {
            Self::Sma(s) => s.push(value).map(|value| Value::Line { value }),
            Self::Ema(s) => Some(Value::Line {
                value: s.push(value),
            }),
            Self::Rsi(s) => s.push(value).map(|value| Value::Line { value }),
            Self::Bb(s) => s.push(value).map(Value::Bands),
            Self::Macd(s) => Some(Value::Macd(s.push(value))),
        }
    }

    /// Takes the next close.
    pub fn push_price(&mut self, close: Price) -> Option<Value> {
        self.push(close.to_f64_lossy())
    }
}

/// `study` over the closes of `candles` (oldest first): a point for each
/// candle from the first that has a value on.
#[must_use]
pub fn compute(study: Study, candles: &[Candle]) -> Vec<Point> {
    let mut indicator = Indicator::new(study);
    candles
        .iter()
        .filter_map(|c| {
            indicator.push_price(c.close()).map(|value| Point {
                time: c.open_time(),
                value,
            })
        })
        .collect()
}

/// The averages a study steps on from where its state is more than its
/// last value (EMA) or its last closes (SMA, Bollinger): RSI's
/// `{up, down}` and MACD's `{fast, slow, signal}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Averaged {
    /// Wilder's averages.
    Rsi(Averages),
    /// The MACD's three averages.
    Macd(MacdAverages),
}

/// What a study steps on from after the candle that opened at `time`; in
/// JSON `{time, up, down}` or `{time, fast, slow, signal}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StudyState {
    /// The candle's open time, Unix seconds.
    pub time: i64,
    /// The averages after its close.
    #[serde(flatten)]
    pub averages: Averaged,
}

impl Indicator {
    /// The averages it steps on from, for RSI (once it has a value) and
    /// MACD; `None` for the others.
    #[must_use]
    pub fn averages(&self) -> Option<Averaged> {
        match self {
            Self::Rsi(r) => r.averages().map(Averaged::Rsi),
            Self::Macd(m) => m.averages().map(Averaged::Macd),
            Self::Sma(_) | Self::Ema(_) | Self::Bb(_) => None,
        }
    }

    /// `study` stepping on exactly as the one whose newest close was `last`
    /// and whose averages were `averages`; `None` when they are not
    /// `study`'s kind.
    #[must_use]
    pub fn resume(study: Study, last: f64, averages: Averaged) -> Option<Self> {
        match (study, averages) {
            (Study::Rsi { period }, Averaged::Rsi(a)) => {
                Some(Self::Rsi(Rsi::resume(period, last, a)))
            }
            (Study::Macd { fast, slow, signal }, Averaged::Macd(a)) => {
                Some(Self::Macd(Macd::resume(fast, slow, signal, a)))
            }
            _ => None,
        }
    }
}

/// `study`'s state after the newest closed candle of `candles` (oldest
/// first) that opened at or before `to`, for RSI and MACD: a client holding
/// part of the history steps on from it exactly as over the whole.
#[must_use]
pub fn study_state(study: Study, candles: &[Candle], to: i64) -> Option<StudyState> {
    let mut indicator = Indicator::new(study);
    let mut state = None;
    for c in candles
        .iter()
        .take_while(|c| c.open_time() <= to && c.state() != CandleState::Forming)
    {
        indicator.push_price(c.close());
        state = indicator.averages().map(|averages| StudyState {
            time: c.open_time(),
            averages,
        });
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_written_with_named_values() {
        let line = Point {
            time: 60,
            value: Value::Line { value: 1.5 },
        };
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"time":60,"value":1.5}"#
        );
        let bands = Point {
            time: 120,
            value: Value::Bands(Bands {
                basis: 2.0,
                upper: 3.0,
                lower: 1.0,
            }),
        };
        assert_eq!(
            serde_json::to_string(&bands).unwrap(),
            r#"{"time":120,"basis":2.0,"upper":3.0,"lower":1.0}"#
        );
        let macd = Point {
            time: 180,
            value: Value::Macd(MacdValue {
                macd: 0.5,
                signal: 0.25,
                histogram: 0.25,
            }),
        };
        assert_eq!(
            serde_json::to_string(&macd).unwrap(),
            r#"{"time":180,"macd":0.5,"signal":0.25,"histogram":0.25}"#
        );
    }
}
