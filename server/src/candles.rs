//! The candle builder: runs the shared [`Aggregator`] over the journal feed,
//! closes candles on a timer so a quiet market still closes them, and hands
//! every change to the hub.
//!
//! It also keeps each asset either real or simulated ([`Sorter`]): the first
//! real tick of a simulated asset drops its simulated candles (here and in
//! the hub, whose subscribers get an empty snapshot), simulated ticks of a
//! real asset are left out, and a simulation silent for a minute leaves
//! nothing. Simulated candles never go to the candle cache.

use std::time::Duration;

use std::collections::HashSet;

use shared::{Aggregator, AggregatorConfig, Asset, CandleEvent, Tick, Timeframe, TimestampMs};
use tokio_util::sync::CancellationToken;

use tokio::sync::mpsc;

use crate::clock::now_millis;
use crate::feeds::FeedWatch;
use crate::history;
use crate::hub::Hub;
use crate::journal::Feed;
use crate::metrics::{Metrics, since_source};
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

/// Builds candles until `stop` is cancelled or the feed ends, starting from
/// `seed`. Series whose closed candles changed go to `closed`, without
/// waiting, for the cache.
pub async fn run(
    mut feed: Feed,
    hub: Hub,
    closed: Option<mpsc::Sender<(Asset, Timeframe)>>,
    seed: Seed,
    watchers: Watchers,
    stop: CancellationToken,
) {
    let mut aggregator = Aggregator::new(AggregatorConfig {
        grace_ms: GRACE_MS,
        ..AggregatorConfig::default()
    });
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
    let mut timer = tokio::time::interval(TIMER);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Newest source timestamp of the live batch behind this round's events.
    let mut newest: Option<i64>;
    loop {
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
                // Entries journaled after the seed was read cannot be in it.
                if seeded.as_ref().is_some_and(|s| batch.at_ms > s.read_at_ms) {
                    seeded = None;
                }
                newest = live
                    .then(|| batch.ticks.iter().map(|t| t.timestamp.millis()).max())
                    .flatten();
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
            for key in history::closed_series(&events) {
                if !sorter.is_simulated(key.0) {
                    let _ = closed.try_send(key);
                }
            }
        }
        events.clear();
    }
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
