//! CSV files of ticks or candles, read in the browser (the page's "Open
//! CSV") or anywhere else: pure, no I/O, fed a chunk of bytes at a time so a
//! caller can yield between chunks.
//!
//! Two layouts, told apart by the number of fields of the first line:
//!
//! - ticks, `asset,price,timestamp_ms` (3 fields), as `tickstream replay`
//!   reads them: one asset per file, timestamps in Unix milliseconds, any
//!   order; charted by the [`Aggregator`](crate::Aggregator) exactly as the
//!   server builds candles ([`TickAggregation`]);
//! - candles, `timestamp,open,high,low,close[,volume]` (5 or 6 fields):
//!   open times in Unix seconds, or milliseconds when the number is that
//!   large (the two ranges do not overlap), each the start of a minute, in
//!   increasing order; `volume` a whole number of ticks, 1 when absent. The
//!   candles' width is the widest timeframe every open time is aligned to and
//!   no wider than the smallest step between two of them ([`CandleFile`]);
//!   they are merged into a wider timeframe with
//!   [`resample`](crate::resample) ([`CandleMerge`]).
//!
//! A first line naming the fields (`asset,price,timestamp_ms`,
//! `timestamp,open,high,low,close,volume`, any case) is a header and
//! skipped. Fields are separated by commas, trimmed, and may be quoted;
//! blank lines are skipped. Prices are exact ([`Price`](crate::Price)). A bad
//! line refuses the whole file with its line number and why
//! ([`CsvError::Line`]).
//!
//! - [`reader`]: [`CsvReader`], bytes in, a [`CsvFile`] out.
//! - [`line`]: one line's fields into a tick or a candle row.
//! - [`ticks`]: [`TickFile`] and [`TickAggregation`].
//! - [`candles`]: [`CandleFile`] and [`CandleMerge`].

pub mod candles;
mod error;
pub mod line;
pub mod reader;
pub mod ticks;

#[cfg(test)]
mod tests;

pub use candles::{CandleFile, CandleMerge};
pub use error::CsvError;
pub use reader::CsvReader;
pub use ticks::{TickAggregation, TickFile};

use crate::Asset;

/// The largest file read: 64 MiB.
pub const MAX_CSV_BYTES: u64 = 64 * 1024 * 1024;
/// The most data lines (ticks or candles) a file may hold.
pub const MAX_CSV_ROWS: usize = 1_000_000;
/// The longest line, in bytes.
pub const MAX_LINE_BYTES: usize = 1024;

/// The asset of a candle file when its name does not give one.
pub const UNNAMED_ASSET: &str = "CSV";

/// A file read whole and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvFile {
    /// Ticks of one asset.
    Ticks(TickFile),
    /// Candles of one width.
    Candles(CandleFile),
}

impl CsvFile {
    /// Reads `bytes` whole; candles are labelled `asset`.
    ///
    /// # Errors
    ///
    /// [`CsvError`] naming the first bad line, or a limit passed.
    pub fn parse(bytes: &[u8], asset: Asset) -> Result<Self, CsvError> {
        let mut reader = CsvReader::new(asset);
        reader.feed(bytes)?;
        reader.finish()
    }

    /// The asset charted.
    #[must_use]
    pub const fn asset(&self) -> Asset {
        match self {
            Self::Ticks(t) => t.asset(),
            Self::Candles(c) => c.asset(),
        }
    }

    /// How many ticks or candles the file holds.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Ticks(t) => t.len(),
            Self::Candles(c) => c.len(),
        }
    }

    /// Whether the file holds nothing (never true for a file read).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The asset a candle file's name gives (`EURUSD_otc.csv`, `data/BTCUSD.1m.csv`
/// give `EURUSD_otc`, `BTCUSD`): the name up to its first dot, when that is a
/// valid asset name; otherwise [`UNNAMED_ASSET`].
#[must_use]
pub fn asset_from_file_name(name: &str) -> Asset {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = base.split('.').next().unwrap_or(base);
    Asset::new_checked(stem).unwrap_or_else(|_| Asset::new(UNNAMED_ASSET))
}
