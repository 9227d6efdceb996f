//! The tickstream page, a Leptos CSR app compiled to WebAssembly: a live
//! candlestick chart (TradingView's lightweight-charts) fed over a
//! WebSocket. It uses the very same domain types as the server (`shared`).
//!
//! # Layout
//!
//! - [`app`]: [`App`], the page.
//! - [`address`]: the page's view as signals, kept in the address.
//! - [`components`]: the page's parts, one file each.
//! - [`chart`]: the chart library's bindings and the [`chart::Chart`] drawn
//!   from the candle buffer.
//! - [`stream`]: the data stream (the old design's `useDataStream`): socket,
//!   reconnection and resume, the queue between frames and the chart.
//! - [`model`]: the pure logic under it all (buffer, resume cursor, feed
//!   clock, backoff, [`model::StreamState`]), tested without a browser.
//! - [`csv`]: a local CSV file of ticks or candles, read in the browser
//!   and charted beside the live view.
//! - [`api`]: `GET /api/candles` for older history.

pub mod address;
pub mod api;
pub mod app;
pub mod chart;
pub mod components;
pub mod csv;
pub mod model;
pub mod stream;

pub use app::App;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
