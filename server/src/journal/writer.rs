//! [`Writer`]: the one task that writes the journal. It owns the Redis
//! connection and the write-ahead file, so no lock is ever held across I/O.
//!
//! Appends wait in a bounded channel; everything waiting when the writer
//! is free forms one group (group commit): with Redis, one `MULTI`/`EXEC`
//! holding one stream entry per batch; while Redis is away, one `fsync` of
//! the write-ahead file, then delivery to this process's candles; without
//! Redis, one commit to the tick store (a [`Keeper`](super::Keeper)). Each caller is answered
//! through its own oneshot once its batch is held, in journal order.
//!
//! When Redis returns, the file's records go to it in order, a chunk per
//! `MULTI`/`EXEC` that also sets the file's flushed position in Redis, so a
//! crash between `EXEC` and emptying the file never writes a record twice;
//! new appends go behind them into the file until it is empty.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use shared::Tick;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::commands::{self, Batch};
use super::inner::{Request, Shared};
use super::types::{Durability, JournalError, Journaled};
use super::wal::{self, Wal};
use crate::clock::now_millis;

/// Ticks written in one group at most.
const GROUP_TICKS: usize = 50_000;
/// Ticks of write-ahead records written to Redis per `MULTI`/`EXEC`.
const FLUSH_TICKS: usize = 50_000;
/// The longest pause between reconnection attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Seconds a flushed-position key lives; it matters only until the file is
/// emptied, moments after the last flush.
const MARKER_TTL_SECS: u64 = 7 * 86_400;

/// A request with its append numbers.
struct Numbered {
    first_oseq: u64,
    request: Request,
}

impl Numbered {
    fn answer(self, outcome: Result<Durability, JournalError>) {
        let Request { reply, room, .. } = self.request;
        let _ = reply.send(outcome);
        drop(room);
    }
}

/// The writer task's state.
pub(super) struct Writer {
    shared: Arc<Shared>,
    requests: mpsc::Receiver<Request>,
    feed: mpsc::Sender<Journaled>,
    wal: Option<Wal>,
    conn: Option<MultiplexedConnection>,
    /// Whether the file's flushed position in Redis was read (it may hold
    /// records a previous process wrote to Redis and did not yet forget).
    checked_marker: bool,
    next_oseq: u64,
    reconnected: mpsc::Receiver<MultiplexedConnection>,
    reconnect: mpsc::Sender<MultiplexedConnection>,
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
        conn: Option<MultiplexedConnection>,
        stop: &CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let (reconnect, reconnected) = mpsc::channel(1);
        let next_oseq = 1 + wal.as_ref().map_or(0, |w| w.held_ticks() as u64);
        Self {
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

    /// A non-empty write-ahead file at start-up: forgets what a previous
    /// process already wrote to Redis, delivers the rest to this process's
    /// candles (it is flushed to Redis next), or starts reconnecting.
    async fn start(&mut self) {
        if self.conn.is_some() {
            self.check_marker().await;
        } else if self.wal.is_some() {
            self.lost_redis();
        }
        let Some(wal) = &self.wal else { return };
        if wal.is_empty() {
            return;
        }
        tracing::info!(
            file = %wal.path().display(),
            ticks = wal.held_ticks(),
            "the write-ahead file holds accepted ticks not yet in Redis: delivering them, then writing them to Redis"
        );
        let mut after = 0;
        loop {
            let Some(wal) = &self.wal else { return };
            let records = match wal.read(after, FLUSH_TICKS) {
                Ok(r) if !r.is_empty() => r,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!("the write-ahead file cannot be read: {e}");
                    break;
                }
            };
            for (held, ticks) in records {
                after = held.number;
                let last = held.first_oseq + ticks.len() as u64 - 1;
                self.shared
                    .delivered
                    .insert(self.shared.origin, held.first_oseq, last);
                self.deliver(ticks, false).await;
            }
        }
        self.publish_held();
    }

