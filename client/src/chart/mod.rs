//! The chart: TradingView's lightweight-charts, bound through wasm-bindgen.
//!
//! - [`bindings`]: the library's API as Rust functions.
//! - [`bars`]: chart points from candles (the only place prices become JS
//!   numbers), whitespace for gaps.
//! - [`time_zone`]: axis and crosshair labels in a chosen zone.
//! - [`zone_time`]: times shifted into the zone, so axis marks fall on its
//!   hour and day boundaries.
//! - [`handle`]: [`Chart`], a chart drawn from the candle buffer.
//! - `js`: data and options handed to the library as JS objects.
//! - [`study_track`]: one study's values, live from `shared::indicators`,
//!   warmed up with the server's ([`study_fetch`]).
//! - [`study_lines`]: the series and panes the studies are drawn with.
//! - [`studies`]: [`Studies`], a chart's enabled studies and their values.

pub mod bars;
pub mod bindings;
pub mod handle;
mod js;
pub mod studies;
pub mod study_fetch;
pub mod study_lines;
pub mod study_track;
pub mod time_zone;
pub mod zone_time;

pub use handle::{Chart, ChartError};
pub use studies::{MAX_STUDIES, Studies};
pub use time_zone::{TimeFormat, UTC};
