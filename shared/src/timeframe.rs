//! [`Timeframe`]: the width of a candle, written `{n}M` (1 to 1440 minutes),
//! `{n}H` (1 to 24 hours), `1D` or `1W` as in the original design (`1M` is
//! one minute). Buckets are aligned to the Unix epoch in UTC: a `4H` candle
//! opens at 00:00, 04:00, ...; a width that does not divide a day (`7M`,
//! `90M`, `5H`) counts its buckets from 1970-01-01T00:00Z; a week opens on
//! Monday 00:00 UTC. The seven widths of [`Timeframe::ALL`] are built from
//! ticks; any other is rolled up from the widest of them that tiles it
//! ([`Timeframe::base`], [`crate::resample`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A candle width, in minutes (`1W` is 10,080).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeframe(u16);

/// Why a string is not a timeframe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown timeframe {0:?}; expected {{n}}M (1 to 1440 minutes), {{n}}H (1 to 24 hours), 1D or 1W, e.g. 1M, 5M, 15M, 30M, 1H, 4H, 1D"
)]
pub struct TimeframeError(pub String);

/// Minutes in a day and in a week.
const DAY: u16 = 1440;
const WEEK: u16 = 7 * DAY;
/// Monday 1970-01-05T00:00Z, where weeks are counted from (Unix seconds).
const WEEK_ORIGIN: i64 = 4 * 86_400;

impl Timeframe {
    /// One minute, `1M`.
    pub const M1: Self = Self(1);
    /// Five minutes, `5M`.
    pub const M5: Self = Self(5);
    /// Fifteen minutes, `15M`.
    pub const M15: Self = Self(15);
    /// Thirty minutes, `30M`.
    pub const M30: Self = Self(30);
    /// One hour, `1H`.
    pub const H1: Self = Self(60);
    /// Four hours, `4H`.
    pub const H4: Self = Self(240);
    /// One day, `1D`.
    pub const D1: Self = Self(DAY);
    /// One week from Monday, `1W`.
    pub const W1: Self = Self(WEEK);

    /// The timeframes built from ticks (and cached), shortest first; every
    /// other one is rolled up from them.
    pub const ALL: [Self; 7] = [
        Self::M1,
        Self::M5,
        Self::M15,
        Self::M30,
        Self::H1,
        Self::H4,
        Self::D1,
    ];

    /// `minutes` wide: 1 to 1440, or 10,080 (a week).
    #[must_use]
    pub const fn from_minutes(minutes: u16) -> Option<Self> {
        if (minutes >= 1 && minutes <= DAY) || minutes == WEEK {
            Some(Self(minutes))
        } else {
            None
        }
    }

    /// The width in minutes.
    #[must_use]
    pub const fn minutes(self) -> u16 {
        self.0
    }

    /// The width in seconds.
    #[must_use]
    pub const fn seconds(self) -> i64 {
        self.0 as i64 * 60
    }

    /// Where buckets are counted from (Unix seconds): the epoch, or the
    /// Monday after it for a week.
    const fn origin(self) -> i64 {
        if self.0 == WEEK { WEEK_ORIGIN } else { 0 }
    }

    /// Whether this is one of [`Timeframe::ALL`], built from ticks.
    #[must_use]
    pub const fn is_precomputed(self) -> bool {
        matches!(self.0, 1 | 5 | 15 | 30 | 60 | 240 | DAY)
    }

    /// The widest precomputed timeframe whose buckets tile this one's
    /// (itself when precomputed): `90M` from `30M`, `7M` from `1M`, `1W`
    /// from `1D`.
    #[must_use]
    pub fn base(self) -> Self {
        Self::ALL
            .into_iter()
            .rev()
            .find(|tf| tf.divides(self))
            .unwrap_or(Self::M1)
    }

    /// The open time (Unix seconds) of the bucket holding `seconds`.
    #[must_use]
    pub const fn bucket_start(self, seconds: i64) -> i64 {
        seconds - (seconds - self.origin()).rem_euclid(self.seconds())
    }

    /// The open time (Unix seconds) of the bucket holding `millis`.
    #[must_use]
    pub const fn bucket_of_millis(self, millis: i64) -> i64 {
        self.bucket_start(millis.div_euclid(1000))
    }

    /// Whether candles of `self` tile candles of `wider`: every bucket of
    /// `wider` is a whole number of buckets of `self`.
    #[must_use]
    pub const fn divides(self, wider: Self) -> bool {
        wider.seconds().rem_euclid(self.seconds()) == 0
            && (wider.origin() - self.origin()).rem_euclid(self.seconds()) == 0
    }
}

/// `{n}` of a name: decimal digits without a leading zero.
fn count(digits: &str) -> Option<u16> {
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl FromStr for Timeframe {
    type Err = TimeframeError;

    /// Case-insensitive: `1m` and `1M` are both one minute; `60M` is `1H`,
    /// `1440M` and `24H` are `1D`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refused = || TimeframeError(s.chars().take(20).collect());
        let unit = s.chars().last().ok_or_else(refused)?;
        let n = count(&s[..s.len() - unit.len_utf8()]).ok_or_else(refused)?;
        let minutes = match (unit.to_ascii_uppercase(), n) {
            ('M', 1..=DAY) => n,
            ('H', 1..=24) => n * 60,
            ('D', 1) => DAY,
            ('W', 1) => WEEK,
            _ => return Err(refused()),
        };
        Ok(Self(minutes))
    }
}

impl fmt::Display for Timeframe {
    /// The canonical name: `1W`, `1D`, `{h}H` for whole hours, else `{n}M`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            WEEK => f.write_str("1W"),
            DAY => f.write_str("1D"),
            m if m % 60 == 0 => write!(f, "{}H", m / 60),
            m => write!(f, "{m}M"),
        }
    }
}

impl Serialize for Timeframe {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timeframe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
