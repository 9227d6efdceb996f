//! The journal: every accepted tick is written here before ingest answers.
//!
//! With Redis, the journal is the stream `{prefix}journal` (plus the capped
//! view `{prefix}ticks:{asset}` and, per batch, a pub/sub message with the
//! asset's new ticks on the channel of the same name, as in the original
//! design), written in one `MULTI`/`EXEC` per batch. Every process tails the stream in order, so every process builds the
//! same candles. The persister reads it through a consumer group and the
//! stream is trimmed only below what that group has acknowledged.
//!
//! When Redis is away the journal holds ticks in-process (bounded: past the
//! bound ingest is refused, nothing is dropped), delivers them to this
//! process's candles at once, reconnects with exponential backoff and then
//! writes the held ticks to Redis in order. Entries a process already
//! delivered itself are recognised by (origin, oseq) and not applied twice.
//!
//! With no Redis configured at all (`REDIS_URL=none`) and a tick store, the
//! store is the journal: each batch is committed to it before ingest answers
//! ([`direct`]).
//!
//! Ticks of an on-demand simulation ([`Journal::append_simulated`]) are
//! marked in their entry, so every process shows them and no persister
//! stores them; they skip the capped tick list, the in-process backlog and
//! the store-as-journal, and while Redis is away they reach only this
//! process's candles.

pub use crate::clock::{now, now_millis};

mod direct;
pub mod entry;
pub mod group;
mod local;

use std::collections::BTreeSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use shared::{Asset, Tick, Timeframe};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RedisConfig;
use crate::metrics::JournalMetrics;
use crate::persister::status::Persister;
use crate::store::TickStore;
use direct::DirectStore;
use local::Backlog;

/// Ticks delivered to the candle builder, in journal order, each batch with
/// the time (Unix ms) it was journaled.
pub type Feed = mpsc::Receiver<Journaled>;

/// A batch of ticks and when it was journaled (Unix ms).
#[derive(Debug, Clone)]
pub struct Journaled {
    /// When the newest of these ticks was journaled.
    pub at_ms: i64,
    /// The ticks, in journal order.
    pub ticks: Vec<Tick>,
    /// Whether they come from an on-demand simulation.
    pub simulated: bool,
}

/// The longest pause between reconnection attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Entries written to Redis per `MULTI`/`EXEC` when flushing the backlog.
const FLUSH_CHUNK: usize = 1000;
/// Entries (batches of up to 10,000 ticks) read per `XREAD`.
const READ_COUNT: usize = 100;

/// Why ticks could not be journaled.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Redis is away and the in-process journal is full.
    #[error("the journal is full while Redis is unreachable; retry later")]
    Full,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closed,
    /// No Redis, and the tick store could not take the batch.
    #[error("the tick store cannot take ticks now ({0}); retry later")]
    Store(String),
}

/// Where a batch was journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// In the Redis stream.
    Redis,
    /// In-process, to be written to Redis when it returns.
    Local,
    /// Committed to the tick store (no Redis configured).
    Store,
}

/// Redis key names under the configured prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`.
    #[must_use]
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }
    /// The journal stream.
    #[must_use]
    pub fn journal(&self) -> String {
        format!("{}journal", self.prefix)
    }
    /// The capped tick list of an asset, and its pub/sub channel.
    #[must_use]
    pub fn ticks(&self, asset: Asset) -> String {
        format!("{}ticks:{asset}", self.prefix)
    }
}

/// The journal handle; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    client: Option<redis::Client>,
    config: RedisConfig,
    /// A random id of this process, written with each entry.
    origin: u64,
    /// Serialises appends, so append numbers follow journal order.
    state: tokio::sync::Mutex<State>,
    connected: AtomicBool,
    reconnecting: AtomicBool,
    /// Append numbers this process delivered itself while Redis was away.
    delivered_locally: Mutex<BTreeSet<(u64, u64)>>,
    /// The tick store, when it is the journal (no Redis configured).
    direct: OnceLock<DirectStore>,
    feed: mpsc::Sender<Journaled>,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// Accepted ticks and their first-hop latency.
    metrics: JournalMetrics,
}

/// The journal stream's figures for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct StreamFigures {
    /// Entries in the stream.
    pub length: u64,
    /// Entries the consumer group has not read yet, when Redis can tell.
    pub lag: Option<u64>,
    /// Entries the group read and has not acknowledged.
    pub pending: Option<u64>,
}

struct State {
    next_oseq: u64,
    conn: Option<MultiplexedConnection>,
    backlog: Backlog,
}

