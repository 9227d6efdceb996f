//! The chart: TradingView's lightweight-charts, bound through wasm-bindgen.
//!
//! - [`bindings`]: the library's API as Rust functions.
//! - [`bars`]: chart points from candles (the only place prices become JS
//!   numbers), whitespace for gaps.
//! - [`time_zone`]: axis and crosshair times in a chosen zone.
//! - [`handle`]: [`Chart`], a chart drawn from the candle buffer.

pub mod bars;
pub mod bindings;
pub mod handle;
pub mod time_zone;

pub use handle::{Chart, ChartError};
pub use time_zone::{TimeFormat, UTC};
