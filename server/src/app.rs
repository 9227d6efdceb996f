//! [`run`]: start the journal, the candle builder, the hub, the simulator and
//! the ingest stream's reader, serve the HTTP API, the WebSocket and the page
//! on a listener until the stop token is cancelled, then close sockets with a
//! reason, finish what is in flight and return.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bridge::Bridge;
use crate::candles::{Outlets, Seed, Watchers};
use crate::clock::now_millis;
use crate::config::ServeConfig;
use crate::feeds::FeedWatch;
use crate::history::{self, CandleCache, History};
use crate::http::lockout::Lockout;
use crate::hub::{Hub, HubLimits};
use crate::journal::{Journal, WalSettings};
use crate::metrics::Metrics;
use crate::ops::redis_fit;
use crate::persister::{self as persisting, DirectStore, Persister, PersisterSettings};
use crate::revise::{self, JournalStream, Reviser};
use crate::simulator::{AssetKinds, Simulator};
use crate::state::AppState;
use crate::store::TickStore;
use crate::{candles, http, serve};

/// Updates per series held for resuming clients (about 33 KB a series, so
/// 100 assets in 7 timeframes hold at most ~23 MB). A client away for longer
/// gets a fresh snapshot instead, which is as good.
const RESUME_WINDOW: usize = 256;

/// How long shutdown waits for background tasks.
const DRAIN: Duration = Duration::from_secs(10);

/// Ticks stored today and at most this many are read at start-up.
const SEED_LIMIT: i64 = 5_000_000;

/// Today's stored ticks, which the journal may no longer hold because the
/// persister trimmed it (the journal tail starts at the same instant).
async fn today_from(store: Option<&TickStore>) -> Result<Seed, crate::store::StoreError> {
    let Some(store) = store else {
        return Ok(Seed::default());
    };
    let read_at_ms = now_millis();
    let from = crate::clock::seed_from_ms(read_at_ms);
    let ticks = store.ticks_since(from, SEED_LIMIT).await?;
    tracing::info!(
        ticks = ticks.len(),
        "today's candles seeded from the database"
    );
    Ok(Seed { ticks, read_at_ms })
}

