//! The market-data core shared, byte for byte, by the tickstream server and
//! the browser client. Pure: no I/O, no async runtime; it builds for native
//! targets and for `wasm32-unknown-unknown`.
//!
//! # Layout
//!
//! - [`asset`]: [`Asset`], the validated name of a traded pair.
//! - [`price`]: [`Price`], an exact decimal that fits `NUMERIC(20,10)`.
//! - [`time`]: [`TimestampMs`] and ISO 8601 formatting in UTC.
//! - [`tick`]: [`Tick`], one price observation, identified by
//!   (asset, timestamp, price).
//! - [`batch`]: [`parse_batch`], an ingest body checked all or nothing.
//! - [`timeframe`]: [`Timeframe`], the candle widths `{n}M`, `{n}H`, `1D`,
//!   `1W`, aligned to the Unix epoch.
//! - [`candle`]: [`Candle`] and its [`CandleState`], plus [`resample`], the
//!   one roll-up of candles into a wider timeframe.
//! - [`csv`]: [`CsvFile`], a CSV file of ticks or candles read and checked,
//!   a chunk of bytes at a time ([`CsvReader`]).
//! - [`sessions`]: [`Sessions`], where daily and weekly candles open
//!   (`DAY_START`); [`day_start`] (feature `zones`): [`DayStart`], which
//!   lists them from a local time and an IANA zone.
//! - [`aggregator`]: [`Aggregator`], ticks in, [`CandleEvent`]s out.
//! - [`indicators`]: [`Study`] (`sma`, `ema`, `rsi`, `bb`, `macd`) as Pine
//!   v5 defines them, pushed a close at a time ([`Indicator`]) or computed
//!   over candles ([`indicators::compute`]).
//! - [`protocol`]: [`ClientMessage`] and [`ServerMessage`], the WebSocket
//!   frames `{"event": ..., "data": ...}`.

pub mod aggregator;
pub mod asset;
pub mod batch;
pub mod candle;
pub mod csv;
#[cfg(feature = "zones")]
pub mod day_start;
pub mod indicators;
pub mod price;
pub mod protocol;
pub mod sessions;
pub mod tick;
pub mod time;
pub mod timeframe;

pub use aggregator::{
    Aggregator, AggregatorConfig, AggregatorStats, CandleEvent, Restated, Restatement,
};
pub use asset::{Asset, AssetError};
pub use batch::{BatchError, parse_batch};
pub use candle::{Candle, CandleError, CandleState, resample, resample_in};
pub use csv::{CsvError, CsvFile, CsvReader};
#[cfg(feature = "zones")]
pub use day_start::{DayStart, DayStartError};
pub use indicators::{Indicator, Study, StudyError};
pub use price::{Price, PriceError};
pub use protocol::{ClientMessage, ForAsset, ForSeries, ProtocolError, ServerMessage, Unsubscribe};
pub use sessions::Sessions;
pub use tick::Tick;
pub use time::{TimestampError, TimestampMs, days_from_civil};
pub use timeframe::{Timeframe, TimeframeError};
