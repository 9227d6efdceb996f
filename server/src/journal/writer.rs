//! [`Writer`]: the one task that writes the journal. It owns the Redis
//! connection and the write-ahead file, so no lock is ever held across I/O.
//!
//! Appends wait in a bounded channel; everything waiting when the writer
//! is free forms one group (group commit). Each batch is split by journal
//! shard ([`super::keys::shard_of`]) into parts, numbered in turn. With
//! Redis, one `MULTI`/`EXEC` per shard holding one stream entry per part,
//! the shards written at once; a group is answered only once every shard
//! has it (a shard that failed sends the whole group to the write-ahead
//! file: the shards already written get those ticks again, the same ticks,
//! which candles and store count once). While Redis is away, one `fsync` of
//! the write-ahead file, then delivery to this process's candles; without
//! Redis, one commit to the tick store (a [`Keeper`](super::Keeper)). Each caller is answered
//! through its own oneshot once its batch is held, in journal order.
//!
//! When Redis returns, the file's records go to it in order ([`super::flush`]);
//! new appends go behind them into the file until it is empty.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::future::join_all;
use shared::Tick;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::commands::{self, Batch};
use super::inner::{Request, Shared};
use super::parts::{Numbered, Part, split};
use super::types::{Durability, JournalError, Journaled};
use super::wal::{self, Wal};
use crate::clock::now_millis;
use crate::redis::Link;