impl Journal {
    /// Opens the journal and starts tailing it. Returns the handle and the
    /// feed of ticks, in journal order, for the candle builder.
    ///
    /// Without a Redis URL it runs in-process only. When Redis does not answer
    /// it starts in-process and keeps reconnecting in the background.
    pub async fn open(
        config: &RedisConfig,
        local_capacity: usize,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> (Self, Feed) {
        Self::open_with(config, local_capacity, stop, tasks, true).await
    }

    async fn open_with(
        config: &RedisConfig,
        local_capacity: usize,
        stop: CancellationToken,
        tasks: TaskTracker,
        tail: bool,
    ) -> (Self, Feed) {
        let (feed, feed_rx) = mpsc::channel(256);
        let client = config
            .url()
            .and_then(|url| match redis::Client::open(url.as_str()) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!("REDIS_URL is not usable ({e}); running in-process only");
                    None
                }
            });
        let inner = Arc::new(Inner {
            keys: Keys::new(&config.redis_key_prefix),
            client,
            config: config.clone(),
            origin: RandomState::new().hash_one(std::process::id()),
            state: tokio::sync::Mutex::new(State {
                next_oseq: 1,
                conn: None,
                backlog: Backlog::new(local_capacity),
            }),
            connected: AtomicBool::new(false),
            reconnecting: AtomicBool::new(false),
            delivered_locally: Mutex::new(BTreeSet::new()),
            direct: OnceLock::new(),
            feed,
            stop,
            tasks,
            metrics: JournalMetrics::default(),
        });
        let journal = Self { inner };
        if let Some(client) = journal.inner.client.clone() {
            match connect(&client, &journal.inner.config).await {
                Ok(conn) => {
                    journal.inner.state.lock().await.conn = Some(conn);
                    journal.inner.connected.store(true, Ordering::SeqCst);
                    tracing::info!("journal in Redis stream {}", journal.inner.keys.journal());
                }
                Err(e) if tail => {
                    tracing::warn!(
                        "Redis unreachable at start ({e}); journaling in-process until it returns"
                    );
                    journal.spawn_reconnect();
                }
                Err(e) => tracing::error!("Redis unreachable: {e}"),
            }
            if tail {
                let tailer = journal.clone();
                journal
                    .inner
                    .tasks
                    .spawn(async move { tailer.tail(client).await });
            }
        } else {
            tracing::info!("no Redis configured: journal and fan-out run in-process");
        }
        (journal, feed_rx)
    }

    /// Opens the journal for writing only (no tailing, no in-process
    /// fallback), as the replay command needs.
    pub async fn writer(config: &RedisConfig, stop: CancellationToken, tasks: TaskTracker) -> Self {
        let mut config = config.clone();
        // Fail fast: a writer does not wait for Redis to come back.
        config.redis_retry_attempts = 0;
        let (journal, _feed) = Self::open_with(&config, 0, stop, tasks, false).await;
        journal
    }

    /// Whether Redis is in use now.
    #[must_use]
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::SeqCst)
    }

    /// Whether a Redis is configured at all.
    #[must_use]
    pub fn uses_redis(&self) -> bool {
        self.inner.client.is_some()
    }

    /// With no Redis configured, makes `store` the journal: every batch is
    /// committed to it before [`Journal::append`] returns, and `persister`
    /// shows the writes. Does nothing when Redis is configured (the persister
    /// then reads the Redis journal) or when a store is already set.
    pub fn keep_in(&self, store: TickStore, persister: Persister) {
        if !self.uses_redis() {
            let timeout = self.inner.config.timeout();
            let _ = self
                .inner
                .direct
                .set(DirectStore::new(store, persister, timeout));
        }
    }

    /// Ticks held in-process, waiting for Redis.
    pub async fn backlog(&self) -> usize {
        self.inner.state.lock().await.backlog.len()
    }

    /// A connection to Redis for other readers and writers, when connected.
    pub async fn connection(&self) -> Option<MultiplexedConnection> {
        self.inner.state.lock().await.conn.clone()
    }

    /// Journals a batch, all or nothing, and returns once it is held: in the
    /// Redis stream, in-process while Redis is away, or committed to the tick
    /// store when no Redis is configured.
    ///
    /// The work runs in a task of its own, so a caller that goes away (an
    /// HTTP client hanging up) cannot stop it between keeping the batch and
    /// handing it to the candle builder.
    ///
    /// # Errors
    ///
    /// [`JournalError::Full`] when Redis is away and the in-process journal
    /// has no room; [`JournalError::Store`] when the tick store (the journal
    /// without Redis) cannot take it; [`JournalError::Closed`] during
    /// shutdown. Nothing of the batch is kept then.
    pub async fn append(&self, ticks: &[Tick]) -> Result<Durability, JournalError> {
        if ticks.is_empty() {
            return Ok(if self.connected() {
                Durability::Redis
            } else if self.inner.direct.get().is_some() {
                Durability::Store
            } else {
                Durability::Local
            });
        }
        let journal = self.clone();
        let ticks = ticks.to_vec();
        tokio::spawn(async move { journal.append_now(&ticks, false).await })
            .await
            .unwrap_or(Err(JournalError::Closed))
    }

    /// Journals ticks of an on-demand simulation: in the Redis stream marked
    /// as simulated (the persister acknowledges them without storing them),
    /// or, without Redis, to this process's candles only. Never stored.
    ///
    /// # Errors
    ///
    /// [`JournalError::Closed`] during shutdown.
    pub async fn append_simulated(&self, ticks: &[Tick]) -> Result<Durability, JournalError> {
        self.append_now(ticks, true).await
    }

    async fn append_now(
        &self,
        ticks: &[Tick],
        simulated: bool,
    ) -> Result<Durability, JournalError> {
        let inner = &self.inner;
        let mut state = inner.state.lock().await;
        let first = state.next_oseq;
        let batch: Vec<(u64, Tick)> = (first..).zip(ticks.iter().copied()).collect();
        if let Some(mut conn) = state.conn.clone() {
            let written = tokio::time::timeout(
                inner.config.timeout(),
                write(&mut conn, inner, &batch, simulated),
            )
            .await;
            match written {
                Ok(Ok(())) => {
                    state.next_oseq += ticks.len() as u64;
                    inner.metrics.journaled(ticks, now_millis());
                    return Ok(Durability::Redis);
                }
                Ok(Err(e)) => tracing::warn!("Redis write failed ({e}); journaling in-process"),
                Err(_) => tracing::warn!("Redis write timed out; journaling in-process"),
            }
            state.conn = None;
            inner.connected.store(false, Ordering::SeqCst);
            self.spawn_reconnect();
        }
        let mut durability = Durability::Local;
        if simulated {
            // Never kept: only this process's candles show it.
        } else if let Some(direct) = inner.direct.get() {
            direct.keep(ticks).await?;
            durability = Durability::Store;
        } else if inner.client.is_some() {
            if !state.backlog.has_room(ticks.len()) {
                return Err(JournalError::Full);
            }
            for (oseq, tick) in &batch {
                state.backlog.push(*oseq, *tick);
            }
            let last = first + ticks.len() as u64 - 1;
            if let Ok(mut delivered) = inner.delivered_locally.lock() {
                delivered.insert((first, last));
            }
        }
        state.next_oseq += ticks.len() as u64;
        inner
            .feed
            .send(Journaled {
                at_ms: now_millis(),
                ticks: ticks.to_vec(),
                simulated,
            })
            .await
            .map_err(|_| JournalError::Closed)?;
        inner.metrics.journaled(ticks, now_millis());
        Ok(durability)
    }

    /// Accepted ticks and their latency to the journal.
    #[must_use]
    pub fn metrics(&self) -> &JournalMetrics {
        &self.inner.metrics
    }

    /// The stream's length and, for consumer `group`, its lag and pending
    /// entries; `None` when Redis is not connected.
    pub async fn stream_figures(&self, group: &str) -> Option<StreamFigures> {
        let mut conn = self.connection().await?;
        let key = self.inner.keys.journal();
        let timeout = self.inner.config.timeout();
        let length = tokio::time::timeout(
            timeout,
            redis::cmd("XLEN").arg(&key).query_async::<u64>(&mut conn),
        )
        .await
        .ok()?
        .ok()?;
        let groups = tokio::time::timeout(
            timeout,
            redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(&key)
                .query_async::<redis::streams::StreamInfoGroupsReply>(&mut conn),
        )
        .await;
        let found = match groups {
            Ok(Ok(reply)) => reply.groups.into_iter().find(|g| g.name == group),
            _ => None,
        };
        Some(StreamFigures {
            length,
            lag: found.as_ref().and_then(|g| g.lag).map(|n| n as u64),
            pending: found.map(|g| g.pending as u64),
        })
    }

    /// Joins a consumer group on the journal stream (the persister's way in).
    ///
    /// # Errors
    ///
    /// When Redis is not connected, or refuses.
    pub async fn consumer_group(
        &self,
        group: &str,
        consumer: &str,
    ) -> redis::RedisResult<group::ConsumerGroup> {
        let Some(client) = &self.inner.client else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "no Redis configured",
            )));
        };
        let conn = connect(client, &self.inner.config).await?;
        group::ConsumerGroup::join(conn, self.inner.keys.journal(), group, consumer).await
    }

    /// Redis `INFO` figures for `redis_status`, when connected.
    pub async fn redis_info(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        let Some(mut conn) = self.connection().await else {
            return out;
        };
        let info = tokio::time::timeout(
            self.inner.config.timeout(),
            redis::cmd("INFO").query_async::<String>(&mut conn),
        )
        .await;
        if let Ok(Ok(text)) = info {
            const WANTED: [&str; 8] = [
                "redis_version",
                "uptime_in_seconds",
                "connected_clients",
                "used_memory",
                "used_memory_human",
                "keyspace_hits",
                "keyspace_misses",
                "total_commands_processed",
            ];
            for line in text.lines() {
                if let Some((k, v)) = line.trim().split_once(':')
                    && WANTED.contains(&k)
                {
                    let value = v
                        .parse::<u64>()
                        .map_or_else(|_| serde_json::Value::from(v), serde_json::Value::from);
                    out.insert(k.to_owned(), value);
                }
            }
        }
        out
    }

    fn spawn_reconnect(&self) {
        if self.inner.reconnecting.swap(true, Ordering::SeqCst) {
            return;
        }
        let journal = self.clone();
        self.inner
            .tasks
            .spawn(async move { journal.reconnect().await });
    }

    /// Reconnects with exponential backoff, writes the in-process backlog to
    /// Redis in order, then switches appends back to Redis.
    async fn reconnect(self) {
        let inner = &self.inner;
        let Some(client) = inner.client.clone() else {
            return;
        };
        let first_delay = Duration::from_secs(inner.config.redis_retry_delay);
        let mut delay = first_delay;
        let mut attempt: u32 = 0;
        loop {
            tokio::select! {
                () = inner.stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
            if attempt > inner.config.redis_retry_attempts {
                delay = (delay * 2).min(MAX_RETRY_DELAY);
            }
            let mut conn = match connect(&client, &inner.config).await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::debug!("Redis reconnect attempt {attempt} failed: {e}");
                    continue;
                }
            };
            let mut state = inner.state.lock().await;
            let mut flushed = true;
            while state.backlog.len() > 0 {
                let chunk = state.backlog.front(FLUSH_CHUNK);
                match tokio::time::timeout(
                    inner.config.timeout(),
                    write(&mut conn, inner, &chunk, false),
                )
                .await
                {
                    Ok(Ok(())) => state.backlog.drop_front(chunk.len()),
                    _ => {
                        flushed = false;
                        break;
                    }
                }
            }
            if flushed {
                state.conn = Some(conn);
                inner.connected.store(true, Ordering::SeqCst);
                inner.reconnecting.store(false, Ordering::SeqCst);
                tracing::info!("Redis is back after {attempt} attempt(s); journal flushed");
                return;
            }
        }
    }

    /// Reads the stream in order and feeds this process's candles, from the
    /// start of the current UTC day so that every process holds the same
    /// forming candles.
    async fn tail(self, client: redis::Client) {
        let inner = &self.inner;
        let now = now_millis();
        let grace = 60_000;
        let mut last_id = format!("{}-0", Timeframe::D1.bucket_of_millis(now) * 1000 - grace);
        let key = inner.keys.journal();
        let mut delay = Duration::from_secs(inner.config.redis_retry_delay);
        let mut conn: Option<MultiplexedConnection> = None;
        loop {
            if inner.stop.is_cancelled() {
                return;
            }
            let c = match &mut conn {
                Some(c) => c,
                None => match connect(&client, &inner.config).await {
                    Ok(c) => {
                        delay = Duration::from_secs(inner.config.redis_retry_delay);
                        conn.insert(c)
                    }
                    Err(_) => {
                        tokio::select! {
                            () = inner.stop.cancelled() => return,
                            () = tokio::time::sleep(delay) => {}
                        }
                        delay = (delay * 2).min(MAX_RETRY_DELAY);
                        continue;
                    }
                },
            };
            let mut xread = redis::cmd("XREAD");
            xread
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("BLOCK")
                .arg(500)
                .arg("STREAMS")
                .arg(&key)
                .arg(&last_id);
            let read = xread.query_async::<redis::Value>(c);
            let reply = tokio::select! {
                () = inner.stop.cancelled() => return,
                r = read => r,
            };
            match reply {
                Ok(value) => {
                    let (entries, skipped) = entry::parse_xread(&value);
                    if skipped > 0 {
                        tracing::warn!(
                            "{skipped} journal entries could not be read and were skipped"
                        );
                    }
                    let Some((id, _)) = entries.last() else {
                        continue;
                    };
                    last_id.clone_from(id);
                    // An entry id starts with the time it was journaled.
                    let at_ms = id
                        .split('-')
                        .next()
                        .and_then(|ms| ms.parse().ok())
                        .unwrap_or(0);
                    // Real and simulated entries go out in runs, in order.
                    for run in entries.chunk_by(|(_, a), (_, b)| a.simulated == b.simulated) {
                        let simulated = run[0].1.simulated;
                        let ticks = self.not_yet_delivered(run);
                        if !ticks.is_empty()
                            && inner
                                .feed
                                .send(Journaled {
                                    at_ms,
                                    ticks,
                                    simulated,
                                })
                                .await
                                .is_err()
                        {
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("reading the journal failed ({e}); reconnecting");
                    conn = None;
                }
            }
        }
    }

    /// Drops ticks this process already delivered while Redis was away.
    fn not_yet_delivered(&self, entries: &[(String, entry::Entry)]) -> Vec<Tick> {
        let origin = self.inner.origin;
        let Ok(mut delivered) = self.inner.delivered_locally.lock() else {
            return entries
                .iter()
                .flat_map(|(_, e)| e.ticks.iter().copied())
                .collect();
        };
        let mut newest_own = 0;
        let mut ticks = Vec::new();
        for (_, e) in entries {
            if e.origin != origin || delivered.is_empty() {
                ticks.extend_from_slice(&e.ticks);
                continue;
            }
            for (i, tick) in e.ticks.iter().enumerate() {
                let oseq = e.oseq + i as u64;
                newest_own = newest_own.max(oseq);
                if !delivered.iter().any(|(a, b)| (*a..=*b).contains(&oseq)) {
                    ticks.push(*tick);
                }
            }
        }
        // Own entries come in append order: ranges behind the newest are done.
        delivered.retain(|(_, b)| *b > newest_own);
        ticks
    }
}

async fn connect(
    client: &redis::Client,
    config: &RedisConfig,
) -> redis::RedisResult<MultiplexedConnection> {
    let settings = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.timeout()))
        .set_response_timeout(Some(config.timeout()));
    client
        .get_multiplexed_async_connection_with_config(&settings)
        .await
}

