//! [`Candle`]: open, high, low, close and volume of one asset over one
//! timeframe bucket, with its [`CandleState`]; and [`resample`], which merges
//! candles into a wider timeframe.
//!
//! On the wire a candle is
//! `{asset, timeframe, timestamp, open, high, low, close, volume, date, state}`
//! where `timestamp` is the open time in Unix seconds, `date` its ISO 8601 UTC
//! form and `volume` the number of ticks.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::iso8601;
use crate::{Asset, Price, Sessions, Timeframe, TimestampMs};

/// Where a candle is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CandleState {
    /// Its bucket is still open: more ticks may change it.
    Forming,
    /// Its bucket has ended.
    Closed,
    /// It was closed, then a late tick inside the grace window changed it.
    Revised,
}

/// One bucket of OHLC data for one asset and timeframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Candle {
    /// The traded pair.
    pub(crate) asset: Asset,
    /// The bucket width.
    pub(crate) timeframe: Timeframe,
    /// The bucket's open time, Unix seconds, aligned to `timeframe`.
    pub(crate) open_time: i64,
    /// Price of the earliest tick.
    pub(crate) open: Price,
    /// Highest price.
    pub(crate) high: Price,
    /// Lowest price.
    pub(crate) low: Price,
    /// Price of the latest tick.
    pub(crate) close: Price,
    /// Number of ticks.
    pub(crate) volume: u64,
    /// Forming, closed or revised.
    pub(crate) state: CandleState,
}

/// Why a set of values is not a candle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandleError {
    /// High is below low, or open or close lies outside low..=high.
    #[error(
        "candle prices are inconsistent: need low <= open, close <= high (got open {open}, high {high}, low {low}, close {close})"
    )]
    Inconsistent {
        /// Open given.
        open: Price,
        /// High given.
        high: Price,
        /// Low given.
        low: Price,
        /// Close given.
        close: Price,
    },
    /// The open time is not the start of a bucket of the timeframe (for a
    /// day or a week, not a whole minute: `DAY_START` may be any minute).
    #[error("candle timestamp {timestamp} is not the start of a {timeframe} bucket")]
    Misaligned {
        /// Open time given, Unix seconds.
        timestamp: i64,
        /// Timeframe given.
        timeframe: Timeframe,
    },
    /// The open time is outside the range a tick may have.
    #[error("candle timestamp {0} is outside 1990-01-01..2100-01-01 in Unix seconds")]
    OutOfRange(i64),
    /// A candle holds at least one tick.
    #[error("candle volume must be at least 1 tick")]
    Empty,
    /// `date` does not match `timestamp`.
    #[error("candle date {date:?} does not match timestamp {timestamp} ({expected})")]
    DateMismatch {
        /// Date given.
        date: String,
        /// Open time given, Unix seconds.
        timestamp: i64,
        /// What the date should have been.
        expected: String,
    },
    /// Candles to merge are not of one asset, one narrower timeframe, in order.
    #[error("cannot resample: {0}")]
    Resample(&'static str),
}

impl Candle {
    /// A candle from checked parts.
    ///
    /// # Errors
    ///
    /// [`CandleError`] when the prices are inconsistent, the open time is not
    /// a bucket start or out of range, or the volume is zero.
    #[allow(clippy::too_many_arguments)]
    pub fn new_checked(
        asset: Asset,
        timeframe: Timeframe,
        open_time: i64,
        open: Price,
        high: Price,
        low: Price,
        close: Price,
        volume: u64,
        state: CandleState,
    ) -> Result<Self, CandleError> {
        if open_time < TimestampMs::MIN.seconds() || open_time > TimestampMs::MAX.seconds() {
            return Err(CandleError::OutOfRange(open_time));
        }
        if !opens_a_bucket(timeframe, open_time) {
            return Err(CandleError::Misaligned {
                timestamp: open_time,
                timeframe,
            });
        }
        if low > high || open < low || open > high || close < low || close > high {
            return Err(CandleError::Inconsistent {
                open,
                high,
                low,
                close,
            });
        }
        if volume == 0 {
            return Err(CandleError::Empty);
        }
        Ok(Self {
            asset,
            timeframe,
            open_time,
            open,
            high,
            low,
            close,
            volume,
            state,
        })
    }

