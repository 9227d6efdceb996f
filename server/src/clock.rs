//! The wall clock, in the units ticks use.

use shared::TimestampMs;

/// Now, Unix epoch milliseconds.
#[must_use]
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now, as a tick timestamp.
#[must_use]
pub fn now() -> TimestampMs {
    TimestampMs::new_checked(now_millis()).unwrap_or(TimestampMs::MAX)
}

/// Where start-up reads ticks from (Unix ms), in the store and the journal
/// alike: a minute before the hour 25 hours ago, so that the forming candle
/// of every timeframe up to a day is built whole whatever `DAY_START` is (a
/// session lasts at most 25 hours).
#[must_use]
pub fn seed_from_ms(now_ms: i64) -> i64 {
    shared::Timeframe::H1.bucket_of_millis(now_ms - 25 * 3_600_000) * 1000 - 60_000
}