/// Writes a batch in one `MULTI`/`EXEC`: one stream entry for it, then per
/// asset one `LPUSH` of its ticks onto the capped list, one `LTRIM`, and one
/// pub/sub message holding the batch's ticks of that asset as a JSON array.
///
/// A simulated batch is marked in its entry and skips the capped list: a
/// simulation leaves no key behind.
async fn write(
    conn: &mut MultiplexedConnection,
    inner: &Inner,
    batch: &[(u64, Tick)],
    simulated: bool,
) -> redis::RedisResult<()> {
    let keys = &inner.keys;
    let journal = keys.journal();
    let mut pipe = redis::pipe();
    pipe.atomic();
    let Some((first_oseq, _)) = batch.first() else {
        return Ok(());
    };
    let ticks: Vec<Tick> = batch.iter().map(|(_, t)| *t).collect();
    pipe.cmd("XADD")
        .arg(&journal)
        .arg("*")
        .arg(&entry::fields(&ticks, inner.origin, *first_oseq, simulated)[..])
        .ignore();
    let mut by_asset: Vec<(Asset, Vec<String>)> = Vec::new();
    for tick in &ticks {
        let json = serde_json::to_string(tick).unwrap_or_default();
        match by_asset.iter_mut().find(|(a, _)| *a == tick.asset) {
            Some((_, list)) => list.push(json),
            None => by_asset.push((tick.asset, vec![json])),
        }
    }
    let keep = inner.config.redis_max_tick_buffer_size.saturating_sub(1);
    for (asset, ticks) in by_asset {
        let list = keys.ticks(asset);
        if !simulated {
            pipe.cmd("LPUSH").arg(&list).arg(&ticks).ignore();
            pipe.cmd("LTRIM").arg(&list).arg(0).arg(keep).ignore();
        }
        pipe.cmd("PUBLISH")
            .arg(&list)
            .arg(format!("[{}]", ticks.join(",")))
            .ignore();
    }
    pipe.query_async::<()>(conn).await
}
