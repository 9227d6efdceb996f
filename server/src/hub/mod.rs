//! The hub: fans candle updates out to the WebSocket sessions subscribed to
//! each asset.
//!
//! Every update of a series (asset, timeframe) gets the next sequence number
//! and is serialised once; each subscribed session gets it through its own
//! bounded [`Outbox`]. Subscribing sends a snapshot of recent candles, then
//! live updates; resuming with the last sequence seen sends exactly what was
//! missed, or a snapshot when that is no longer held. A session that falls
//! too far behind gets snapshots in place of the updates it could not take.

mod outbox;
mod series;

pub use outbox::{CandleKey, Outbox, Pushed};

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use rustc_hash::FxHashMap;
use series::Series;
use shared::protocol::{CandleSnapshot, ForAsset, SnapshotReason, Subscribe};
use shared::{Asset, CandleEvent, ServerMessage, Timeframe};

/// A session's id within the hub.
pub type SessionId = u64;

/// Hub sizes.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Candles per series in a snapshot.
    pub history: usize,
    /// Update frames per series held for resuming clients.
    pub replay: usize,
}

/// Counters for status and metrics.
#[derive(Debug, Default)]
pub struct HubStats {
    /// Frames handed to outboxes.
    pub deliveries: AtomicU64,
    /// Times a session lagged and was resynchronised.
    pub lagged: AtomicU64,
    /// Ticks the aggregator refused as too late.
    pub late_ticks: AtomicU64,
    /// Closed candles revised by late ticks.
    pub revisions: AtomicU64,
    /// Frames dropped from lagging sessions' queues.
    pub dropped: AtomicU64,
}

struct Subscriber {
    session: SessionId,
    timeframe: Option<Timeframe>,
    outbox: Arc<Outbox>,
}

#[derive(Default)]
struct State {
    series: FxHashMap<(Asset, Timeframe), Series>,
    subscribers: FxHashMap<Asset, Vec<Subscriber>>,
}

/// The fan-out; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    state: Arc<Mutex<State>>,
    limits: HubLimits,
    /// This run's numbering: a resume from another run gets a snapshot.
    epoch: u64,
    stats: Arc<HubStats>,
    next_session: Arc<AtomicU64>,
}

