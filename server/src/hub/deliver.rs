//! Delivering a candle's new state: applied to its series, numbered, sent to
//! the series' subscribers once serialised; a session that lags gets fresh
//! snapshots of what it follows.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use shared::protocol::SnapshotReason;

use super::snapshot::capture;
use super::{CandleKey, Follow, Hub, Outbox, Pushed, SessionId, State, follow_of, series};

impl Hub {
    /// Applies a candle's new state to its series and sends it to the
    /// subscribers of that series.
    pub(super) fn deliver(
        &self,
        state: &mut State,
        candle: shared::Candle,
        source_ms: Option<i64>,
    ) {
        let (asset, timeframe) = (candle.asset(), candle.timeframe());
        let series = state.series.entry((asset, timeframe)).or_default();
        series.seq += 1;
        series.apply(candle, self.limits.history);
        series.remember(series.seq, candle, self.limits.replay);
        let seq = series.seq;
        let Some(subscribers) = state.subscribers.get(&asset) else {
            return;
        };
        if !subscribers.iter().any(|s| s.follow.covers(timeframe)) {
            return;
        }
        // Serialised once, shared by every subscriber.
        let frame = series::update_frame(candle, seq);
        let key: CandleKey = (asset, timeframe, candle.open_time());
        let mut lagging: Vec<(SessionId, Arc<Outbox>)> = Vec::new();
        for sub in subscribers {
            if !sub.follow.covers(timeframe) {
                continue;
            }
            match sub.outbox.push_update(key, frame.clone(), source_ms) {
                Pushed::Queued => {
                    self.stats.deliveries.fetch_add(1, Ordering::Relaxed);
                }
                Pushed::Lagged { dropped } => {
                    self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
                    lagging.push((sub.session, sub.outbox.clone()));
                }
                Pushed::Closed => {}
            }
        }
        for (session, outbox) in lagging {
            self.stats.lagged.fetch_add(1, Ordering::Relaxed);
            self.resync(state, session, &outbox);
        }
    }

    /// Queues fresh snapshots of every series a lagging session follows.
    fn resync(&self, state: &State, session: SessionId, outbox: &Outbox) {
        let Some(assets) = state.follows.get(&session) else {
            return;
        };
        for asset in assets {
            let timeframes = follow_of(state, session, *asset).map(Follow::timeframes);
            for tf in timeframes.unwrap_or_default() {
                outbox.push_series_snapshot(capture(
                    state,
                    (*asset, tf),
                    SnapshotReason::Lagged,
                    self.epoch,
                ));
            }
        }
    }
}