    /// Reads the file's flushed position in Redis and forgets those records.
    async fn check_marker(&mut self) {
        let (Some(wal), Some(conn)) = (&mut self.wal, &mut self.conn) else {
            return;
        };
        if self.checked_marker || wal.is_empty() {
            self.checked_marker = true;
            return;
        }
        let key = self.shared.keys.write_ahead(wal.id());
        let got = tokio::time::timeout(
            self.shared.config.timeout(),
            redis::cmd("GET").arg(&key).query_async::<Option<u64>>(conn),
        )
        .await;
        match got {
            Ok(Ok(flushed)) => {
                self.checked_marker = true;
                if let Some(n) = flushed {
                    tracing::info!(
                        records = n,
                        "write-ahead records already in Redis are skipped"
                    );
                    if let Err(e) = wal.flushed(n) {
                        tracing::error!("{e}");
                    }
                }
            }
            _ => tracing::warn!("the write-ahead file's flushed position could not be read"),
        }
        self.publish_held();
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
                let first_oseq = self.next_oseq;
                self.next_oseq += request.ticks.len() as u64;
                Numbered {
                    first_oseq,
                    request,
                }
            })
            .collect()
    }

    async fn write(&mut self, group: Vec<Numbered>) {
        let flushing = self.wal.as_ref().is_some_and(|w| !w.is_empty());
        if let (Some(conn), false) = (&mut self.conn, flushing) {
            let batches: Vec<Batch<'_>> = group
                .iter()
                .map(|n| Batch {
                    first_oseq: n.first_oseq,
                    ticks: &n.request.ticks,
                    simulated: n.request.simulated,
                })
                .collect();
            let pipe = journal_pipe(&self.shared, &batches);
            let written =
                tokio::time::timeout(self.shared.config.timeout(), pipe.query_async::<()>(conn))
                    .await;
            match written {
                Ok(Ok(())) => {
                    let now = now_millis();
                    for n in group {
                        self.shared.metrics.journaled(&n.request.ticks, now);
                        n.answer(Ok(Durability::Redis));
                    }
                    return;
                }
                Ok(Err(e)) => {
                    tracing::warn!("Redis write failed ({e}); journaling to the write-ahead file")
                }
                Err(_) => {
                    tracing::warn!("Redis write timed out; journaling to the write-ahead file")
                }
            }
            self.lost_redis();
        }
        if self.shared.client.is_some() {
            self.keep_in_file(group).await;
        } else {
            self.keep_in_store(group).await;
        }
    }

    /// Appends the group's real batches to the write-ahead file with one
    /// `fsync`, then delivers every batch to this process's candles.
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
            if n.request.simulated {
                kept.push(n);
                continue;
            }
            let record = wal::encode(&n.request.ticks);
            if !wal.fits(more + record.len() as u64) {
                n.answer(Err(JournalError::Full));
                continue;
            }
            more += record.len() as u64;
            records.push((record, n.request.ticks.len(), n.first_oseq));
            kept.push(n);
        }
        if !records.is_empty()
            && let Err(e) = wal.append(&records)
        {
            tracing::error!(file = %wal.path().display(), "the write-ahead file cannot be written: {e}");
            for n in kept {
                let outcome = if n.request.simulated {
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
            let ticks = &n.request.ticks;
            if !n.request.simulated {
                let last = n.first_oseq + ticks.len() as u64 - 1;
                self.shared
                    .delivered
                    .insert(self.shared.origin, n.first_oseq, last);
            }
            self.shared.metrics.journaled(ticks, now_millis());
            self.deliver(ticks.clone(), n.request.simulated).await;
            n.answer(Ok(Durability::Local));
        }
    }

    /// Without Redis: commits the group's real ticks to the store (the
    /// journal) at once, or keeps nothing (no store), then delivers.
    async fn keep_in_store(&mut self, group: Vec<Numbered>) {
        let real: Vec<Tick> = group
            .iter()
            .filter(|n| !n.request.simulated)
            .flat_map(|n| n.request.ticks.iter().copied())
            .collect();
        let mut kept = Durability::Local;
        if let Some(keeper) = self.shared.keeper.get()
            && !real.is_empty()
        {
            if let Err(e) = keeper.keep(&real).await {
                for n in group {
                    let outcome = if n.request.simulated {
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
            self.shared
                .metrics
                .journaled(&n.request.ticks, now_millis());
            self.deliver(n.request.ticks.clone(), n.request.simulated)
                .await;
            let durability = if n.request.simulated {
                Durability::Local
            } else {
                kept
            };
            n.answer(Ok(durability));
        }
    }

    /// Writes the oldest records of the file to Redis in one `MULTI`/`EXEC`
    /// with the file's flushed position; empties the file once all are in.
    async fn flush_some(&mut self) {
        self.check_marker().await;
        let (Some(wal), Some(conn)) = (&mut self.wal, &mut self.conn) else {
            return;
        };
        if wal.is_empty() {
            return;
        }
        let records = match wal.read(0, FLUSH_TICKS) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("the write-ahead file cannot be read: {e}");
                self.lost_redis();
                return;
            }
        };
        let Some((last, _)) = records.last() else {
            return;
        };
        let last = last.number;
        let batches: Vec<Batch<'_>> = records
            .iter()
            .map(|(held, ticks)| Batch {
                first_oseq: held.first_oseq,
                ticks,
                simulated: false,
            })
            .collect();
        let mut pipe = journal_pipe(&self.shared, &batches);
        pipe.cmd("SET")
            .arg(self.shared.keys.write_ahead(wal.id()))
            .arg(last)
            .arg("EX")
            .arg(MARKER_TTL_SECS)
            .ignore();
        let written =
            tokio::time::timeout(self.shared.config.timeout(), pipe.query_async::<()>(conn)).await;
        match written {
            Ok(Ok(())) => {
                if let Err(e) = wal.flushed(last) {
                    tracing::error!("{e}");
                }
                if wal.is_empty() {
                    tracing::info!("the write-ahead file is in Redis; journaling to Redis again");
                }
                self.publish_held();
            }
            Ok(Err(e)) => {
                tracing::warn!("writing the write-ahead file to Redis failed: {e}");
                self.lost_redis();
            }
            Err(_) => {
                tracing::warn!("writing the write-ahead file to Redis timed out");
                self.lost_redis();
            }
        }
    }

    async fn deliver(&self, ticks: Vec<Tick>, simulated: bool) {
        let batch = Journaled {
            at_ms: now_millis(),
            ticks,
            simulated,
        };
        // The candle builder is gone only at shutdown; the batch is kept.
        let _ = self.feed.send(batch).await;
    }

    fn publish_held(&self) {
        let held = self.wal.as_ref().map_or(0, Wal::held_ticks);
        self.shared.held.store(held, Ordering::Relaxed);
    }

    /// Takes a connection the reconnection task made.
    async fn adopt(&mut self, conn: MultiplexedConnection) {
        self.reconnecting = false;
        self.conn = Some(conn.clone());
        self.shared.set_link(Some(conn));
        tracing::info!("Redis is back");
        self.check_marker().await;
    }

    /// Drops the connection and starts reconnecting with exponential backoff.
    fn lost_redis(&mut self) {
        self.conn = None;
        self.shared.set_link(None);
        if self.reconnecting {
            return;
        }
        let Some(client) = self.shared.client.clone() else {
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
                match crate::redis::connect(&client, &config).await {
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

/// The `MULTI`/`EXEC` journaling `batches` under this process's origin.
fn journal_pipe(shared: &Shared, batches: &[Batch<'_>]) -> redis::Pipeline {
    commands::pipeline(
        &shared.keys,
        shared.origin,
        shared.config.redis_max_tick_buffer_size,
        batches,
    )
}
