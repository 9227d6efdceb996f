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
