//! `GET /api/status` (what `redis_status` carries) and `GET /readyz`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use shared::protocol::{RedisStatus, wire_time};

use crate::clock::now_millis;
use crate::hub::LISTED_ASSETS;
use crate::state::AppState;

/// The status routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/status", get(status))
        .route("/readyz", get(readyz))
}

/// The status shared by `/api/status` and the `redis_status` event.
pub async fn current(state: &AppState) -> RedisStatus {
    let mut batch_status = match &state.persister {
        Some(p) => match serde_json::to_value(p.status()) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        },
        None => {
            let mut m = serde_json::Map::new();
            m.insert("running".into(), false.into());
            m.insert("store".into(), "none".into());
            m
        }
    };
    // Where accepted batches are kept now: `redis`, `write-ahead` (Redis
    // away), `store` (no Redis) or `memory` (no Redis, no store); and the
    // ticks in the write-ahead file waiting for Redis.
    batch_status.insert("journal".into(), state.journal.mode().as_str().into());
    batch_status.insert("local_backlog".into(), state.journal.backlog().into());
    let mut redis_info = state.journal.redis_info().await;
    if let Some(cache) = state.history.cache() {
        use std::sync::atomic::Ordering;
        // The candle cache's own hit and miss counts, beside Redis's keyspace ones.
        redis_info.insert(
            "candle_cache_hits".into(),
            cache.stats().hits.load(Ordering::Relaxed).into(),
        );
        redis_info.insert(
            "candle_cache_misses".into(),
            cache.stats().misses.load(Ordering::Relaxed).into(),
        );
    }
    let mut live = serde_json::Map::new();
    {
        use std::sync::atomic::Ordering;
        let stats = state.hub.stats();
        for (name, counter) in [
            ("deliveries", &stats.deliveries),
            ("lagged", &stats.lagged),
            ("late_ticks", &stats.late_ticks),
            ("duplicate_ticks", &stats.duplicate_ticks),
            ("revisions", &stats.revisions),
            ("late_pending", &stats.late_pending),
        ] {
            live.insert(name.into(), counter.load(Ordering::Relaxed).into());
        }
        // The busiest assets with candles, for the page's asset picker, and
        // how many more there are: bounded however many assets tick.
        let listed = state.hub.assets(LISTED_ASSETS);
        let assets: Vec<String> = listed.names.iter().map(ToString::to_string).collect();
        live.insert("assets".into(), assets.into());
        live.insert("assets_more".into(), listed.more.into());
        // Those whose ticks are simulated; every other asset is real.
        let simulated: Vec<String> = state
            .simulator
            .simulated()
            .iter()
            .map(ToString::to_string)
            .collect();
        live.insert("simulated".into(), simulated.into());
    }
    RedisStatus {
        connected: state.journal.connected(),
        redis_info,
        live,
        batch_status,
        timestamp: wire_time(now_millis()),
        feeds: state.feeds.health(now_millis()),
    }
}

async fn status(State(state): State<AppState>) -> Json<RedisStatus> {
    Json(current(&state).await)
}

/// Ready when the configured Redis and tick store both answer and the
/// store takes writes. The store is pinged over the write pool: history
/// reads that time out do not make the server unready.
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let unready = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why);
    if state.journal.uses_redis() && !state.journal.connected() {
        return unready("Redis unreachable: journaling to the write-ahead file".to_owned());
    }
    if let Some(store) = state.history.store()
        && !store.ping(std::time::Duration::from_secs(2)).await
    {
        return unready("tick store unreachable: history and storage wait".to_owned());
    }
    if let Some(persister) = &state.persister {
        let status = persister.status();
        if status.writable == Some(false) {
            return unready(format!(
                "the tick store takes no writes ({}): accepted ticks wait in the journal",
                status.last_error.unwrap_or_default()
            ));
        }
    }
    (StatusCode::OK, "ready".to_owned())
}