impl Hub {
    /// An empty hub.
    #[must_use]
    pub fn new(limits: HubLimits) -> Self {
        Self {
            state: Arc::default(),
            limits,
            epoch: RandomState::new().hash_one(std::process::id()) >> 12,
            stats: Arc::default(),
            next_session: Arc::new(AtomicU64::new(1)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh session id.
    pub fn new_session(&self) -> SessionId {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &HubStats {
        &self.stats
    }

    /// Applies aggregator events and sends each candle change to subscribers.
    pub fn publish(&self, events: &[CandleEvent]) {
        self.publish_from(events, None);
    }

    /// As [`Hub::publish`], for events caused by ticks whose newest source
    /// timestamp is `source_ms` (for the latency metric).
    pub fn publish_from(&self, events: &[CandleEvent], source_ms: Option<i64>) {
        if events.is_empty() {
            return;
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        for event in events {
            let candle = match event {
                CandleEvent::LateTickRejected { tick, newest } => {
                    self.stats.late_ticks.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(asset = %tick.asset, at = tick.timestamp.millis(), newest = newest.millis(), "late tick rejected");
                    continue;
                }
                CandleEvent::Revised(c) => {
                    self.stats.revisions.fetch_add(1, Ordering::Relaxed);
                    c
                }
                CandleEvent::Updated(c) | CandleEvent::Closed(c) => c,
            };
            let (asset, timeframe) = (candle.asset(), candle.timeframe());
            let series = state.series.entry((asset, timeframe)).or_default();
            series.seq += 1;
            series.apply(*candle, self.limits.history);
            series.remember(series.seq, *candle, self.limits.replay);
            let seq = series.seq;
            let Some(subscribers) = state.subscribers.get(&asset) else {
                continue;
            };
            if !subscribers
                .iter()
                .any(|s| s.timeframe.is_none_or(|tf| tf == timeframe))
            {
                continue;
            }
            // Serialised once, shared by every subscriber.
            let frame = series::update_frame(*candle, seq);
            let key: CandleKey = (asset, timeframe, candle.open_time());
            let mut lagging: Vec<(SessionId, Arc<Outbox>)> = Vec::new();
            for sub in subscribers {
                if sub.timeframe.is_some_and(|tf| tf != timeframe) {
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
    }

    /// Sends fresh snapshots of every series a lagging session follows.
    fn resync(&self, state: &mut State, session: SessionId, outbox: &Outbox) {
        let follows: Vec<(Asset, Option<Timeframe>)> = state
            .subscribers
            .iter()
            .flat_map(|(asset, subs)| {
                subs.iter()
                    .filter(|s| s.session == session)
                    .map(|s| (*asset, s.timeframe))
            })
            .collect();
        for (asset, timeframe) in follows {
            for tf in timeframes(timeframe) {
                let frame = self.snapshot(state, asset, tf, SnapshotReason::Lagged);
                outbox.push_snapshot(frame);
            }
        }
    }

    fn snapshot(
        &self,
        state: &mut State,
        asset: Asset,
        timeframe: Timeframe,
        reason: SnapshotReason,
    ) -> Utf8Bytes {
        let series = state.series.entry((asset, timeframe)).or_default();
        ServerMessage::CandleSnapshot(CandleSnapshot {
            asset,
            timeframe,
            seq: series.seq,
            epoch: self.epoch,
            reason,
            data: series.candles.iter().copied().collect(),
        })
        .to_json()
        .into()
    }

    /// Subscribes a session: `redis_subscribed`, then per timeframe either the
    /// missed updates (resume) or a snapshot, then live updates. Done under
    /// one lock, so nothing is missed or sent twice.
    pub fn subscribe(&self, session: SessionId, outbox: &Arc<Outbox>, request: &Subscribe) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let subs = state.subscribers.entry(request.asset).or_default();
        subs.retain(|s| s.session != session);
        subs.push(Subscriber {
            session,
            timeframe: request.timeframe,
            outbox: outbox.clone(),
        });
        outbox.push_frame(
            ServerMessage::RedisSubscribed(ForAsset {
                asset: request.asset,
            })
            .to_json()
            .into(),
        );
        for tf in timeframes(request.timeframe) {
            let resume = match (request.timeframe, request.last_seq, request.epoch) {
                (Some(_), Some(last), Some(epoch)) if epoch == self.epoch => Some(last),
                (Some(_), Some(_), _) => None,
                _ => {
                    let frame = self.snapshot(state, request.asset, tf, SnapshotReason::Subscribed);
                    outbox.push_snapshot(frame);
                    continue;
                }
            };
            let missed = resume.and_then(|last| {
                state
                    .series
                    .get(&(request.asset, tf))
                    .map_or(Some(Vec::new()), |s| s.since(last))
            });
            match missed {
                Some(frames) => {
                    for f in frames {
                        outbox.push_frame(f);
                    }
                }
                None => {
                    let frame =
                        self.snapshot(state, request.asset, tf, SnapshotReason::ResumeTooOld);
                    outbox.push_snapshot(frame);
                }
            }
        }
    }

    /// Ends a session's subscription to an asset.
    pub fn unsubscribe(&self, session: SessionId, asset: Asset) {
        let mut state = self.lock();
        if let Some(subs) = state.subscribers.get_mut(&asset) {
            subs.retain(|s| s.session != session);
            if subs.is_empty() {
                state.subscribers.remove(&asset);
            }
        }
    }

    /// Whether `session` follows `asset` (in any timeframe).
    #[must_use]
    pub fn follows(&self, session: SessionId, asset: Asset) -> bool {
        self.lock()
            .subscribers
            .get(&asset)
            .is_some_and(|subs| subs.iter().any(|s| s.session == session))
    }

    /// Drops every series of `asset` (its candles are void: simulated ones
    /// when real ticks arrive, or a simulation that ended) and sends its
    /// subscribers an empty snapshot; their updates then start again at 1.
    pub fn reset(&self, asset: Asset) {
        let mut state = self.lock();
        state.series.retain(|(a, _), _| *a != asset);
        let Some(subscribers) = state.subscribers.get(&asset) else {
            return;
        };
        for sub in subscribers {
            for timeframe in timeframes(sub.timeframe) {
                let frame = ServerMessage::CandleSnapshot(CandleSnapshot {
                    asset,
                    timeframe,
                    seq: 0,
                    epoch: self.epoch,
                    reason: SnapshotReason::Subscribed,
                    data: Vec::new(),
                })
                .to_json();
                sub.outbox.push_snapshot(frame.into());
            }
        }
    }

    /// Forgets a session entirely.
    pub fn remove_session(&self, session: SessionId) {
        let mut state = self.lock();
        state.subscribers.retain(|_, subs| {
            subs.retain(|s| s.session != session);
            !subs.is_empty()
        });
    }

    /// The assets with candles in this process, sorted.
    #[must_use]
    pub fn assets(&self) -> Vec<Asset> {
        let mut assets: Vec<Asset> = self.lock().series.keys().map(|(a, _)| *a).collect();
        assets.sort_unstable();
        assets.dedup();
        assets
    }

    /// The recent candles of a series, oldest first.
    #[must_use]
    pub fn candles(&self, asset: Asset, timeframe: Timeframe) -> Vec<shared::Candle> {
        self.lock()
            .series
            .get(&(asset, timeframe))
            .map(|s| s.candles.iter().copied().collect())
            .unwrap_or_default()
    }
}

fn timeframes(one: Option<Timeframe>) -> Vec<Timeframe> {
    one.map_or_else(|| Timeframe::ALL.to_vec(), |tf| vec![tf])
}
