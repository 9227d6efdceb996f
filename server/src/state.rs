//! [`AppState`]: what every handler reads, cheap to clone.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::ServeConfig;
use crate::feeds::FeedWatch;
use crate::history::History;
use crate::http::lockout::Lockout;
use crate::hub::Hub;
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::persister::Persister;
use crate::simulator::Simulator;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    /// The settings it started with.
    pub config: Arc<ServeConfig>,
    /// Where accepted ticks go.
    pub journal: Journal,
    /// The live fan-out.
    pub hub: Hub,
    /// The built-in feed.
    pub simulator: Simulator,
    /// The persister, when a database is configured.
    pub persister: Option<Persister>,
    /// Candle history: cache, then database.
    pub history: History,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Handler counters and the later-hop latencies, for `/metrics`.
    pub metrics: Metrics,
    /// Feed staleness per asset.
    pub feeds: FeedWatch,
    /// Wrong tokens per client address.
    pub lockout: Lockout,
}
