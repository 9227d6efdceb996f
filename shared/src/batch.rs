//! [`parse_batch`]: the body of `POST /api/ticks`, a JSON array of ticks,
//! checked all or nothing. Pure, so the server's ingest route and the fuzz
//! target run the very same code.

use serde_json::value::RawValue;

use crate::Tick;

/// How far ahead of the receiver's clock a tick may be stamped, by
/// default (`MAX_FUTURE_SKEW_MS`).
pub const DEFAULT_MAX_FUTURE_SKEW_MS: i64 = 2_000;

/// The largest `MAX_FUTURE_SKEW_MS` allowed: an hour. A tick stamped that
/// far ahead moves its asset's horizon (and so what counts as late) by as
/// much, so keep the setting small outside tests.
pub const MAX_FUTURE_SKEW_LIMIT_MS: i64 = 3_600_000;

/// Why a batch is refused; nothing of it is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The body is not a JSON array.
    #[error("the body must be a JSON array of ticks: {0}")]
    NotArray(String),
    /// The array is empty.
    #[error("the array holds no ticks")]
    Empty,
    /// More ticks than allowed.
    #[error("{count} ticks in one request; at most {max} are allowed")]
    TooMany {
        /// Ticks sent.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// One item is wrong.
    #[error("tick {index}: {reason}")]
    BadItem {
        /// Position of the item, from 0.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a tick stamped `at` (ms) is refused at `now_ms`: more than
/// `max_skew_ms` ahead of the clock.
#[must_use]
pub fn too_far_ahead(at: i64, now_ms: i64, max_skew_ms: i64) -> Option<String> {
    let ahead = at.saturating_sub(now_ms);
    (ahead > max_skew_ms).then(|| {
        format!(
            "timestamp is {ahead} ms ahead of the server clock; at most {max_skew_ms} ms are allowed (MAX_FUTURE_SKEW_MS)"
        )
    })
}

/// Checks a whole batch received at `now_ms`, refusing ticks stamped more
/// than `max_skew_ms` ahead of it; the first bad item refuses all of it.
///
/// # Errors
///
/// [`BatchError`] saying what is wrong and, for an item, which.
pub fn parse_batch(
    body: &[u8],
    max_ticks: usize,
    now_ms: i64,
    max_skew_ms: i64,
) -> Result<Vec<Tick>, BatchError> {
    let items: Vec<&RawValue> =
        serde_json::from_slice(body).map_err(|e| BatchError::NotArray(e.to_string()))?;
    if items.is_empty() {
        return Err(BatchError::Empty);
    }
    if items.len() > max_ticks {
        return Err(BatchError::TooMany {
            count: items.len(),
            max: max_ticks,
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let tick: Tick = serde_json::from_str(raw.get()).map_err(|e| BatchError::BadItem {
                index,
                reason: e.to_string(),
            })?;
            if let Some(reason) = too_far_ahead(tick.timestamp.millis(), now_ms, max_skew_ms) {
                return Err(BatchError::BadItem { index, reason });
            }
            Ok(tick)
        })
        .collect()
}
