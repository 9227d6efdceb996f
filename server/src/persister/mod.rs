//! The persister (the original design's batch processor): reads the journal
//! through the Redis consumer group `persister`, writes batches to the tick
//! store (PostgreSQL, or the embedded SQLite file), and acknowledges entries only after the commit.
//!
//! - A batch is written every `REDIS_BATCH_PROCESSING_INTERVAL` seconds, as
//!   soon as it holds [`BATCH_TICKS`] ticks, or when it holds
//!   [`CAUGHT_UP_TICKS`] and the journal has no more to read: a burst is
//!   stored as soon as it ends, without waiting for the interval.
//! - A failed write is retried with exponential backoff and jitter, from
//!   `REDIS_RETRY_DELAY` up to [`MAX_RETRY_DELAY`], for as long as it takes:
//!   the journal keeps the entries meanwhile.
//! - When the database refuses a batch for its data, rows are written one by
//!   one; a refused row is logged with its reason and counted, and never
//!   holds up the rest.
//! - The stream is trimmed after each write and every [`TRIM_EVERY`], below
//!   what the group acknowledged and what every live reader has read.
//! - Entries left pending by a crashed process are claimed by a live one
//!   after `PERSISTER_CLAIM_IDLE` seconds.
//! - Shutdown writes what is buffered first.
//! - Entries of on-demand simulations hold no ticks here: they are
//!   acknowledged with the batch they came in and nothing of them is stored.
//! - Without Redis the store is the journal itself: [`DirectStore`] commits
//!   each batch before ingest answers.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use shared::Tick;
use tokio_util::sync::CancellationToken;

pub mod direct;
pub mod status;

pub use direct::DirectStore;
pub use status::{Persister, PersisterStatus};

use crate::clock::now_millis;
use crate::journal::Journal;
use crate::journal::group::{ConsumerGroup, EntryId};
use crate::store::{StoreError, TickStore};

/// Ticks that trigger a write before the interval is up.
pub const BATCH_TICKS: usize = 50_000;
/// Ticks that trigger a write once the journal has no more to read.
pub const CAUGHT_UP_TICKS: usize = 10_000;
/// Connections a batch is written over at once, split by asset: PostgreSQL
/// then works on two cores (1.5 times one connection, BENCHMARKS.md).
const WRITERS: usize = 2;
/// Journal entries read at a time (each holds up to 10,000 ticks).
const READ_ENTRIES: usize = 8;
/// The longest pause between retries.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// The consumer group's name.
pub const GROUP: &str = "persister";
/// How often the stream is trimmed besides after each write: readers that
/// held it back move on, or stop, between writes.
const TRIM_EVERY: Duration = Duration::from_secs(2);

/// How the persister runs.
#[derive(Debug, Clone, Copy)]
pub struct PersisterSettings {
    /// Longest time between writes.
    pub interval: Duration,
    /// First retry delay; it doubles up to [`MAX_RETRY_DELAY`].
    pub first_retry: Duration,
    /// How long an entry may sit unacknowledged with another consumer before
    /// it is taken over.
    pub claim_idle: Duration,
}

