//! [`Timeframe`]: the width of a candle, written `1M`, `5M`, `15M`, `30M`,
//! `1H`, `4H`, `1D` as in the original design (`1M` is one minute).
//! Buckets are aligned in UTC: a `4H` candle opens at 00:00, 04:00, ...

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A candle width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timeframe {
    /// One minute, `1M`.
    M1,
    /// Five minutes, `5M`.
    M5,
    /// Fifteen minutes, `15M`.
    M15,
    /// Thirty minutes, `30M`.
    M30,
    /// One hour, `1H`.
    H1,
    /// Four hours, `4H`.
    H4,
    /// One day, `1D`.
    D1,
}

/// Why a string is not a timeframe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeframe {0:?}; expected one of 1M, 5M, 15M, 30M, 1H, 4H, 1D")]
pub struct TimeframeError(pub String);

impl Timeframe {
    /// Every timeframe, shortest first.
    pub const ALL: [Self; 7] = [
        Self::M1,
        Self::M5,
        Self::M15,
        Self::M30,
        Self::H1,
        Self::H4,
        Self::D1,
    ];

    /// The width in seconds.
    #[must_use]
    pub const fn seconds(self) -> i64 {
        match self {
            Self::M1 => 60,
            Self::M5 => 300,
            Self::M15 => 900,
            Self::M30 => 1800,
            Self::H1 => 3600,
            Self::H4 => 14_400,
            Self::D1 => 86_400,
        }
    }

    /// The name on the wire and in Redis keys.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1M",
            Self::M5 => "5M",
            Self::M15 => "15M",
            Self::M30 => "30M",
            Self::H1 => "1H",
            Self::H4 => "4H",
            Self::D1 => "1D",
        }
    }

    /// The open time (Unix seconds) of the bucket holding `seconds`.
    #[must_use]
    pub const fn bucket_start(self, seconds: i64) -> i64 {
        seconds - seconds.rem_euclid(self.seconds())
    }

    /// The open time (Unix seconds) of the bucket holding `millis`.
    #[must_use]
    pub const fn bucket_of_millis(self, millis: i64) -> i64 {
        self.bucket_start(millis.div_euclid(1000))
    }

    /// Whether candles of `self` can be merged into candles of `wider`
    /// (its width is a whole multiple of this one's).
    #[must_use]
    pub const fn divides(self, wider: Self) -> bool {
        wider.seconds().rem_euclid(self.seconds()) == 0
    }
}

impl FromStr for Timeframe {
    type Err = TimeframeError;

    /// Case-insensitive: `1m` and `1M` are both one minute.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|tf| tf.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| TimeframeError(s.chars().take(20).collect()))
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Timeframe {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Timeframe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_prints_canonically() {
        for tf in Timeframe::ALL {
            assert_eq!(tf.as_str().parse::<Timeframe>(), Ok(tf));
            assert_eq!(tf.as_str().to_lowercase().parse::<Timeframe>(), Ok(tf));
        }
        assert_eq!("1h".parse::<Timeframe>().unwrap().to_string(), "1H");
        let err = "2M".parse::<Timeframe>().unwrap_err().to_string();
        assert!(err.contains("\"2M\"") && err.contains("1M, 5M"), "{err}");
        assert!("".parse::<Timeframe>().is_err());
        assert!(" 1M".parse::<Timeframe>().is_err());
    }

    #[test]
    fn buckets_align_in_utc() {
        // 2024-01-15T10:37:42.500Z
        let ms = 1_705_315_062_500;
        assert_eq!(Timeframe::M1.bucket_of_millis(ms), 1_705_315_020); // 10:37
        assert_eq!(Timeframe::M5.bucket_of_millis(ms), 1_705_314_900); // 10:35
        assert_eq!(Timeframe::M15.bucket_of_millis(ms), 1_705_314_600); // 10:30
        assert_eq!(Timeframe::M30.bucket_of_millis(ms), 1_705_314_600); // 10:30
        assert_eq!(Timeframe::H1.bucket_of_millis(ms), 1_705_312_800); // 10:00
        assert_eq!(Timeframe::H4.bucket_of_millis(ms), 1_705_305_600); // 08:00
        assert_eq!(Timeframe::D1.bucket_of_millis(ms), 1_705_276_800); // 00:00
        // The last millisecond of a minute stays in it.
        assert_eq!(
            Timeframe::M1.bucket_of_millis(1_705_315_079_999),
            1_705_315_020
        );
        assert_eq!(
            Timeframe::M1.bucket_of_millis(1_705_315_080_000),
            1_705_315_080
        );
    }

    #[test]
    fn every_timeframe_divides_the_wider_ones() {
        for (i, small) in Timeframe::ALL.into_iter().enumerate() {
            for wide in &Timeframe::ALL[i..] {
                assert!(small.divides(*wide), "{small} into {wide}");
            }
        }
        assert!(!Timeframe::H1.divides(Timeframe::M30));
    }

    #[test]
    fn serde_uses_the_wire_names() {
        assert_eq!(serde_json::to_string(&Timeframe::M15).unwrap(), "\"15M\"");
        assert_eq!(
            serde_json::from_str::<Timeframe>("\"4h\"").unwrap(),
            Timeframe::H4
        );
        assert!(serde_json::from_str::<Timeframe>("\"7M\"").is_err());
    }
}
