//! [`parse_batch`]: the body of `POST /api/ticks`, a JSON array of ticks,
//! checked all or nothing. Pure, so the server's ingest route and the fuzz
//! target run the very same code.

use serde_json::value::RawValue;

use crate::Tick;

/// How far ahead of the receiver's clock a tick may be stamped.
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;

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

/// Checks a whole batch received at `now_ms`; the first bad item refuses
/// all of it.
///
/// # Errors
///
/// [`BatchError`] saying what is wrong and, for an item, which.
pub fn parse_batch(body: &[u8], max_ticks: usize, now_ms: i64) -> Result<Vec<Tick>, BatchError> {
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
            let ahead = tick.timestamp.millis().saturating_sub(now_ms);
            if ahead > MAX_FUTURE_MS {
                return Err(BatchError::BadItem {
                    index,
                    reason: format!("timestamp is {} s ahead of the server clock", ahead / 1000),
                });
            }
            Ok(tick)
        })
        .collect()
}
