//! The candle builder: runs the shared [`Aggregator`] over the journal feed,
//! closes candles on a timer so a quiet market still closes them, and hands
//! every change to the hub.
//!
//! Late ticks (before their asset's horizon) go to the reviser
//! ([`crate::revise`]), one message per batch; the candles it recomputes
//! from the store come back here to be merged with the live minutes and
//! published like any other change. Without a store, late ticks are only
//! counted.
//!
//! It also keeps each asset either real or simulated ([`Sorter`]): the first
//! real tick of a simulated asset drops its simulated candles (here and in
//! the hub, whose subscribers get an empty snapshot), simulated ticks of a
//! real asset are left out, and a simulation silent for a minute leaves
//! nothing. Simulated candles never go to the candle cache.

use std::collections::HashSet;
use std::time::Duration;

use shared::{
    Aggregator, AggregatorConfig, Asset, CandleEvent, Restated, Restatement, Sessions, Tick,
    Timeframe, TimestampMs,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::now_millis;
use crate::feeds::FeedWatch;
use crate::history::{self, CacheWork};
use crate::hub::Hub;
use crate::journal::Feed;
use crate::metrics::{Metrics, since_source};
use crate::revise::{BuilderLink, LateWork, Recomputed};
use crate::simulator::AssetKinds;
use crate::simulator::kinds::{Sorter, Verdict};

/// How far behind its asset's newest tick a tick may arrive and still count.
pub const GRACE_MS: i64 = 2_000;
/// How often the timer closes ended buckets.
const TIMER: Duration = Duration::from_millis(250);
/// Batches journaled longer ago than this are catch-up (a process starting
/// or reconnecting), not live: left out of the latency metric.
const LIVE_MS: i64 = 60_000;

/// Where the candle builder reports besides the hub.
#[derive(Clone, Debug, Default)]
pub struct Watchers {
    /// Feed staleness per asset.
    pub feeds: FeedWatch,
    /// The tick-to-candle and tick-to-socket latencies.
    pub metrics: Metrics,
    /// Which assets are real and which simulated.
    pub kinds: AssetKinds,
}

/// Today's ticks read from the database at start-up: the journal is trimmed
/// behind the persister, so a process that starts later takes from the
/// database what the journal no longer holds.
#[derive(Debug, Default)]
pub struct Seed {
    /// The ticks, in (timestamp, insertion) order.
    pub ticks: Vec<Tick>,
    /// When they were read (Unix ms).
    pub read_at_ms: i64,
}

/// The seed's ticks not yet met in the journal.
struct Seeded {
    ticks: HashSet<Tick>,
    read_at_ms: i64,
}

/// Where changes go besides the hub.
#[derive(Debug, Default)]
pub struct Outlets {
    /// The cache's writer: series whose closed candles changed, sent without
    /// waiting.
    pub closed: Option<mpsc::Sender<CacheWork>>,
    /// The reviser, with a store: late ticks go there.
    pub late: Option<BuilderLink>,
}

/// Builds candles until `stop` is cancelled or the feed ends, starting from
/// `seed`, with days and weeks opening at `sessions` (`DAY_START`).
pub async fn run(
    mut feed: Feed,
    hub: Hub,
    mut outlets: Outlets,
    seed: Seed,
    watchers: Watchers,
    sessions: Sessions,
    stop: CancellationToken,
) {
    let mut aggregator = Aggregator::new(AggregatorConfig {
        grace_ms: GRACE_MS,
        ..AggregatorConfig::default()
    })
    .with_sessions(sessions);
    let mut events = Vec::with_capacity(1024);
    let mut seen = HashSet::new();
    let mut sorter = Sorter::new(watchers.kinds.clone());
    for tick in &seed.ticks {
        sorter.sort(tick.asset, false, seed.read_at_ms);
        aggregator.ingest(tick, &mut events);
    }
    keep_latest_per_candle(&mut events, &mut seen);
    hub.publish(&events);
    events.clear();
    let mut seeded = (!seed.ticks.is_empty()).then(|| Seeded {
        ticks: seed.ticks.into_iter().collect(),
        read_at_ms: seed.read_at_ms,
    });
    let closed = outlets.closed.clone();
    let mut timer = tokio::time::interval(TIMER);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Newest source timestamp of the live batch behind this round's events.
    let mut newest: Option<i64>;
    loop {
        // Late work of this round, handed over once its events are out.
        let mut late: Option<LateWork> = None;
        tokio::select! {
            () = stop.cancelled() => break,
            batch = feed.recv() => {
                let Some(batch) = batch else { break };
                let now = now_millis();
                if !batch.simulated {
                    watchers.feeds.record(&batch.ticks, batch.at_ms.min(now));
                }
                let live = now - batch.at_ms <= LIVE_MS;
                if live {
                    watchers
                        .metrics
                        .to_candle
                        .observe_many(batch.ticks.iter().map(|t| since_source(t, now)));
                }
                for tick in &batch.ticks {
                    // Already counted from the database: skip the journal's copy.
                    if seeded.as_mut().is_some_and(|s| s.ticks.remove(tick)) {
                        continue;
                    }
                    match sorter.sort(tick.asset, batch.simulated, batch.at_ms) {
                        Verdict::Place => {}
                        Verdict::Drop => continue,
                        Verdict::StartOver => {
                            tracing::info!(asset = %tick.asset, "real ticks arrived: simulated candles dropped");
                            aggregator.forget(tick.asset);
                            hub.reset(tick.asset);
                        }
                    }
                    aggregator.ingest(tick, &mut events);
                }
                if !batch.simulated
                    && outlets.late.is_some()
                {
                    let ticks: Vec<Tick> = events
                        .iter()
                        .filter_map(|e| match e {
                            CandleEvent::Late { tick } => Some(*tick),
                            _ => None,
                        })
                        .collect();
                    if !ticks.is_empty() {
                        let plan = aggregator.plan(&ticks);
                        late = Some(LateWork { ticks, plan });
                    }
                }
                // Entries journaled after the seed was read cannot be in it.
                if seeded.as_ref().is_some_and(|s| batch.at_ms > s.read_at_ms) {
                    seeded = None;
                }
                newest = live
                    .then(|| batch.ticks.iter().map(|t| t.timestamp.millis()).max())
                    .flatten();
            }
            Some(back) = recv(outlets.late.as_mut()) => {
                let redo = apply(back, &mut aggregator, &hub, closed.as_ref());
                if !redo.is_empty() {
                    late = Some(LateWork { ticks: Vec::new(), plan: redo });
                }
                newest = None;
            }
            _ = timer.tick() => {
                // An ended simulation leaves nothing behind.
                for asset in sorter.quiet(now_millis()) {
                    aggregator.forget(asset);
                    hub.reset(asset);
                }
                // Close a bucket once the grace window after its end has passed.
                if let Ok(now) = TimestampMs::new_checked(now_millis() - GRACE_MS) {
                    aggregator.advance_to(now, &mut events);
                }
                watchers.feeds.check(now_millis());
                newest = None;
            }
        }
        keep_latest_per_candle(&mut events, &mut seen);
        hub.publish_from(&events, newest);
        if let Some(closed) = &closed {
            for (asset, tf) in history::closed_series(&events) {
                if !sorter.is_simulated(asset) {
                    let _ = closed.try_send(CacheWork::Series(asset, tf));
                }
            }
        }
        events.clear();
        if let (Some(work), Some(link)) = (late, &mut outlets.late) {
            hand_over(link, work, &mut aggregator, &hub, closed.as_ref(), &stop).await;
        }
    }
}

/// The next recomputed candles, or never without a reviser.
async fn recv(link: Option<&mut BuilderLink>) -> Option<Recomputed> {
    match link {
        Some(link) => link.recomputed.recv().await,
        None => std::future::pending().await,
    }
}

/// Hands late work to the reviser, waiting while its queue is full (never
/// dropping), and meanwhile merging what it sends back, so neither waits
/// on the other.
async fn hand_over(
    link: &mut BuilderLink,
    mut work: LateWork,
    aggregator: &mut Aggregator,
    hub: &Hub,
    closed: Option<&mpsc::Sender<CacheWork>>,
    stop: &CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            permit = link.late.reserve() => {
                if let Ok(permit) = permit {
                    permit.send(work);
                }
                return;
            }
            Some(back) = link.recomputed.recv() => {
                let mut redo = apply(back, aggregator, hub, closed);
                work.plan.append(&mut redo);
            }
        }
    }
}

