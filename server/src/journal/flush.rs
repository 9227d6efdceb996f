//! The write-ahead file into Redis, for the [`Writer`]: at start-up (what a
//! previous process left) and when Redis returns. Records go to their
//! shard's stream in order, a chunk at a time: per shard one
//! `MULTI`/`EXEC` that also sets the file's flushed position for that
//! shard (`wal:{file id}`, or `wal:{shard}:{file id}` with shards), so a
//! crash between `EXEC` and emptying the file never writes a record twice
//! to a stream, even when only some shards took a chunk.

use super::commands::Batch;
use super::writer::{Writer, journal_pipes, write_all};

/// Ticks of write-ahead records written to Redis per chunk.
const FLUSH_TICKS: usize = 50_000;
/// Seconds a flushed-position key lives; it matters only until the file is
/// emptied, moments after the last flush.
const MARKER_TTL_SECS: u64 = 7 * 86_400;

impl Writer {
    /// A non-empty write-ahead file at start-up: forgets what a previous
    /// process already wrote to Redis, delivers the rest to this process's
    /// candles (it is flushed to Redis next), or starts reconnecting.
    pub(super) async fn start(&mut self) {
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
                let Some(first) = ticks.first() else { continue };
                let last = held.first_oseq + ticks.len() as u64 - 1;
                self.shared
                    .delivered(self.shared.keys.shard(first.asset))
                    .insert(self.shared.origin, held.first_oseq, last);
                self.deliver(ticks, false).await;
            }
        }
        self.publish_held();
    }

    /// Reads the file's flushed positions in Redis (one per shard) and
    /// forgets the records every shard holds.
    pub(super) async fn check_marker(&mut self) {
        let (Some(wal), Some(conn)) = (&mut self.wal, &mut self.conn) else {
            return;
        };
        if self.checked_marker || wal.is_empty() {
            self.checked_marker = true;
            return;
        }
        let mut found = Vec::with_capacity(self.flushed.len());
        for shard in 0..self.shared.keys.shards() {
            let key = self.shared.keys.write_ahead(shard, wal.id());
            let got = tokio::time::timeout(
                self.shared.config.timeout(),
                redis::cmd("GET").arg(&key).query_async::<Option<u64>>(conn),
            )
            .await;
            match got {
                Ok(Ok(flushed)) => found.push(flushed.unwrap_or(0)),
                _ => {
                    tracing::warn!("the write-ahead file's flushed position could not be read");
                    return;
                }
            }
        }
        self.checked_marker = true;
        self.flushed = found;
        let everywhere = self.flushed.iter().copied().min().unwrap_or(0);
        if everywhere > 0 {
            tracing::info!(
                records = everywhere,
                "write-ahead records already in Redis are skipped"
            );
            if let Err(e) = wal.flushed(everywhere) {
                tracing::error!("{e}");
            }
        }
        self.publish_held();
    }

    /// Writes the oldest records of the file to their shards' streams (one
    /// `MULTI`/`EXEC` per shard with its flushed position); empties the file
    /// once all are in.
    pub(super) async fn flush_some(&mut self) {
        self.check_marker().await;
        let (Some(wal), Some(conn)) = (&mut self.wal, &self.conn) else {
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
        let keys = &self.shared.keys;
        let batches: Vec<Batch<'_>> = records
            .iter()
            .filter_map(|(held, ticks)| {
                let shard = keys.shard(ticks.first()?.asset);
                (held.number > self.flushed[usize::from(shard)]).then_some(Batch {
                    shard,
                    first_oseq: held.first_oseq,
                    ticks,
                    simulated: false,
                })
            })
            .collect();
        let mut pipes = journal_pipes(&self.shared, &batches);
        for (shard, pipe) in &mut pipes {
            pipe.cmd("SET")
                .arg(keys.write_ahead(*shard, wal.id()))
                .arg(last)
                .arg("EX")
                .arg(MARKER_TTL_SECS)
                .ignore();
        }
        let written = write_all(&self.shared, conn, &pipes).await;
        let mut failure = None;
        for ((shard, _), outcome) in pipes.iter().zip(written) {
            match outcome {
                Ok(()) => self.flushed[usize::from(*shard)] = last,
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            tracing::warn!("writing the write-ahead file to Redis failed: {e}");
            self.lost_redis();
            return;
        }
        if let Err(e) = wal.flushed(last) {
            tracing::error!("{e}");
        }
        if wal.is_empty() {
            self.flushed.fill(0);
            tracing::info!("the write-ahead file is in Redis; journaling to Redis again");
        }
        self.publish_held();
    }
}
