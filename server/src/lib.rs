//! The tickstream service: an axum server that serves the browser page and
//! answers health checks, plus the operator commands around it.
//!
//! # Layout
//!
//! - [`cli`]: the `tickstream` command line (`serve` is the default).
//! - [`config`]: settings from flags and environment variables.
//! - [`app`]: [`app::run`], the one way in: serve on a listener until told
//!   to stop. Tests bind `127.0.0.1:0` and drive the real server through it.
//! - [`http`]: the routes, one module per concern.
//! - [`shutdown`]: SIGINT and SIGTERM as a cancellation.
//! - [`telemetry`]: logging set-up.

pub mod app;
pub mod candles;
pub mod cli;
pub mod config;
pub mod http;
pub mod hub;
pub mod journal;
pub mod persister;
pub mod replay;
pub mod shutdown;
pub mod simulator;
pub mod state;
pub mod store;
pub mod telemetry;
