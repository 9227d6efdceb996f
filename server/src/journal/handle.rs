//! [`Journal`]: the handle ingest, the simulator, the persister and the
//! status hold. Appends go to the writer
//! task ([`super::writer`]) through a channel bounded in ticks; each caller
//! waits for its own answer.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use shared::Tick;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::delivered::Delivered;
use super::group::ConsumerGroup;
use super::inner::{Request, Shared};
use super::keys::Keys;
use super::types::{Durability, Feed, JournalError, JournalMode, Keeper};
use super::wal::{Wal, WalSettings};
use super::writer::Writer;
use crate::config::RedisConfig;
use crate::metrics::JournalMetrics;
use crate::redis::stream::StreamFigures;
use crate::redis::{Link, Target};

/// Ticks waiting for the writer at most; an append past it waits its turn.
const QUEUE_TICKS: usize = 200_000;
/// Appends waiting for the writer at most.
const QUEUE_REQUESTS: usize = 4096;

/// The journal handle; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Shared>,
}

impl Journal {
    /// Opens the journal: Redis when configured (with the write-ahead file
    /// `wal` for its absences) or, with the default address and no Redis
    /// answering, none; starts the writer and the tailer. Returns the handle
    /// and the feed of ticks, in journal order, for the candle builder.
    ///
    /// # Errors
    ///
    /// [`JournalError::WriteAhead`] when the write-ahead file cannot be
    /// opened.
    pub async fn open(
        config: &RedisConfig,
        wal: &WalSettings,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<(Self, Feed), JournalError> {
        Self::open_with(config, Some(wal), stop, tasks).await
    }

    /// Opens the journal for writing to Redis only (no tailing, no fallback:
    /// an append while Redis is away fails), as the replay command needs.
    ///
    /// # Errors
    ///
    /// None in practice: there is no write-ahead file to open.
    pub async fn writer(
        config: &RedisConfig,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<Self, JournalError> {
        let (journal, _feed) = Self::open_with(config, None, stop, tasks).await?;
        Ok(journal)
    }

    async fn open_with(
        config: &RedisConfig,
        wal: Option<&WalSettings>,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<(Self, Feed), JournalError> {
        let serving = wal.is_some();
        let (feed, feed_rx) = mpsc::channel(256);
        let mut target = Target::from_config(config).unwrap_or_else(|e| {
            tracing::error!("{e}; running without Redis");
            None
        });
        let keys = Keys::sharded(
            &config.redis_key_prefix,
            config.shards(),
            target.as_ref().is_some_and(Target::is_cluster),
        );
        let mut conn = None;
        if let Some(t) = &target {
            match t.connect(config).await {
                Ok(mut found) => {
                    super::shards::adopt(&mut found, &keys, config.timeout()).await?;
                    conn = Some(found);
                    tracing::info!(
                        shards = keys.shards(),
                        cluster = t.is_cluster(),
                        "journal in Redis stream(s) {}",
                        keys.journal(0)
                    );
                }
                Err(e) if serving && !config.redis_is_explicit() => {
                    tracing::warn!(
                        "no Redis answers at the default address ({e}; REDIS_URL and REDIS_HOST are unset): running embedded, the tick store is the journal; set REDIS_URL or REDIS_HOST to use a Redis"
                    );
                    target = None;
                }
                Err(e) if serving => tracing::warn!(
                    "Redis unreachable at start ({e}); journaling to the write-ahead file until it returns"
                ),
                Err(e) => tracing::error!("Redis unreachable: {e}"),
            }
        }
        let origin = RandomState::new().hash_one(std::process::id());
        let file = match (wal, &target) {
            (Some(settings), Some(_)) => {
                Some(Wal::open(settings, 1).map_err(|e| JournalError::WriteAhead(e.to_string()))?)
            }
            _ => None,
        };
        let (requests, queue) = mpsc::channel(QUEUE_REQUESTS);
        let delivered = (0..keys.shards()).map(|_| Delivered::default()).collect();
        let inner = Arc::new(Shared {
            keys,
            config: config.clone(),
            target: target.clone(),
            origin,
            requests,
            room: Arc::new(Semaphore::new(QUEUE_TICKS)),
            link: Mutex::new(conn.clone()),
            held: AtomicUsize::new(0),
            keeper: OnceLock::new(),
            delivered,
            metrics: JournalMetrics::default(),
        });
        let writer = Writer::new(
            inner.clone(),
            queue,
            feed.clone(),
            file,
            conn,
            &stop,
            &tasks,
        );
        tasks.spawn(writer.run());
        if serving {
            match target {
                Some(target) => {
                    for shard in 0..inner.keys.shards() {
                        let tail = super::tail::run(
                            inner.clone(),
                            target.clone(),
                            shard,
                            feed.clone(),
                            stop.clone(),
                        );
                        tasks.spawn(tail);
                    }
                }
                None => tracing::info!("no Redis: journal and fan-out run in-process"),
            }
        }
        Ok((Self { inner }, feed_rx))
    }

    /// Whether Redis is in use now.
    #[must_use]
    pub fn connected(&self) -> bool {
        self.inner.link.lock().is_ok_and(|link| link.is_some())
    }

    /// Whether a Redis is in use or awaited (configured, or found at start-up).
    #[must_use]
    pub fn uses_redis(&self) -> bool {
        self.inner.target.is_some()
    }

    /// Where accepted batches go now.
    #[must_use]
    pub fn mode(&self) -> JournalMode {
        if self.uses_redis() {
            if self.connected() && self.backlog() == 0 {
                JournalMode::Redis
            } else {
                JournalMode::WriteAhead
            }
        } else if self.inner.keeper.get().is_some() {
            JournalMode::Store
        } else {
            JournalMode::Memory
        }
    }

    /// Without Redis, makes `keeper` (the tick store) the journal: every
    /// batch is committed to it before [`Journal::append`] returns. Does
    /// nothing when Redis is in use (the persister then reads the stream) or
    /// a keeper is already set.
    pub fn keep_in(&self, keeper: Box<dyn Keeper>) {
        if !self.uses_redis() {
            let _ = self.inner.keeper.set(keeper);
        }
    }

    /// Ticks in the write-ahead file, waiting for Redis.
    #[must_use]
    pub fn backlog(&self) -> usize {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// A connection to Redis for other readers and writers, when connected.
    pub async fn connection(&self) -> Option<Link> {
        self.inner.link.lock().ok()?.clone()
    }

    /// Journals a batch, all or nothing, and returns once it is held: in the
    /// Redis stream, in the write-ahead file (fsynced) while Redis is away,
    /// or committed to the tick store without Redis. Once queued, the batch
    /// is written even if the caller goes away.
    ///
    /// # Errors
    ///
    /// [`JournalError::Full`] when the write-ahead file is at its bound;
    /// [`JournalError::Store`] or [`JournalError::WriteAhead`] when the
    /// store or the file cannot take it; [`JournalError::Unreachable`] for
    /// the replay writer without Redis; [`JournalError::Closed`] during
    /// shutdown.
    pub async fn append(&self, ticks: &[Tick]) -> Result<Durability, JournalError> {
        self.submit(ticks, false).await
    }

    /// Journals ticks of an on-demand simulation: in the Redis stream marked
    /// as simulated (the persister acknowledges them without storing them),
    /// or, without Redis, to this process's candles only. Never stored.
    ///
    /// # Errors
    ///
    /// [`JournalError::Closed`] during shutdown.
    pub async fn append_simulated(&self, ticks: &[Tick]) -> Result<Durability, JournalError> {
        self.submit(ticks, true).await
    }

    async fn submit(&self, ticks: &[Tick], simulated: bool) -> Result<Durability, JournalError> {
        if ticks.is_empty() {
            return Ok(match self.mode() {
                JournalMode::Redis => Durability::Redis,
                JournalMode::Store => Durability::Store,
                JournalMode::WriteAhead | JournalMode::Memory => Durability::Local,
            });
        }
        let want = u32::try_from(ticks.len().min(QUEUE_TICKS)).unwrap_or(u32::MAX);
        let room = self
            .inner
            .room
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(|_| JournalError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let request = Request {
            ticks: ticks.to_vec(),
            simulated,
            reply,
            room,
        };
        self.inner
            .requests
            .send(request)
            .await
            .map_err(|_| JournalError::Closed)?;
        answer.await.unwrap_or(Err(JournalError::Closed))
    }

    /// Accepted ticks and their latency to the journal.
    #[must_use]
    pub fn metrics(&self) -> &JournalMetrics {
        &self.inner.metrics
    }

    /// The journal's key names (its shards).
    #[must_use]
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The streams' length and, for consumer `group`, their lag and pending
    /// entries, summed over the shards; `None` when Redis is not connected.
    pub async fn stream_figures(&self, group: &str) -> Option<StreamFigures> {
        let mut conn = self.connection().await?;
        let timeout = self.inner.config.timeout();
        let mut sum = StreamFigures {
            length: 0,
            lag: Some(0),
            pending: Some(0),
        };
        for key in self.inner.keys.journals() {
            let f = crate::redis::stream::figures(&mut conn, &key, group, timeout).await?;
            sum.length += f.length;
            sum.lag = sum.lag.zip(f.lag).map(|(a, b)| a + b);
            sum.pending = sum.pending.zip(f.pending).map(|(a, b)| a + b);
        }
        Some(sum)
    }

    /// Joins a consumer group on every journal stream (the persister's way in).
    ///
    /// # Errors
    ///
    /// When Redis is not configured or not reachable, or refuses.
    pub async fn consumer_group(
        &self,
        group: &str,
        consumer: &str,
    ) -> redis::RedisResult<ConsumerGroup> {
        let Some(target) = &self.inner.target else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "no Redis configured",
            )));
        };
        let conn = target.connect(&self.inner.config).await?;
        ConsumerGroup::join(conn, &self.inner.keys, group, consumer).await
    }

    /// Redis `INFO` figures for `redis_status`, when connected.
    pub async fn redis_info(&self) -> serde_json::Map<String, serde_json::Value> {
        match self.connection().await {
            Some(mut conn) => {
                crate::redis::info::figures(&mut conn, self.inner.config.timeout()).await
            }
            None => serde_json::Map::new(),
        }
    }
}
