//! The ingest stream: producers journal ticks through Redis, as in the
//! original design, by `XADD {prefix}ingest * asset A price P timestamp MS`
//! (one tick) or `XADD {prefix}ingest * ticks JSON` (a JSON array, the body of
//! `POST /api/ticks`).
//!
//! Every process on the Redis reads the stream through the consumer group
//! `tickstream`, so each entry is taken by one of them; the group is
//! made once a producer has made the stream (the server makes no key of its
//! own). An entry is checked exactly as `POST /api/ticks` checks a request
//! (`decode`), all or nothing; its ticks are journaled through
//! [`Journal::append`] (the entries of one read packed whole into batches of
//! at most `MAX_INGEST_TICKS`); only then is it acknowledged and deleted from
//! the stream (`settle`). A refused entry is recorded, with the reason, in
//! the bounded stream `{prefix}ingest:rejected`, acknowledged and deleted;
//! nothing of it is kept. An entry left unacknowledged by a process that
//! stopped is claimed by another after `REDIS_INGEST_CLAIM_IDLE`; journaled
//! twice (a process stopped between journaling and acknowledging), its ticks
//! are the same ticks, which the candles and the store count once.
//!
//! Bounded: [`READ_COUNT`] entries a read, an entry over `MAX_INGEST_BYTES`
//! is measured in Redis and never read whole (`read`). While Redis is away
//! the bridge waits, doubling its pause up to [`MAX_RETRY`]; without Redis it
//! does not run.
//!
//! # Layout
//!
//! - `read`: taking entries (new, own pending, claimed), in one script.
//! - `decode`: an entry to ticks, or the reason it is refused.
//! - `settle`: acknowledging, deleting, recording refusals.
//! - `group`: the consumer group and this process's consumer.

mod decode;
mod group;
mod read;
mod settle;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use shared::Tick;
use tokio_util::sync::CancellationToken;

use crate::clock::now_millis;
use crate::config::ServeConfig;
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::redis::{Link, Target};
use decode::{Limits, decode};
use read::{RawEntry, Reader, Take};
use settle::{Outlet, Refusal};

/// Entries taken per read, at most.
pub const READ_COUNT: usize = 100;
/// The pause after a read that found nothing new.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// The pause between looks for a stream no producer has made yet.
const ABSENT_POLL: Duration = Duration::from_millis(500);
/// The first pause after a Redis or journal error; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest pause between attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(10);
/// Bytes of a refusal's reason kept (a reason may quote the entry).
const REASON_BYTES: usize = 1024;

/// The bridge from the ingest stream to the journal.
pub struct Bridge {
    target: Target,
    config: crate::config::RedisConfig,
    journal: Journal,
    metrics: Metrics,
    reader: Reader,
    outlet: Outlet,
    limits: Limits,
    claim_idle: Duration,
}

impl Bridge {
    /// The bridge for `config`, or `None` when it is switched off
    /// (`REDIS_INGEST_STREAM=false`) or there is no Redis.
    #[must_use]
    pub fn new(config: &ServeConfig, journal: Journal, metrics: Metrics) -> Option<Self> {
        if !journal.uses_redis() {
            return None;
        }
        if !config.redis.redis_ingest_stream {
            tracing::info!("the ingest stream is switched off (REDIS_INGEST_STREAM=false)");
            return None;
        }
        let target = Target::from_config(&config.redis).ok()??;
        let keys = journal.keys().clone();
        let limits = &config.limits;
        Some(Self {
            target,
            config: config.redis.clone(),
            journal,
            metrics,
            reader: Reader {
                stream: keys.ingest(),
                group: group::GROUP.to_owned(),
                consumer: group::consumer_name(),
                count: READ_COUNT,
                max_bytes: limits.max_ingest_bytes,
            },
            outlet: Outlet {
                stream: keys.ingest(),
                group: group::GROUP.to_owned(),
                rejected: keys.ingest_rejected(),
            },
            limits: Limits {
                max_bytes: limits.max_ingest_bytes,
                max_ticks: limits.max_ingest_ticks,
                max_skew_ms: limits.max_future_skew_ms,
            },
            claim_idle: Duration::from_secs(config.redis.redis_ingest_claim_idle),
        })
    }