    /// The traded pair.
    #[must_use]
    pub const fn asset(&self) -> Asset {
        self.asset
    }
    /// The bucket width.
    #[must_use]
    pub const fn timeframe(&self) -> Timeframe {
        self.timeframe
    }
    /// The open time, Unix seconds.
    #[must_use]
    pub const fn open_time(&self) -> i64 {
        self.open_time
    }
    /// The end of the bucket (exclusive), Unix seconds; for a day or a week
    /// opening at `DAY_START` in a zone with daylight saving, see
    /// [`Sessions::bucket_end`] for the exact end.
    #[must_use]
    pub const fn close_time(&self) -> i64 {
        self.open_time + self.timeframe.seconds()
    }
    /// Price of the earliest tick.
    #[must_use]
    pub const fn open(&self) -> Price {
        self.open
    }
    /// Highest price.
    #[must_use]
    pub const fn high(&self) -> Price {
        self.high
    }
    /// Lowest price.
    #[must_use]
    pub const fn low(&self) -> Price {
        self.low
    }
    /// Price of the latest tick.
    #[must_use]
    pub const fn close(&self) -> Price {
        self.close
    }
    /// Number of ticks.
    #[must_use]
    pub const fn volume(&self) -> u64 {
        self.volume
    }
    /// Forming, closed or revised.
    #[must_use]
    pub const fn state(&self) -> CandleState {
        self.state
    }
    /// The same candle in another state.
    #[must_use]
    pub const fn with_state(mut self, state: CandleState) -> Self {
        self.state = state;
        self
    }
    /// Whether two candles hold the same market data, whatever their state.
    #[must_use]
    pub fn same_data(&self, other: &Self) -> bool {
        self.with_state(CandleState::Closed) == other.with_state(CandleState::Closed)
    }
}

/// The JSON form, shared by both directions.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCandle {
    asset: Asset,
    timeframe: Timeframe,
    timestamp: i64,
    open: Price,
    high: Price,
    low: Price,
    close: Price,
    volume: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date: Option<String>,
    #[serde(default = "closed")]
    state: CandleState,
}

const fn closed() -> CandleState {
    CandleState::Closed
}

impl Serialize for Candle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireCandle {
            asset: self.asset,
            timeframe: self.timeframe,
            timestamp: self.open_time,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            date: Some(iso8601(self.open_time)),
            state: self.state,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Candle {
    /// Checks every invariant; `date` is optional but must match when given,
    /// `state` defaults to `closed`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = WireCandle::deserialize(deserializer)?;
        if let Some(date) = w.date {
            let expected = iso8601(w.timestamp);
            if date != expected {
                return Err(serde::de::Error::custom(CandleError::DateMismatch {
                    date,
                    timestamp: w.timestamp,
                    expected,
                }));
            }
        }
        Self::new_checked(
            w.asset,
            w.timeframe,
            w.timestamp,
            w.open,
            w.high,
            w.low,
            w.close,
            w.volume,
            w.state,
        )
        .map_err(serde::de::Error::custom)
    }
}

/// Whether `open_time` may open a `timeframe` bucket: aligned to the epoch,
/// or for a day or a week (which open at `DAY_START`) a whole minute.
const fn opens_a_bucket(timeframe: Timeframe, open_time: i64) -> bool {
    let unit = match timeframe {
        Timeframe::D1 | Timeframe::W1 => Timeframe::M1,
        other => other,
    };
    unit.bucket_start(open_time) == open_time
}

/// Merges candles of one asset, in open-time order, into candles of the wider
/// timeframe `to`: first open, highest high, lowest low, last close, summed
/// volume. A merged candle is forming when any part is forming, revised when
/// any part is revised, closed otherwise. Days and weeks are UTC ones; see
/// [`resample_in`].
///
/// # Errors
///
/// [`CandleError::Resample`] when the candles mix assets or timeframes, are
/// out of order, or their timeframe does not divide `to`.
pub fn resample(candles: &[Candle], to: Timeframe) -> Result<Vec<Candle>, CandleError> {
    resample_in(candles, to, &Sessions::utc())
}

/// [`resample`] with days and weeks opening at `sessions`' opens: the one
/// roll-up of candles into a wider timeframe, live and in history.
///
/// # Errors
///
/// As [`resample`].
pub fn resample_in(
    candles: &[Candle],
    to: Timeframe,
    sessions: &Sessions,
) -> Result<Vec<Candle>, CandleError> {
    let Some(first) = candles.first() else {
        return Ok(Vec::new());
    };
    if !first.timeframe.divides(to) && sessions.is_utc() {
        return Err(CandleError::Resample(
            "source timeframe does not divide the target",
        ));
    }
    let mut out: Vec<Candle> = Vec::new();
    let mut previous: Option<i64> = None;
    for c in candles {
        if c.asset != first.asset || c.timeframe != first.timeframe {
            return Err(CandleError::Resample("candles mix assets or timeframes"));
        }
        if previous.is_some_and(|p| p >= c.open_time) {
            return Err(CandleError::Resample(
                "candles are not in increasing open-time order",
            ));
        }
        previous = Some(c.open_time);
        let bucket = sessions.bucket_start(to, c.open_time);
        match out.last_mut() {
            Some(m) if m.open_time == bucket => {
                m.high = m.high.max(c.high);
                m.low = m.low.min(c.low);
                m.close = c.close;
                m.volume += c.volume;
                m.state = merge_state(m.state, c.state);
            }
            _ => out.push(Candle {
                timeframe: to,
                open_time: bucket,
                ..*c
            }),
        }
    }
    Ok(out)
}

const fn merge_state(a: CandleState, b: CandleState) -> CandleState {
    match (a, b) {
        (CandleState::Forming, _) | (_, CandleState::Forming) => CandleState::Forming,
        (CandleState::Revised, _) | (_, CandleState::Revised) => CandleState::Revised,
        _ => CandleState::Closed,
    }
}

#[cfg(test)]
mod tests;