/// Ticks written in one group at most.
const GROUP_TICKS: usize = 50_000;
/// The longest pause between reconnection attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// The writer task's state.
pub(super) struct Writer {
    pub(super) shared: Arc<Shared>,
    requests: mpsc::Receiver<Request>,
    feed: mpsc::Sender<Journaled>,
    pub(super) wal: Option<Wal>,
    pub(super) conn: Option<Link>,
    /// Whether the file's flushed positions in Redis were read (they may
    /// name records a previous process wrote to Redis and did not yet
    /// forget).
    pub(super) checked_marker: bool,
    /// Per shard, the last write-ahead record already in that shard's
    /// stream (its flushed position): records up to it are not written to
    /// it again.
    pub(super) flushed: Vec<u64>,
    next_oseq: u64,
    reconnected: mpsc::Receiver<Link>,
    reconnect: mpsc::Sender<Link>,
    reconnecting: bool,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Writer {
    /// A writer over `wal` (when Redis is configured) and `conn` (when Redis
    /// answered at start-up).
    pub(super) fn new(
        shared: Arc<Shared>,
        requests: mpsc::Receiver<Request>,
        feed: mpsc::Sender<Journaled>,
        wal: Option<Wal>,
        conn: Option<Link>,
        stop: &CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let (reconnect, reconnected) = mpsc::channel(1);
        let next_oseq = 1 + wal.as_ref().map_or(0, |w| w.held_ticks() as u64);
        let flushed = vec![0; usize::from(shared.keys.shards())];
        Self {
            flushed,
            shared,
            requests,
            feed,
            wal,
            conn,
            checked_marker: false,
            next_oseq,
            reconnected,
            reconnect,
            reconnecting: false,
            stop: stop.clone(),
            tasks: tasks.clone(),
        }
    }

    /// Runs until shutdown: then answers what was queued and returns.
    pub(super) async fn run(mut self) {
        self.start().await;
        let mut closing = false;
        loop {
            let flushing = self.conn.is_some() && self.wal.as_ref().is_some_and(|w| !w.is_empty());
            if flushing && !closing {
                self.flush_some().await;
            }
            let first = if flushing && !closing {
                match self.requests.try_recv() {
                    Ok(r) => r,
                    Err(TryRecvError::Empty) => continue,
                    Err(TryRecvError::Disconnected) => break,
                }
            } else {
                tokio::select! {
                    biased;
                    () = self.stop.cancelled(), if !closing => {
                        closing = true;
                        self.requests.close();
                        continue;
                    }
                    Some(conn) = self.reconnected.recv() => {
                        self.adopt(conn).await;
                        continue;
                    }
                    r = self.requests.recv() => match r {
                        Some(r) => r,
                        None => break,
                    },
                }
            };
            let group = self.gather(first);
            self.write(group).await;
        }
    }

    /// Takes more waiting requests into the group, up to [`GROUP_TICKS`].
    fn gather(&mut self, first: Request) -> Vec<Numbered> {
        let mut total = first.ticks.len();
        let mut group = vec![first];
        while total < GROUP_TICKS {
            match self.requests.try_recv() {
                Ok(r) => {
                    total += r.ticks.len();
                    group.push(r);
                }
                Err(_) => break,
            }
        }
        group
            .into_iter()
            .map(|request| {
                let Request {
                    ticks,
                    simulated,
                    reply,
                    room,
                } = request;
                let parts = split(&self.shared.keys, ticks)
                    .into_iter()
                    .map(|(shard, ticks)| {
                        let first_oseq = self.next_oseq;
                        self.next_oseq += ticks.len() as u64;
                        Part {
                            shard,
                            first_oseq,
                            ticks,
                        }
                    })
                    .collect();
                Numbered {
                    parts,
                    simulated,
                    reply,
                    room,
                }
            })
            .collect()
    }

    async fn write(&mut self, group: Vec<Numbered>) {
        let flushing = self.wal.as_ref().is_some_and(|w| !w.is_empty());
        if let (Some(conn), false) = (&self.conn, flushing) {
            let batches: Vec<Batch<'_>> = group
                .iter()
                .flat_map(|n| {
                    n.parts.iter().map(|p| Batch {
                        shard: p.shard,
                        first_oseq: p.first_oseq,
                        ticks: &p.ticks,
                        simulated: n.simulated,
                    })
                })
                .collect();
            let pipes = journal_pipes(&self.shared, &batches);
            let failed = write_all(&self.shared, conn, &pipes)
                .await
                .into_iter()
                .find_map(Result::err);
            match failed {
                None => {
                    let now = now_millis();
                    for n in group {
                        for part in &n.parts {
                            self.shared.metrics.journaled(&part.ticks, now);
                        }
                        n.answer(Ok(Durability::Redis));
                    }
                    return;
                }
                Some(e) => {
                    tracing::warn!("Redis write failed ({e}); journaling to the write-ahead file");
                }
            }
            self.lost_redis();
        }
        if self.shared.target.is_some() {
            self.keep_in_file(group).await;
        } else {
            self.keep_in_store(group).await;
        }
    }

    /// Appends the group's real parts to the write-ahead file with one
    /// `fsync` (a record per part), then delivers every batch to this
    /// process's candles.
    async fn keep_in_file(&mut self, group: Vec<Numbered>) {
        let Some(wal) = &mut self.wal else {
            for n in group {
                n.answer(Err(JournalError::Unreachable));
            }
            return;
        };
        let mut records = Vec::new();
        let mut kept = Vec::new();
        let mut more = 0;
        for n in group {
            if n.simulated {
                kept.push(n);
                continue;
            }
            let own: Vec<_> = n.parts.iter().map(|p| wal::encode(&p.ticks)).collect();
            let size: u64 = own.iter().map(|r| r.len() as u64).sum();
            if !wal.fits(more + size) {
                n.answer(Err(JournalError::Full));
                continue;
            }
            more += size;
            for (record, part) in own.into_iter().zip(&n.parts) {
                records.push((record, part.ticks.len(), part.first_oseq));
            }
            kept.push(n);
        }
        if !records.is_empty()
            && let Err(e) = wal.append(&records)
        {
            tracing::error!(file = %wal.path().display(), "the write-ahead file cannot be written: {e}");
            for n in kept {
                let outcome = if n.simulated {
                    Ok(Durability::Local)
                } else {
                    Err(JournalError::WriteAhead(e.to_string()))
                };
                n.answer(outcome);
            }
            return;
        }
        self.publish_held();
        for n in kept {
            for part in &n.parts {
                if !n.simulated {
                    let last = part.first_oseq + part.ticks.len() as u64 - 1;
                    self.shared.delivered(part.shard).insert(
                        self.shared.origin,
                        part.first_oseq,
                        last,
                    );
                }
                self.shared.metrics.journaled(&part.ticks, now_millis());
            }
            let ticks = n.ticks().copied().collect();
            self.deliver(ticks, n.simulated).await;
            n.answer(Ok(Durability::Local));
        }
    }

    /// Without Redis: commits the group's real ticks to the store (the
    /// journal) at once, or keeps nothing (no store), then delivers.
    async fn keep_in_store(&mut self, group: Vec<Numbered>) {
        let real: Vec<Tick> = group
            .iter()
            .filter(|n| !n.simulated)
            .flat_map(|n| n.ticks().copied())
            .collect();
        let mut kept = Durability::Local;
        if let Some(keeper) = self.shared.keeper.get()
            && !real.is_empty()
        {
            if let Err(e) = keeper.keep(&real).await {
                for n in group {
                    let outcome = if n.simulated {
                        Ok(Durability::Local)
                    } else {
                        Err(JournalError::Store(e.clone()))
                    };
                    n.answer(outcome);
                }
                return;
            }
            kept = Durability::Store;
        }
        for n in group {
            let ticks: Vec<Tick> = n.ticks().copied().collect();
            self.shared.metrics.journaled(&ticks, now_millis());
            self.deliver(ticks, n.simulated).await;
            let durability = if n.simulated { Durability::Local } else { kept };
            n.answer(Ok(durability));
        }
    }

    pub(super) async fn deliver(&self, ticks: Vec<Tick>, simulated: bool) {
        let batch = Journaled {
            at_ms: now_millis(),
            ticks,
            simulated,
        };
        // The candle builder is gone only at shutdown; the batch is kept.
        let _ = self.feed.send(batch).await;
    }

    pub(super) fn publish_held(&self) {
        let held = self.wal.as_ref().map_or(0, Wal::held_ticks);
        self.shared.held.store(held, Ordering::Relaxed);
    }

    /// Takes a connection the reconnection task made, once the shard count
    /// recorded there (recorded again if the Redis lost it) is this
    /// process's; else stays on the write-ahead file and tries again later.
    async fn adopt(&mut self, mut conn: Link) {
        self.reconnecting = false;
        let (keys, timeout) = (&self.shared.keys, self.shared.config.timeout());
        if let Err(e) = super::shards::adopt(&mut conn, keys, timeout).await {
            tracing::error!("Redis is back but not usable: {e}");
            self.lost_redis();
            return;
        }
        self.conn = Some(conn.clone());
        self.shared.set_link(Some(conn));
        tracing::info!("Redis is back");
        self.check_marker().await;
    }

    /// Drops the connection and starts reconnecting with exponential backoff.
    pub(super) fn lost_redis(&mut self) {
        self.conn = None;
        self.shared.set_link(None);
        if self.reconnecting {
            return;
        }
        let Some(target) = self.shared.target.clone() else {
            return;
        };
        self.reconnecting = true;
        let (config, found, stop) = (
            self.shared.config.clone(),
            self.reconnect.clone(),
            self.stop.clone(),
        );
        self.tasks.spawn(async move {
            let mut delay = Duration::from_secs(config.redis_retry_delay);
            let mut attempt: u32 = 0;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                attempt += 1;
                if attempt > config.redis_retry_attempts {
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                match target.connect(&config).await {
                    Ok(conn) => {
                        let _ = found.send(conn).await;
                        return;
                    }
                    Err(e) => tracing::debug!("Redis reconnect attempt {attempt} failed: {e}"),
                }
            }
        });
    }
}

/// The `MULTI`/`EXEC`s (one per shard) journaling `batches` under this
/// process's origin.
pub(super) fn journal_pipes(shared: &Shared, batches: &[Batch<'_>]) -> Vec<(u16, redis::Pipeline)> {
    commands::pipelines(
        &shared.keys,
        shared.origin,
        shared.config.redis_max_tick_buffer_size,
        shared.keys.tagged(),
        batches,
    )
}

/// Runs the shards' pipelines at once, each within the socket timeout;
/// per pipeline, in order, whether it was written (or why not).
pub(super) async fn write_all(
    shared: &Shared,
    conn: &Link,
    pipes: &[(u16, redis::Pipeline)],
) -> Vec<Result<(), String>> {
    let timeout = shared.config.timeout();
    join_all(pipes.iter().map(|(_, pipe)| {
        let mut conn = conn.clone();
        async move {
            match tokio::time::timeout(timeout, pipe.query_async::<()>(&mut conn)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out".to_owned()),
            }
        }
    }))
    .await
}
