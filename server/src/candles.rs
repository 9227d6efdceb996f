//! The candle builder: runs the shared [`Aggregator`] over the journal feed,
//! closes candles on a timer so a quiet market still closes them, and hands
//! every change to the hub.

use std::time::Duration;

use shared::{Aggregator, AggregatorConfig, TimestampMs};
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::journal::{Feed, now_millis};

/// How far behind its asset's newest tick a tick may arrive and still count.
pub const GRACE_MS: i64 = 2_000;
/// How often the timer closes ended buckets.
const TIMER: Duration = Duration::from_millis(250);

/// Builds candles until `stop` is cancelled or the feed ends.
pub async fn run(mut feed: Feed, hub: Hub, stop: CancellationToken) {
    let mut aggregator = Aggregator::new(AggregatorConfig {
        grace_ms: GRACE_MS,
        ..AggregatorConfig::default()
    });
    let mut events = Vec::with_capacity(1024);
    let mut timer = tokio::time::interval(TIMER);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            batch = feed.recv() => {
                let Some(batch) = batch else { break };
                for tick in &batch {
                    aggregator.ingest(tick, &mut events);
                }
            }
            _ = timer.tick() => {
                // Close a bucket once the grace window after its end has passed.
                if let Ok(now) = TimestampMs::new_checked(now_millis() - GRACE_MS) {
                    aggregator.advance_to(now, &mut events);
                }
            }
        }
        hub.publish(&events);
        events.clear();
    }
}
