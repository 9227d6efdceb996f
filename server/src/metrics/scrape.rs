//! [`render`]: one scrape of `GET /metrics`, in the Prometheus text format
//! (version 0.0.4). Live instruments are registered as they are; counts kept
//! elsewhere (hub, cache, persister status) and figures read now (journal
//! length, consumer lag, feeds) become fresh metrics of this scrape.

use std::sync::atomic::Ordering;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::clock::now_millis;
use crate::persister::GROUP;
use crate::state::AppState;

/// The `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type AssetLabel = [(&'static str, String); 1];

fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

fn gauge(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Every metric of this process, as Prometheus text.
pub async fn render(state: &AppState) -> String {
    let mut r = Registry::with_prefix("tickstream");
    register_ingest(&mut r, state);
    register_journal(&mut r, state).await;
    register_persister(&mut r, state);
    register_delivery(&mut r, state);
    register_feeds(&mut r, state);
    let mut text = String::with_capacity(16 * 1024);
    if prometheus_text::encode(&mut text, &r).is_err() {
        text.clear();
    }
    text
}

fn register_ingest(r: &mut Registry, state: &AppState) {
    let journal = state.journal.metrics();
    r.register(
        "ticks_accepted",
        "Ticks journaled by this process (ingest, simulator)",
        journal.accepted.clone(),
    );
    r.register(
        "ingest_rejected",
        "Refused POST /api/ticks requests, by reason (nothing of them was kept)",
        state.metrics.ingest_rejected.clone(),
    );
    r.register(
        "ingest_stream_entries",
        "Entries of the Redis stream {prefix}ingest handled by this process, by outcome (a refused one is in {prefix}ingest:rejected)",
        state.metrics.ingest_stream_entries.clone(),
    );
    let hub = state.hub.stats();
    r.register(
        "ticks_late",
        "Ticks before their asset's horizon, whose candles are restated from the store",
        counter(hub.late_ticks.load(Ordering::Relaxed)),
    );
    r.register(
        "ticks_duplicate",
        "Ticks the live candles had counted already, left out",
        counter(hub.duplicate_ticks.load(Ordering::Relaxed)),
    );
    r.register(
        "candles_revised",
        "Closed candles revised by a live tick or restated from the store after late ticks",
        counter(hub.revisions.load(Ordering::Relaxed)),
    );
    r.register(
        "late_candles_pending",
        "Candles waiting to be restated from the store after late ticks",
        gauge(i64::try_from(hub.late_pending.load(Ordering::Relaxed)).unwrap_or(i64::MAX)),
    );
    r.register(
        "tick_to_journal_seconds",
        "Seconds from a tick's source timestamp to its journaling, per tick",
        journal.to_journal.clone(),
    );
    r.register(
        "tick_to_candle_seconds",
        "Seconds from a tick's source timestamp to the candle builder, per live tick",
        state.metrics.to_candle.clone(),
    );
    r.register(
        "tick_to_socket_seconds",
        "Seconds from the source timestamp of the newest tick behind a candle update to its write to a WebSocket",
        state.metrics.to_socket.clone(),
    );
}

async fn register_journal(r: &mut Registry, state: &AppState) {
    let journal = &state.journal;
    r.register(
        "redis_connected",
        "1 while Redis is in use, 0 while journaling to the write-ahead file or without Redis",
        gauge(i64::from(journal.connected())),
    );
    r.register(
        "journal_local_backlog",
        "Ticks in the write-ahead file while Redis is away, not yet in Redis",
        gauge(as_i64(journal.backlog() as u64)),
    );
    if let Some(figures) = journal.stream_figures(GROUP).await {
        r.register(
            "journal_length",
            "Entries (batches) in the Redis journal stream",
            gauge(as_i64(figures.length)),
        );
        if let Some(lag) = figures.lag {
            r.register(
                "journal_consumer_lag",
                "Journal entries the persister group has not read yet",
                gauge(as_i64(lag)),
            );
        }
        if let Some(pending) = figures.pending {
            r.register(
                "journal_consumer_pending",
                "Journal entries the persister group read but has not acknowledged",
                gauge(as_i64(pending)),
            );
        }
    }
    if let Some(cache) = state.history.cache() {
        let stats = cache.stats();
        r.register(
            "candle_cache_hits",
            "Candle history reads answered from the Redis cache",
            counter(stats.hits.load(Ordering::Relaxed)),
        );
        r.register(
            "candle_cache_misses",
            "Candle history reads the Redis cache could not answer",
            counter(stats.misses.load(Ordering::Relaxed)),
        );
    }
    if let Some(replica) = state.history.store().and_then(|s| s.read_replica()) {
        r.register(
            "history_replica_up",
            "1 while history reads go to the read replica (DATABASE_READ_URL)",
            gauge(i64::from(replica.up)),
        );
        r.register(
            "history_replica_reads",
            "History reads the read replica answered",
            counter(replica.reads),
        );
        r.register(
            "history_replica_fallbacks",
            "History reads the read replica failed and the primary answered",
            counter(replica.fallbacks),
        );
    }
}

fn register_persister(r: &mut Registry, state: &AppState) {
    let Some(persister) = &state.persister else {
        return;
    };
    let s = persister.status();
    r.register(
        "persister_running",
        "1 while the persister runs",
        gauge(i64::from(s.running)),
    );
    r.register(
        "persister_pending_ticks",
        "Ticks read from the journal and not yet committed",
        gauge(as_i64(s.pending)),
    );
    r.register(
        "persister_retries",
        "Failed write attempts, each retried with backoff",
        counter(s.failures),
    );
    r.register(
        "persister_rows_written",
        "Rows inserted into the tick store",
        counter(s.rows_written),
    );
    r.register(
        "persister_duplicates_skipped",
        "Ticks already stored and skipped",
        counter(s.duplicates_skipped),
    );
    r.register(
        "persister_rows_rejected",
        "Rows the database refused, set aside",
        counter(s.rejected),
    );
    r.register(
        "persister_batch_ticks",
        "Ticks per committed batch",
        persister.batches.ticks.clone(),
    );
    r.register(
        "persister_batch_duration_seconds",
        "Seconds from a batch's first write attempt to its commit",
        persister.batches.seconds.clone(),
    );
}

fn register_delivery(r: &mut Registry, state: &AppState) {
    let hub = state.hub.stats();
    r.register(
        "ws_clients",
        "Open live sessions: /ws and Socket.IO clients",
        state.metrics.ws_clients.clone(),
    );
    r.register(
        "ws_deliveries",
        "Candle updates queued to WebSocket sessions",
        counter(hub.deliveries.load(Ordering::Relaxed)),
    );
    r.register(
        "ws_lagged",
        "Times a session fell behind and was sent fresh snapshots",
        counter(hub.lagged.load(Ordering::Relaxed)),
    );
    r.register(
        "ws_dropped",
        "Queued frames dropped from lagging sessions (replaced by snapshots)",
        counter(hub.dropped.load(Ordering::Relaxed)),
    );
    r.register(
        "ws_queued_bytes",
        "Bytes of frames queued to all WebSocket sessions, not yet written",
        gauge(as_i64(hub.queued_bytes.load(Ordering::Relaxed) as u64)),
    );
    r.register(
        "live_series",
        "Candle series (asset, timeframe) held for live updates: made by ticks, and derived ones (90M, 1W, ...) while someone follows them",
        gauge(as_i64(state.hub.series_count() as u64)),
    );
    r.register(
        "ws_frames_refused",
        "Client frames answered with an error, by reason",
        state.metrics.frames_refused.clone(),
    );
}

fn register_feeds(r: &mut Registry, state: &AppState) {
    let stale: Family<AssetLabel, Gauge> = Family::default();
    let silence: Family<AssetLabel, Gauge<f64, std::sync::atomic::AtomicU64>> = Family::default();
    let usual: Family<AssetLabel, Gauge<f64, std::sync::atomic::AtomicU64>> = Family::default();
    let (figures, more) = state.feeds.figures(now_millis());
    for (asset, is_stale, silent_ms, usual_ms) in figures {
        let label = [("asset", asset.to_string())];
        stale.get_or_create(&label).set(i64::from(is_stale));
        silence.get_or_create(&label).set(silent_ms as f64 / 1000.0);
        if let Some(ms) = usual_ms {
            usual.get_or_create(&label).set(ms / 1000.0);
        }
    }
    r.register(
        "feed_stale",
        "1 when the asset's feed has been silent for several times its usual interval",
        stale,
    );
    r.register(
        "feed_silence_seconds",
        "Seconds since the asset's newest tick was journaled",
        silence,
    );
    r.register(
        "feed_usual_interval_seconds",
        "The asset's learned usual gap between ticks",
        usual,
    );
    r.register(
        "feeds_unlisted",
        "Feeds left out of the per-asset feed metrics (only the stale ones and the busiest are listed)",
        gauge(as_i64(more as u64)),
    );
}
