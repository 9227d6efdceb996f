//! The tickstream service: an axum server that ingests ticks, builds candles,
//! streams them over WebSocket, keeps every tick in PostgreSQL and serves the
//! browser page, plus the operator commands around it.
//!
//! # Layout
//!
//! - [`cli`]: the `tickstream` command line (`serve` is the default, `replay`,
//!   `health`, `monitor`).
//! - [`config`]: settings from flags, environment variables and `.env`.
//! - [`app`]: [`app::run`], the one way in: serve on a listener until told
//!   to stop. Tests bind `127.0.0.1:0` and drive the real server through it.
//! - [`journal`]: accepted ticks in the Redis streams (in a write-ahead file
//!   while Redis is away, in the store without Redis), tailed by every
//!   process; the persister's consumer group.
//! - [`redis`]: one connection type over one Redis or a Redis Cluster,
//!   `INFO` and stream figures.
//! - [`clock`]: the wall clock in tick units.
//! - [`candles`]: the shared aggregator over the journal, with a close timer.
//! - [`revise`]: the late path: candles of late ticks restated from the store.
//! - [`feeds`]: each asset's usual tick interval and whether its feed is stale.
//! - [`metrics`]: Prometheus instruments and the `/metrics` scrape.
//! - [`hub`]: fan-out of candle updates to bounded per-session queues.
//! - [`history`]: candle history from the Redis cache or the database.
//! - [`store`]: `historical_ticks` in PostgreSQL.
//! - [`persister`]: journal to store, exactly once.
//! - [`simulator`]: the built-in random-walk feed.
//! - [`replay`]: tick files into a server or the journal.
//! - [`ops`]: the operator commands `health` and `monitor`.
//! - [`http`]: the routes, one module per concern (ingest, candles, status,
//!   WebSocket, page), and [`http::client_ip::ClientIp`].
//! - [`bridge`]: producers through Redis: the `ingest` stream, checked and
//!   journaled as `POST /api/ticks`.
//! - [`gate`]: counts of open clients, in all and per address, and their caps.
//! - [`serve`]: connections: hyper with header-read and idle timeouts, the
//!   connection caps, graceful shutdown.
//! - [`state`]: [`state::AppState`], what handlers share.
//! - [`shutdown`]: SIGINT and SIGTERM as a cancellation.
//! - [`telemetry`]: logging set-up.

pub mod app;
pub mod bridge;
pub mod candles;
pub mod cli;
pub mod clock;
pub mod config;
pub mod feeds;
pub mod gate;
pub mod history;
pub mod http;
pub mod hub;
pub mod journal;
pub mod metrics;
pub mod ops;
pub mod persister;
pub mod redis;
pub mod replay;
pub mod revise;
pub mod serve;
pub mod shutdown;
pub mod simulator;
pub mod state;
pub mod store;
pub mod telemetry;
