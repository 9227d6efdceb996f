//! [`CsvError`]: why a CSV file is refused.

use super::{MAX_CSV_BYTES, MAX_CSV_ROWS};
use crate::CandleError;
use crate::aggregator::identity::MAX_LIVE_IDS_PER_ASSET;

/// Why a file was refused; nothing of it is charted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// A line is not a tick or a candle of the file's layout.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The file is larger than [`MAX_CSV_BYTES`].
    #[error("the file is larger than {} MiB", MAX_CSV_BYTES / 1024 / 1024)]
    TooLarge,
    /// The file holds more than [`MAX_CSV_ROWS`] data lines.
    #[error("line {line}: the file holds more than {MAX_CSV_ROWS} data lines")]
    TooManyRows {
        /// The first line past the limit.
        line: usize,
    },
    /// No tick or candle in the file.
    #[error("the file holds no data lines")]
    Empty,
    /// So many ticks within a minute that the aggregator cannot tell repeats
    /// apart (it holds at most [`MAX_LIVE_IDS_PER_ASSET`] at once).
    #[error(
        "more than {MAX_LIVE_IDS_PER_ASSET} ticks within about a minute (at {at}): too dense to chart"
    )]
    TooDense {
        /// ISO 8601 time of the first tick not placed.
        at: String,
    },
    /// Candles could not be made or merged (a bug: every line was checked).
    #[error("the candles could not be built: {0}")]
    Candle(#[from] CandleError),
}

impl CsvError {
    /// The line number the error names, if any.
    #[must_use]
    pub const fn line(&self) -> Option<usize> {
        match self {
            Self::Line { line, .. } | Self::TooManyRows { line } => Some(*line),
            _ => None,
        }
    }
}
