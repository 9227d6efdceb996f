//! The late path: candles that late ticks belong to, recomputed from the
//! store and sent back to the candle builder.
//!
//! The candle builder hands each batch's late ticks, with the candles they
//! touched ([`shared::Aggregator::plan`]), to the reviser over a bounded
//! channel (it waits when the channel is full: nothing is dropped). The
//! reviser gathers what has come ([`pending`]), waits until the store holds
//! those ticks and everything journaled before them ([`stored`]), computes
//! the candles in bulk ([`compute`]), and sends them back; the builder
//! merges each with its live minutes ([`shared::Aggregator::restate`]),
//! publishes the result, and answers with the closed candles that changed,
//! which the reviser writes into the Redis candle cache.

mod acks;
mod compute;
mod pending;
mod stored;

pub use pending::{MAX_PENDING_KEYS, MAX_PENDING_TICKS};
pub use stored::JournalStream;

use std::sync::atomic::Ordering;
use std::time::Duration;

use pending::Pending;
use shared::{Candle, Restatement, Tick};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::history::CacheWork;
use crate::hub::Hub;
use crate::store::TickStore;

/// Late batches queued to the reviser before the candle builder waits.
const LATE_QUEUE: usize = 64;
/// Restated candles sent back to the builder in one message, at most.
const CANDLES_PER_MESSAGE: usize = 10_000;
/// Longest pause between two tries of a failed store read.
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// One batch's late ticks and the candles they touched.
#[derive(Debug, Default)]
pub struct LateWork {
    /// The late ticks (the store must hold them before their candles are
    /// recomputed).
    pub ticks: Vec<Tick>,
    /// The candles to recompute.
    pub plan: Vec<Restatement>,
}

/// Candles recomputed from the store, for the builder to merge.
#[derive(Debug)]
pub struct Recomputed {
    /// Each restatement with the store's candle for it (`None`: no ticks).
    pub candles: Vec<(Restatement, Option<Candle>)>,
    /// The builder's answer: the closed candles that changed.
    pub applied: oneshot::Sender<Vec<Candle>>,
}

/// The candle builder's end of the link.
#[derive(Debug)]
pub struct BuilderLink {
    /// Where late work goes.
    pub late: mpsc::Sender<LateWork>,
    /// Where recomputed candles come from.
    pub recomputed: mpsc::Receiver<Recomputed>,
}

/// The reviser's end of the link.
#[derive(Debug)]
pub struct ReviserLink {
    late: mpsc::Receiver<LateWork>,
    recomputed: mpsc::Sender<Recomputed>,
}

/// A linked pair of ends.
#[must_use]
pub fn link() -> (BuilderLink, ReviserLink) {
    let (late_tx, late_rx) = mpsc::channel(LATE_QUEUE);
    let (back_tx, back_rx) = mpsc::channel(4);
    (
        BuilderLink {
            late: late_tx,
            recomputed: back_rx,
        },
        ReviserLink {
            late: late_rx,
            recomputed: back_tx,
        },
    )
}

/// What the reviser works with.
pub struct Reviser {
    /// The store: the primary.
    pub store: TickStore,
    /// The Redis journal, when ticks reach the store through it.
    pub stream: Option<JournalStream>,
    /// The candle cache's writer, with Redis.
    pub cache: Option<mpsc::Sender<CacheWork>>,
    /// For the counters (pending late work).
    pub hub: Hub,
}

impl Reviser {
    /// Runs until `stop` or the builder has gone.
    pub async fn run(self, mut link: ReviserLink, stop: CancellationToken) {
        let mut pending = Pending::default();
        let gauge = &self.hub.stats().late_pending;
        loop {
            if pending.is_empty() {
                let work = tokio::select! {
                    () = stop.cancelled() => return,
                    w = link.late.recv() => match w { Some(w) => w, None => return },
                };
                pending.add(work.ticks, work.plan);
            }
            while !pending.is_full() {
                match link.late.try_recv() {
                    Ok(work) => pending.add(work.ticks, work.plan),
                    Err(_) => break,
                }
            }
            gauge.store(pending.candles() as u64, Ordering::Relaxed);
            if !stored::wait(&self.store, self.stream.as_ref(), pending.ticks(), &stop).await {
                return;
            }
            let wanted = pending.take();
            let Some(candles) = self.compute(&wanted, &stop).await else {
                return;
            };
            for part in candles.chunks(CANDLES_PER_MESSAGE) {
                if !self.hand_back(part.to_vec(), &link.recomputed, &stop).await {
                    return;
                }
            }
            gauge.store(0, Ordering::Relaxed);
        }
    }

    /// The store's candles for `wanted`, retried while the store is away;
    /// `None` when stopped.
    async fn compute(
        &self,
        wanted: &[Restatement],
        stop: &CancellationToken,
    ) -> Option<Vec<(Restatement, Option<Candle>)>> {
        let mut delay = Duration::from_millis(100);
        loop {
            match compute::from_store(&self.store, wanted).await {
                Ok(candles) => return Some(candles),
                Err(e) => tracing::warn!(
                    candles = wanted.len(),
                    "late ticks: the store cannot be read, trying again in {delay:?}: {e}"
                ),
            }
            tokio::select! {
                () = stop.cancelled() => return None,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(LONGEST_RETRY);
        }
    }

    /// Sends recomputed candles to the builder, waits for its answer, and
    /// writes the closed candles that changed into the cache. `false` when
    /// stopped or the builder has gone.
    async fn hand_back(
        &self,
        candles: Vec<(Restatement, Option<Candle>)>,
        to: &mpsc::Sender<Recomputed>,
        stop: &CancellationToken,
    ) -> bool {
        let (applied, answer) = oneshot::channel();
        if to.send(Recomputed { candles, applied }).await.is_err() {
            return false;
        }
        let revised = tokio::select! {
            () = stop.cancelled() => return false,
            a = answer => match a { Ok(r) => r, Err(_) => return false },
        };
        if let Some(cache) = &self.cache
            && !revised.is_empty()
        {
            return cache.send(CacheWork::Revised(revised)).await.is_ok();
        }
        true
    }
}
