//! Helpers for the end-to-end tests: start the real `tickstream` binary on a
//! port the system picks, and a real headless Chromium through chromedriver.
//!
//! # Layout
//!
//! - [`paths`]: where the workspace, the binary and the built page are.
//! - [`server`]: [`Server`], a running `tickstream serve` process.
//! - [`browser`]: [`Browser`], a WebDriver session in headless Chromium.
//! - [`seed`]: price history ending where the simulator starts, for the page.
//! - [`truth`]: candles from the distinct accepted ticks, and the server's
//!   three views of them (live, cache, store), for the one-truth tests.

pub mod browser;
pub mod paths;
pub mod seed;
pub mod server;
pub mod truth;

pub use browser::Browser;
pub use server::Server;