/// Merges recomputed candles with the live minutes, publishes the changes,
/// and answers the reviser with the closed candles that changed (for the
/// cache). Returns what must be recomputed again (a new day began).
fn apply(
    back: Recomputed,
    aggregator: &mut Aggregator,
    hub: &Hub,
    closed: Option<&mpsc::Sender<CacheWork>>,
) -> Vec<Restatement> {
    let mut events = Vec::with_capacity(back.candles.len());
    let mut redo = Vec::new();
    for (r, candle) in &back.candles {
        if let Restated::AskAgain(again) = aggregator.restate(r, candle.as_ref(), &mut events) {
            redo.push(again);
        }
    }
    keep_latest_per_candle(&mut events, &mut HashSet::new());
    hub.publish(&events);
    if let Some(closed) = closed {
        for (asset, tf) in history::closed_series(&events) {
            let _ = closed.try_send(CacheWork::Series(asset, tf));
        }
    }
    let revised = events
        .iter()
        .filter_map(|e| match e {
            CandleEvent::Revised(c) => Some(*c),
            _ => None,
        })
        .collect();
    let _ = back.applied.send(revised);
    redo
}

/// Within one batch only each candle's final state matters to subscribers:
/// drop the states a later event of the same candle supersedes, keeping the
/// order of the survivors. Rejections are all kept (they are counted).
fn keep_latest_per_candle(
    events: &mut Vec<CandleEvent>,
    seen: &mut HashSet<(Asset, Timeframe, i64)>,
) {
    if events.len() < 2 {
        return;
    }
    seen.clear();
    let mut keep = vec![true; events.len()];
    for (i, e) in events.iter().enumerate().rev() {
        if let Some(c) = e.candle() {
            keep[i] = seen.insert((c.asset(), c.timeframe(), c.open_time()));
        }
    }
    let mut flags = keep.into_iter();
    events.retain(|_| flags.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use shared::{Price, Tick};

    use super::*;

    #[test]
    fn only_the_last_state_of_each_candle_survives() {
        let mut agg = Aggregator::new(AggregatorConfig {
            timeframes: vec![Timeframe::M1],
            grace_ms: 0,
        });
        let t = |p: &str, at: i64| Tick::new(Asset::new("A"), Price::new(p), TimestampMs::new(at));
        let t0 = 1_705_314_600_000;
        let mut events = agg.ingest_all(&[
            t("1", t0),
            t("2", t0 + 1),
            t("3", t0 + 60_000),
            t("4", t0 + 60_001),
        ]);
        keep_latest_per_candle(&mut events, &mut HashSet::new());
        let kept: Vec<(i64, String)> = events
            .iter()
            .map(|e| {
                e.candle()
                    .map(|c| (c.open_time(), c.close().to_string()))
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            kept,
            vec![
                (t0 / 1000, "2".to_owned()),
                (t0 / 1000 + 60, "4".to_owned())
            ]
        );
        assert!(matches!(events[0], CandleEvent::Closed(_)));
    }
}