/// Today's ticks, read again until the store answers: candles built without
/// them would be wrong (the journal is trimmed behind the persister) and would
/// go to the shared cache. The journal waits meanwhile; `None` on shutdown.
async fn seed_when_ready(
    first: Result<Seed, crate::store::StoreError>,
    store: Option<TickStore>,
    stop: &CancellationToken,
) -> Option<Seed> {
    let mut delay = Duration::from_millis(500);
    let mut read = first;
    loop {
        match read {
            Ok(seed) => return Some(seed),
            Err(e) => tracing::warn!(
                "today's ticks could not be read from the database ({e}); live candles wait for it"
            ),
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
        read = today_from(store.as_ref()).await;
    }
}

/// The tick store `DATABASE_URL` names, its history reads going to
/// `DATABASE_READ_URL` when that is set.
fn open_store(config: &ServeConfig) -> anyhow::Result<Option<TickStore>> {
    let limits = config.history.read_limits();
    let store = TickStore::open(&config.store(), config.redis.timeout(), limits)
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not usable: {e}"))?;
    Ok(match (store, config.history.read_url()) {
        (store, None) => store,
        (Some(store), Some(url)) => Some(store.with_read_replica(url, limits)?),
        (None, Some(_)) => anyhow::bail!(
            "DATABASE_READ_URL is set, but DATABASE_URL=none keeps no ticks to read: unset one of them"
        ),
    })
}

/// Serves on `listener` until `stop` is cancelled.
///
/// Prints `tickstream listening on http://ADDR` to standard output once the
/// server accepts connections, so scripts and tests can find a port chosen by
/// the system (`BIND=127.0.0.1:0`).
///
/// # Errors
///
/// When the listener has no local address or the store's URL is unusable.
pub async fn run(
    listener: TcpListener,
    config: ServeConfig,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    // Before anything starts, so a taken address stops start-up cleanly.
    let metrics_listener = match config.metrics_bind {
        Some(at) => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (METRICS_BIND)"))?,
        ),
        None => None,
    };
    if !config.dist.join("index.html").is_file() {
        tracing::warn!(
            "no built client in {}: `/` will answer 503 until `trunk build --release` has run",
            config.dist.display()
        );
    }
    // A Redis that may evict the journal, or lacks what it needs, stops
    // start-up before anything runs on it.
    redis_fit::check_before_serving(&config.redis).await?;
    let tasks = TaskTracker::new();
    let (journal, feed) = Journal::open(
        &config.redis,
        &WalSettings {
            path: config.journal.journal_wal_path.clone(),
            max_bytes: config.journal.journal_wal_max_bytes,
        },
        stop.clone(),
        tasks.clone(),
    )
    .await
    .context("the journal cannot start")?;
    // Every session open instant of DAY_START, listed once.
    let sessions = config.day_start.sessions();
    let hub = Hub::new(HubLimits {
        history: usize::try_from(config.redis.redis_historical_cache_size).unwrap_or(200),
        replay: RESUME_WINDOW,
        subscriptions: config.limits.ws_max_subscriptions,
    })
    .with_sessions(sessions.clone());
    let cache = journal.uses_redis().then(|| {
        CandleCache::new(
            journal.clone(),
            &config.redis.redis_key_prefix,
            usize::try_from(config.redis.redis_historical_cache_size).unwrap_or(200),
            Duration::from_secs(config.redis.redis_historical_cache_ttl),
        )
    });
    if let Some(cache) = &cache {
        let day_start = config.day_start.to_string();
        match cache.adopt_day_start(&day_start).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "DAY_START is now {day_start}: {n} cached daily and weekly series dropped"
            ),
            Err(e) => tracing::warn!("cannot record DAY_START in Redis: {e}"),
        }
    }
    let closed = cache.clone().map(|cache| {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tasks.spawn(history::keep_cache_current(
            cache,
            hub.clone(),
            rx,
            stop.clone(),
        ));
        tx
    });
    let store = open_store(&config).inspect_err(|_| stop.cancel())?;
    if let Some(store) = &store {
        // Migrate (as the owner) or check the schema (as a writer) at
        // start-up; if the database is down, the persister keeps trying.
        match store.prepare().await {
            Ok(()) => {
                // Once the primary is migrated, a read replica must hold
                // the same schema (else it is checked before its first read).
                store
                    .check_read_replica()
                    .await
                    .inspect_err(|_| stop.cancel())?;
                tracing::info!(store = store.kind(), "tick store ready");
            }
            Err(e) if e.stops_start_up() => {
                stop.cancel();
                return Err(e.into());
            }
            Err(e) => tracing::error!("the tick store is not ready yet: {e}"),
        }
    }
    let watchers = Watchers {
        feeds: FeedWatch::new(config.feeds),
        metrics: Metrics::default(),
        kinds: AssetKinds::default(),
    };
    // Late ticks: restated from the store, when there is one.
    let late = store.clone().map(|store| {
        let (builder_end, reviser_end) = revise::link();
        let reviser = Reviser {
            store,
            stream: journal.uses_redis().then(|| JournalStream {
                journal: journal.clone(),
                streams: journal.keys().journals(),
                group: persisting::GROUP.to_owned(),
            }),
            cache: closed.clone(),
            hub: hub.clone(),
        };
        tasks.spawn(reviser.run(reviser_end, stop.clone()));
        builder_end
    });
    // The first read before serving, so a new process shows today at once.
    let first = today_from(store.as_ref()).await;
    let building = (hub.clone(), store.clone(), watchers.clone(), stop.clone());
    let building_sessions = sessions.clone();
    tasks.spawn(async move {
        let (hub, store, watchers, stop) = building;
        if let Some(seed) = seed_when_ready(first, store, &stop).await {
            let outlets = Outlets { closed, late };
            candles::run(feed, hub, outlets, seed, watchers, building_sessions, stop).await;
        }
    });
    let persister = match &store {
        Some(store) if journal.uses_redis() => {
            if let TickStore::Sqlite(file) = store {
                tracing::info!(
                    file = %file.path().display(),
                    "ticks go to the embedded store; every process on this Redis must use this same file (or one PostgreSQL), as they share the persister's work"
                );
            }
            let store = store.clone();
            let persister = Persister::default();
            let settings = PersisterSettings {
                interval: Duration::from_secs(config.redis.redis_batch_processing_interval),
                first_retry: Duration::from_secs(config.redis.redis_retry_delay),
                claim_idle: Duration::from_secs(config.persister_claim_idle),
            };
            tasks.spawn(
                persister
                    .clone()
                    .run(journal.clone(), store, settings, stop.clone()),
            );
            Some(persister)
        }
        Some(store) => {
            // No Redis: the store is the journal, written as ingest accepts.
            let persister = Persister::default();
            let keeper = DirectStore::new(store.clone(), persister.clone(), config.redis.timeout());
            journal.keep_in(Box::new(keeper));
            tracing::info!(
                store = store.kind(),
                "no Redis: every accepted batch is committed to the tick store before ingest answers (journal mode `store`)"
            );
            Some(persister)
        }
        None => {
            if !journal.uses_redis() {
                tracing::warn!(
                    "no Redis and no tick store (DATABASE_URL=none): accepted ticks are kept nowhere"
                );
            }
            None
        }
    };
    let simulator = Simulator::new(
        journal.clone(),
        &config.simulator,
        watchers.kinds.clone(),
        store.clone(),
        stop.clone(),
        tasks.clone(),
    );
    // Producers' ticks through the Redis stream `{prefix}ingest`.
    if let Some(bridge) = Bridge::new(&config, journal.clone(), watchers.metrics.clone()) {
        tasks.spawn(bridge.run(stop.clone()));
    }
    for asset in &config.simulator.simulate {
        simulator.start_operator_feed(*asset);
    }
    let history = History::new(cache, store, hub.clone(), sessions);
    let lockout = Lockout::new(&config.access);
    let state = AppState {
        config: Arc::new(config),
        journal,
        hub,
        simulator,
        persister,
        history,
        shutdown: stop.clone(),
        metrics: watchers.metrics,
        feeds: watchers.feeds,
        lockout,
    };
    let connections = state.config.connections.clone();
    if let Some(listener) = metrics_listener {
        // `/metrics` alone, behind the same connection limits.
        let router = http::metrics_router(state.clone());
        let (connections, stop) = (connections.clone(), stop.clone());
        println!(
            "tickstream metrics on http://{}/metrics",
            listener.local_addr()?
        );
        tasks.spawn(async move { serve::serve(listener, router, &connections, stop).await });
    }
    let router = http::router(state);
    println!("tickstream listening on http://{addr}");
    tracing::info!(%addr, "listening");
    serve::serve(listener, router, &connections, stop.clone()).await;
    tasks.close();
    if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
        tracing::warn!("background tasks did not finish within {DRAIN:?}");
    }
    tracing::info!("stopped");
    Ok(())
}
