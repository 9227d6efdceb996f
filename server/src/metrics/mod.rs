//! Prometheus metrics. Each part of the server owns its instruments (the
//! journal its accepted ticks and first-hop latency, the persister its batch
//! sizes and durations, the hub its delivery counters, [`Metrics`] what the
//! HTTP and WebSocket handlers count); [`scrape::render`] gathers them and
//! what is read at scrape time (journal length, consumer lag, feeds) into
//! the Prometheus text format for `GET /metrics`. The per-tick hops use
//! [`Latency`], a histogram that takes a whole batch in a few atomic adds.
//!
//! The crate is `prometheus-client`, the Prometheus project's own Rust
//! client: no global registry (tests run several servers in one process),
//! typed label sets, and an encoder for the classic text format 0.0.4.

mod latency;
pub mod scrape;

pub use latency::Latency;

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use shared::Tick;

/// A label set with one `reason`.
pub type Reason = [(&'static str, &'static str); 1];

/// Seconds from a tick's source timestamp to `now_ms` (0 when the source
/// clock is ahead).
#[must_use]
pub fn since_source(tick: &Tick, now_ms: i64) -> f64 {
    (now_ms - tick.timestamp.millis()).max(0) as f64 / 1000.0
}

/// What the HTTP and WebSocket handlers count, and the hops after the
/// journal; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Refused `POST /api/ticks` requests by reason.
    pub ingest_rejected: Family<Reason, Counter>,
    /// Ingest-stream entries handled, by outcome (`accepted`, `refused`).
    pub ingest_stream_entries: Family<Reason, Counter>,
    /// WebSocket frames answered with an error, by reason.
    pub frames_refused: Family<Reason, Counter>,
    /// Open live sessions: `/ws` and Socket.IO clients.
    pub ws_clients: Gauge,
    /// Source timestamp to the candle builder, per tick.
    pub to_candle: Latency,
    /// Source timestamp of the newest tick behind an update to the moment
    /// the update is written to a socket.
    pub to_socket: Latency,
}

impl Metrics {
    /// Counts a refused ingest request.
    pub fn ingest_refused(&self, reason: &'static str) {
        self.ingest_rejected
            .get_or_create(&[("reason", reason)])
            .inc();
    }

    /// Counts ingest-stream entries journaled and refused.
    pub fn stream_entries(&self, accepted: usize, refused: usize) {
        for (outcome, n) in [("accepted", accepted), ("refused", refused)] {
            if n > 0 {
                self.ingest_stream_entries
                    .get_or_create(&[("outcome", outcome)])
                    .inc_by(n as u64);
            }
        }
    }

    /// Counts a WebSocket frame refused with an error.
    pub fn frame_refused(&self, reason: &'static str) {
        self.frames_refused
            .get_or_create(&[("reason", reason)])
            .inc();
    }
}

/// The journal's instruments.
#[derive(Clone, Debug, Default)]
pub struct JournalMetrics {
    /// Ticks journaled by this process (ingest, simulator, replay).
    pub accepted: Counter,
    /// Source timestamp to journaled, per tick.
    pub to_journal: Latency,
}

impl JournalMetrics {
    /// Records a batch journaled at `now_ms`.
    pub fn journaled(&self, ticks: &[Tick], now_ms: i64) {
        self.accepted.inc_by(ticks.len() as u64);
        self.to_journal
            .observe_many(ticks.iter().map(|t| since_source(t, now_ms)));
    }
}

/// The persister's instruments.
#[derive(Clone, Debug)]
pub struct BatchMetrics {
    /// Ticks per committed batch.
    pub ticks: Histogram,
    /// Seconds from the first write attempt of a batch to its commit,
    /// retries included.
    pub seconds: Histogram,
}

impl Default for BatchMetrics {
    fn default() -> Self {
        Self {
            ticks: Histogram::new(exponential_buckets(1.0, 4.0, 10)),
            seconds: Histogram::new(exponential_buckets(0.000_5, 2.0, 18)),
        }
    }
}

impl BatchMetrics {
    /// Records a committed batch.
    pub fn committed(&self, ticks: usize, took: Duration) {
        self.ticks.observe(ticks as f64);
        self.seconds.observe(took.as_secs_f64());
    }
}
