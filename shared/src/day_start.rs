//! [`DayStart`] (`DAY_START`, the `zones` feature): the local time and IANA
//! zone at which a trading day opens, such as `17:00 America/New_York`, read
//! from the system's zone database (`/usr/share/zoneinfo`) through jiff, and
//! turned into the [`Sessions`] that align daily and weekly candles.
//!
//! A session opens every day at the local time given, so across a
//! daylight-saving change it lasts 23 or 25 hours. It is labelled by its
//! session date: the local date it opens on when `DAY_START` is before noon,
//! else the next day (a forex day opening Sunday 17:00 New York is Monday's,
//! as TradingView labels it). A week opens with the session of its Monday,
//! so with `17:00 America/New_York` on Sunday at 17:00. A candle's
//! `timestamp` is its session's open instant.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::{Sessions, TimestampMs};

/// Why text is not a day start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "DAY_START must look like \"17:00 America/New_York\" (HH:MM and an IANA time zone); got {0:?}"
)]
pub struct DayStartError(pub String);

/// When and where a trading day opens.
#[derive(Debug, Clone)]
pub struct DayStart {
    hour: i8,
    minute: i8,
    zone: TimeZone,
    /// The zone's name as given.
    name: String,
}

impl Default for DayStart {
    /// `00:00 UTC`.
    fn default() -> Self {
        Self {
            hour: 0,
            minute: 0,
            zone: TimeZone::UTC,
            name: "UTC".to_owned(),
        }
    }
}

impl PartialEq for DayStart {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for DayStart {}

impl DayStart {
    /// Minutes after local midnight.
    #[must_use]
    pub fn minute_of_day(&self) -> i64 {
        i64::from(self.hour) * 60 + i64::from(self.minute)
    }

    /// Whether days are UTC days (`00:00 UTC` or an equivalent zone).
    #[must_use]
    pub fn is_utc_midnight(&self) -> bool {
        self.minute_of_day() == 0
            && self
                .zone
                .iana_name()
                .is_some_and(|n| n == "UTC" || n == "Etc/UTC")
    }

    /// The open instant (Unix seconds) of the session opening on local
    /// date `date`.
    fn open_on(&self, date: Date) -> Option<i64> {
        let local = date.at(self.hour, self.minute, 0, 0);
        self.zone.to_timestamp(local).ok().map(Timestamp::as_second)
    }

    /// The local date a session opening at `open` (Unix seconds) opens on.
    fn open_date(&self, open: i64) -> Option<Date> {
        let at = Timestamp::from_second(open).ok()?;
        Some(self.zone.to_datetime(at).date())
    }

    /// The session date of the session opening at `open` (Unix seconds):
    /// the local date it opens on, or the next when it opens after noon.
    #[must_use]
    pub fn session_date(&self, open: i64) -> Option<Date> {
        let date = self.open_date(open)?;
        if self.hour >= 12 {
            date.checked_add(1.day()).ok()
        } else {
            Some(date)
        }
    }

    /// Every session from 1990 to 2100 (the years a tick may have), with
    /// the weeks; UTC days when this is `00:00 UTC`.
    #[must_use]
    pub fn sessions(&self) -> Sessions {
        if self.is_utc_midnight() {
            return Sessions::utc();
        }
        let first = self
            .open_date(TimestampMs::MIN.seconds())
            .and_then(|d| d.checked_add((-2).days()).ok());
        let last = self
            .open_date(TimestampMs::MAX.seconds())
            .and_then(|d| d.checked_add(2.days()).ok());
        let (Some(mut date), Some(last)) = (first, last) else {
            return Sessions::utc();
        };
        let (mut days, mut weeks) = (Vec::new(), Vec::new());
        while date <= last {
            if let Some(open) = self.open_on(date) {
                days.push(open);
                if self
                    .session_date(open)
                    .is_some_and(|d| d.weekday() == Weekday::Monday)
                {
                    weeks.push(open);
                }
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        Sessions::listed(days, weeks)
    }
}

impl FromStr for DayStart {
    type Err = DayStartError;

    /// `HH:MM Zone`, such as `17:00 America/New_York` or `00:00 UTC`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refused = || DayStartError(s.chars().take(60).collect());
        let (time, zone) = s.trim().split_once(' ').ok_or_else(refused)?;
        let (h, m) = time.split_once(':').ok_or_else(refused)?;
        let two_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(h) || !two_digits(m) {
            return Err(refused());
        }
        let hour: i8 = h.parse().map_err(|_| refused())?;
        let minute: i8 = m.parse().map_err(|_| refused())?;
        if hour > 23 || minute > 59 {
            return Err(refused());
        }
        let name = zone.trim();
        let zone = TimeZone::get(name).map_err(|_| refused())?;
        Ok(Self {
            hour,
            minute,
            zone,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for DayStart {
    /// `HH:MM Zone`, as read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02} {}", self.hour, self.minute, self.name)
    }
}

#[cfg(test)]
mod tests;
