//! Time on the wire: [`TimestampMs`], a checked Unix epoch time in
//! milliseconds, and ISO 8601 text in UTC.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A Unix epoch time in milliseconds within a sane range for market data:
/// from 1990-01-01 to 2100-01-01 (UTC). Seconds or microseconds sent by
/// mistake fall outside it and are refused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TimestampMs(i64);

/// Why a number is not a tick timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "timestamp {value} is outside 1990-01-01..2100-01-01 in Unix epoch milliseconds (seconds or microseconds sent by mistake?)"
)]
pub struct TimestampError {
    /// The offending value.
    pub value: i64,
}

impl TimestampMs {
    /// 1990-01-01T00:00:00Z.
    pub const MIN: Self = Self(631_152_000_000);
    /// The last millisecond before 2100-01-01T00:00:00Z.
    pub const MAX: Self = Self(4_102_444_800_000 - 1);

    /// Checks that `millis` lies in [`TimestampMs::MIN`]..=[`TimestampMs::MAX`].
    ///
    /// # Errors
    ///
    /// [`TimestampError`] when it does not.
    pub const fn new_checked(millis: i64) -> Result<Self, TimestampError> {
        if millis < Self::MIN.0 || millis > Self::MAX.0 {
            Err(TimestampError { value: millis })
        } else {
            Ok(Self(millis))
        }
    }

    /// Makes a timestamp known to be in range.
    ///
    /// # Panics
    ///
    /// When `millis` is out of range: that is a bug in the caller.
    #[must_use]
    pub const fn new(millis: i64) -> Self {
        match Self::new_checked(millis) {
            Ok(ts) => ts,
            Err(_) => panic!("timestamp out of range"),
        }
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch, rounded down.
    #[must_use]
    pub const fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

impl fmt::Debug for TimestampMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimestampMs({})", self.0)
    }
}

impl fmt::Display for TimestampMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&iso8601_millis(self.0))
    }
}

impl<'de> Deserialize<'de> for TimestampMs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let millis = i64::deserialize(deserializer)?;
        Self::new_checked(millis).map_err(serde::de::Error::custom)
    }
}

/// Days since 1970-01-01 to a (year, month, day) civil date, proleptic
/// Gregorian (H. Hinnant's `civil_from_days`).
const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day`
/// (H. Hinnant's `days_from_civil`), the inverse of the date in
/// [`iso8601`]. `month` is 1 to 12; `day` is not checked against it.
#[must_use]
pub const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as ISO 8601 UTC text: `2024-01-15T10:30:00Z`.
#[must_use]
pub fn iso8601(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let secs = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Unix milliseconds as ISO 8601 UTC text: `2024-01-15T10:30:00.250Z`.
#[must_use]
pub fn iso8601_millis(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let text = iso8601(seconds);
    format!("{}.{ms:03}Z", &text[..text.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_705_314_600), "2024-01-15T10:30:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(
            iso8601_millis(1_705_314_600_250),
            "2024-01-15T10:30:00.250Z"
        );
    }

    #[test]
    fn civil_days_count_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1) * 86_400, 951_868_800);
    }

    #[test]
    fn civil_dates_agree_day_by_day() {
        // Walk every day from 1990 to 2100 and check the calendar advances
        // by exactly one day each time.
        let (mut y, mut m, mut d) = civil_from_days(TimestampMs::MIN.seconds() / 86_400);
        assert_eq!((y, m, d), (1990, 1, 1));
        for days in TimestampMs::MIN.seconds() / 86_400 + 1..=TimestampMs::MAX.seconds() / 86_400 {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][(m - 1) as usize];
            (y, m, d) = if d < month_len {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!(civil_from_days(days), (y, m, d));
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!((y, m, d), (2099, 12, 31));
    }

    #[test]
    fn range_refuses_seconds_and_microseconds() {
        assert!(TimestampMs::new_checked(1_705_314_600).is_err());
        assert!(TimestampMs::new_checked(1_705_314_600_000_000).is_err());
        assert!(TimestampMs::new_checked(1_705_314_600_000).is_ok());
        let err = serde_json::from_str::<TimestampMs>("1705314600").unwrap_err();
        assert!(err.to_string().contains("milliseconds"), "{err}");
        assert!(serde_json::from_str::<TimestampMs>("1705314600000.5").is_err());
        assert!(serde_json::from_str::<TimestampMs>("\"1705314600000\"").is_err());
    }
}