    /// Reads the ingest stream until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut delay = FIRST_RETRY;
        tracing::info!(
            stream = %self.reader.stream,
            consumer = %self.reader.consumer,
            "producers may XADD ticks to the ingest stream"
        );
        while !stop.is_cancelled() {
            if let Err(e) = self.serve(&stop, &mut delay).await {
                tracing::warn!(
                    "ingest stream: {e}; trying again in {:.1} s",
                    delay.as_secs_f64()
                );
                if !pause(&stop, delay).await {
                    return;
                }
                delay = (delay * 2).min(MAX_RETRY);
            }
        }
    }

    /// Connects, then, once a producer made the stream, joins the group and
    /// reads it; again when the stream is deleted. Until `stop` or a Redis
    /// error.
    async fn serve(
        &self,
        stop: &CancellationToken,
        delay: &mut Duration,
    ) -> redis::RedisResult<()> {
        let mut conn = self.target.connect(&self.config).await?;
        while !stop.is_cancelled() {
            if !group::join(&mut conn, &self.reader.stream).await? {
                *delay = FIRST_RETRY;
                pause(stop, ABSENT_POLL).await;
                continue;
            }
            match self.read(&mut conn, stop, delay).await {
                Err(e) if e.code() == Some("NOGROUP") => {
                    tracing::info!(
                        "the ingest stream was deleted; waiting for a producer to make it again"
                    );
                }
                other => return other,
            }
        }
        Ok(())
    }

    /// Takes this consumer's own pending entries (left by a lost
    /// connection), new ones, and now and then stale ones of other
    /// consumers, until `stop` or a Redis error.
    async fn read(
        &self,
        conn: &mut Link,
        stop: &CancellationToken,
        delay: &mut Duration,
    ) -> redis::RedisResult<()> {
        let idle_ms = u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX);
        let mut what = Take::Mine;
        let mut last_claim = Instant::now();
        while !stop.is_cancelled() {
            if matches!(what, Take::New) && last_claim.elapsed() >= self.claim_idle / 2 {
                last_claim = Instant::now();
                what = Take::Stale(idle_ms);
            }
            let taken = read::take(conn, &self.reader, what).await?;
            let full = taken.len() >= self.reader.count;
            let found = !taken.is_empty();
            self.handle(conn, taken, stop).await?;
            *delay = FIRST_RETRY;
            what = match what {
                Take::Mine | Take::Stale(_) if full => what,
                _ => Take::New,
            };
            if !found && matches!(what, Take::New) && !pause(stop, IDLE_POLL).await {
                break;
            }
        }
        Ok(())
    }

    /// Checks, journals and settles the entries of one read.
    async fn handle(
        &self,
        conn: &mut Link,
        taken: Vec<(String, Option<RawEntry>)>,
        stop: &CancellationToken,
    ) -> redis::RedisResult<()> {
        if taken.is_empty() {
            return Ok(());
        }
        let now = now_millis();
        let (mut done, mut refused, mut batches) = (Vec::new(), Vec::new(), Vec::new());
        for (id, entry) in taken {
            match entry {
                // Deleted while pending: only its acknowledgement is left.
                None => done.push(id),
                Some(entry) => match decode(&entry, &self.limits, now) {
                    Ok(ticks) => batches.push((id, ticks)),
                    Err(reason) => refused.push(Refusal {
                        reason: bounded(reason),
                        entry,
                    }),
                },
            }
        }
        let mut accepted = 0;
        let packs = pack(batches, self.limits.max_ticks);
        let answers = join_all(packs.iter().map(|(_, ticks)| self.journal.append(ticks))).await;
        for ((ids, ticks), answer) in packs.into_iter().zip(answers) {
            if answer.is_ok() || self.append_again(&ticks, stop).await {
                accepted += ids.len();
                done.extend(ids);
            }
        }
        settle::settle(conn, &self.outlet, &done, &refused).await?;
        for r in &refused {
            tracing::debug!(entry = %r.entry.id, reason = %r.reason, "ingest stream entry refused");
        }
        self.metrics.stream_entries(accepted, refused.len());
        Ok(())
    }

    /// Journals `ticks` again until it works; `false` on shutdown (the
    /// entry stays pending, for another process or the next start).
    async fn append_again(&self, ticks: &[Tick], stop: &CancellationToken) -> bool {
        let mut delay = FIRST_RETRY;
        loop {
            if !pause(stop, delay).await {
                return false;
            }
            match self.journal.append(ticks).await {
                Ok(_) => return true,
                Err(e) => tracing::warn!(
                    "ingest stream: the journal refuses an entry ({e}); trying again in {:.1} s",
                    delay.as_secs_f64()
                ),
            }
            delay = (delay * 2).min(MAX_RETRY);
        }
    }
}

/// Entries' ticks packed into journal batches of at most `max_ticks` (an
/// entry holds at most that many), each entry whole in one batch: journaled
/// all or nothing, a batch journals each of its entries all or nothing.
fn pack(entries: Vec<(String, Vec<Tick>)>, max_ticks: usize) -> Vec<(Vec<String>, Vec<Tick>)> {
    let mut packs: Vec<(Vec<String>, Vec<Tick>)> = Vec::new();
    for (id, ticks) in entries {
        match packs.last_mut() {
            Some((ids, batch)) if batch.len() + ticks.len() <= max_ticks => {
                ids.push(id);
                batch.extend(ticks);
            }
            _ => packs.push((vec![id], ticks)),
        }
    }
    packs
}

/// Waits `delay`; `false` when `stop` comes first.
async fn pause(stop: &CancellationToken, delay: Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

/// `reason` cut to [`REASON_BYTES`] at a character boundary.
fn bounded(mut reason: String) -> String {
    if reason.len() > REASON_BYTES {
        let mut end = REASON_BYTES;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push('…');
    }
    reason
}

#[cfg(test)]
mod tests {
    use shared::{Asset, Price, Tick, TimestampMs};

    fn ticks(n: usize) -> Vec<Tick> {
        let t = Tick::new(
            Asset::new("A"),
            Price::new("1"),
            TimestampMs::new(1_705_314_600_000),
        );
        vec![t; n]
    }

    #[test]
    fn entries_are_packed_whole_up_to_the_batch_limit() {
        let entries = vec![
            ("1".to_owned(), ticks(2)),
            ("2".to_owned(), ticks(1)),
            ("3".to_owned(), ticks(3)),
            ("4".to_owned(), ticks(1)),
        ];
        let packs = super::pack(entries, 3);
        let shape: Vec<(Vec<&str>, usize)> = packs
            .iter()
            .map(|(ids, t)| (ids.iter().map(String::as_str).collect(), t.len()))
            .collect();
        assert_eq!(shape, [(vec!["1", "2"], 3), (vec!["3"], 3), (vec!["4"], 1)]);
    }
}