impl Persister {
    /// Runs until `stop`, then writes what it holds and returns.
    pub async fn run(
        self,
        journal: Journal,
        store: TickStore,
        settings: PersisterSettings,
        stop: CancellationToken,
    ) {
        let PersisterSettings {
            interval,
            first_retry,
            claim_idle,
        } = settings;
        {
            let mut s = self.lock();
            s.running = true;
            s.store = store.kind();
        }
        let consumer = format!("{}-{}", hostname(), std::process::id());
        let mut delay = first_retry;
        // Ready the store (migrate, or check the schema and the grants) and
        // join, retrying until both work.
        let mut group = loop {
            let joined = async {
                self.check_store(&store).await?;
                journal
                    .consumer_group(GROUP, &consumer)
                    .await
                    .map_err(|e| e.to_string())
            };
            match joined.await {
                Ok(g) => break g,
                Err(e) => {
                    self.failed(&e, delay);
                    tokio::select! {
                        () = stop.cancelled() => { self.lock().running = false; return; }
                        () = tokio::time::sleep(jitter(delay)) => {}
                    }
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
            }
        };
        tracing::info!(%consumer, "persister running");
        let mut batch = Batch::default();
        let mut last_flush = Instant::now();
        let mut last_claim: Option<Instant> = None;
        let mut last_trim = Instant::now();
        loop {
            if stop.is_cancelled() {
                break;
            }
            if last_claim.is_none_or(|t: Instant| t.elapsed() >= claim_idle / 2) {
                last_claim = Some(Instant::now());
                match group
                    .claim_stale(u64::try_from(claim_idle.as_millis()).unwrap_or(30_000), 100)
                    .await
                {
                    Ok(claimed) if !claimed.is_empty() => {
                        tracing::info!(
                            entries = claimed.len(),
                            "claimed entries a stopped persister left"
                        );
                        batch.add(claimed);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!("claiming stale entries failed: {e}"),
                }
            }
            let wait = interval
                .saturating_sub(last_flush.elapsed())
                .min(Duration::from_millis(500));
            let read = tokio::select! {
                () = stop.cancelled() => break,
                r = group.read(READ_ENTRIES, u64::try_from(wait.as_millis()).unwrap_or(500).max(1)) => r,
            };
            let mut caught_up = false;
            match read {
                Ok(entries) => {
                    caught_up = entries.len() < READ_ENTRIES;
                    batch.add(entries);
                }
                Err(e) => {
                    tracing::debug!("reading the journal failed: {e}");
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(first_retry) => {}
                    }
                    if let Ok(g) = journal.consumer_group(GROUP, &consumer).await {
                        group = g;
                    }
                }
            }
            if last_trim.elapsed() >= TRIM_EVERY {
                last_trim = Instant::now();
                if let Err(e) = group.trim_acknowledged().await {
                    tracing::debug!("trimming the journal failed: {e}");
                }
            }
            self.lock().pending = batch.ticks.len() as u64;
            if !batch.is_empty()
                && (batch.ticks.len() >= BATCH_TICKS
                    || last_flush.elapsed() >= interval
                    || (caught_up && batch.ticks.len() >= CAUGHT_UP_TICKS))
            {
                self.flush(&mut group, &store, &mut batch, first_retry, &stop)
                    .await;
                last_flush = Instant::now();
            }
        }
        // Shutdown: write what is held, a few attempts at most; whatever is
        // left stays pending in the journal for the next persister to claim.
        if !batch.is_empty() {
            let give_up = CancellationToken::new();
            let timer = give_up.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(5)).await;
                timer.cancel();
            });
            self.flush(&mut group, &store, &mut batch, first_retry, &give_up)
                .await;
        }
        self.lock().running = false;
        tracing::info!("persister stopped");
    }

    /// Writes the batch, retrying transient failures until it commits or
    /// `stop` is cancelled; acknowledges only what is committed.
    async fn flush(
        &self,
        group: &mut ConsumerGroup,
        store: &TickStore,
        batch: &mut Batch,
        first_retry: Duration,
        stop: &CancellationToken,
    ) {
        if batch.ticks.is_empty() {
            // Only simulated entries: nothing to store, only to acknowledge.
            match group.ack(&batch.ids).await {
                Ok(_) => {
                    batch.clear();
                    if let Err(e) = group.trim_acknowledged().await {
                        tracing::debug!("trimming the journal failed: {e}");
                    }
                }
                Err(e) => tracing::debug!("acknowledging simulated entries failed: {e}"),
            }
            return;
        }
        let mut delay = first_retry;
        let started = Instant::now();
        loop {
            let outcome = match store.insert_batch(&batch.ticks, WRITERS).await {
                Ok(inserted) => Ok((inserted, 0)),
                Err(e) if e.is_transient() => Err(e),
                Err(e) => {
                    tracing::warn!("a batch was refused ({e}); writing its rows one by one");
                    self.one_by_one(store, &batch.ticks).await
                }
            };
            match outcome {
                Ok((inserted, rejected)) => {
                    if let Err(e) = group.ack(&batch.ids).await {
                        // Committed but not acknowledged: a later retry
                        // inserts nothing twice.
                        tracing::warn!("acknowledging a written batch failed: {e}");
                    } else if let Err(e) = group.trim_acknowledged().await {
                        tracing::debug!("trimming the journal failed: {e}");
                    }
                    self.committed(&batch.ticks, inserted, rejected);
                    self.batches.committed(batch.ticks.len(), started.elapsed());
                    batch.clear();
                    return;
                }
                Err(e) => {
                    self.lock().writable = Some(false);
                    self.failed(&e.to_string(), delay);
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(jitter(delay)) => {}
                    }
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
            }
        }
    }

    /// Inserts rows singly after a batch was refused; refused rows are logged
    /// and counted. Returns (inserted, rejected), or a transient error.
    async fn one_by_one(
        &self,
        store: &TickStore,
        ticks: &[Tick],
    ) -> Result<(u64, u64), StoreError> {
        let (mut inserted, mut rejected) = (0, 0);
        for tick in ticks {
            match store.insert(std::slice::from_ref(tick)).await {
                Ok(n) => inserted += n,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    rejected += 1;
                    tracing::error!(asset = %tick.asset, price = %tick.price, ts = tick.timestamp.millis(), "tick refused by the database: {e}");
                }
            }
        }
        Ok((inserted, rejected))
    }

    /// Readies the store for writing ([`TickStore::prepare`]) and records
    /// whether it is writable; the error is why not, for the status.
    async fn check_store(&self, store: &TickStore) -> Result<(), String> {
        let checked = store.prepare().await;
        self.lock().writable = Some(checked.is_ok());
        checked.map_err(|e| e.to_string())
    }
}

/// Entries read and not yet committed.
#[derive(Default)]
struct Batch {
    ids: Vec<EntryId>,
    seen: HashSet<EntryId>,
    ticks: Vec<Tick>,
}

impl Batch {
    /// Adds entries not already held (a claimed entry may also be re-read).
    fn add(&mut self, entries: Vec<(EntryId, Vec<Tick>)>) {
        for (id, ticks) in entries {
            if self.seen.insert(id.clone()) {
                self.ids.push(id);
                self.ticks.extend(ticks);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.seen.clear();
        self.ticks.clear();
    }
}

/// `delay` give or take a quarter, so many persisters do not retry in step.
fn jitter(delay: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let r = RandomState::new().hash_one(now_millis()) % 1000;
    let factor = 0.75 + (r as f64) / 2000.0;
    delay.mul_f64(factor)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tickstream".to_owned())
}
