//! The hub: fans candle updates out to the WebSocket sessions subscribed to
//! each asset.
//!
//! Every update of a series (asset, timeframe) gets the next sequence number
//! and is serialised once; each session subscribed to that timeframe (or to
//! all of the asset's, see [`follow`]) gets it through its own
//! bounded [`Outbox`]. Subscribing sends a snapshot of recent candles, then
//! live updates; resuming with the last sequence seen sends exactly what was
//! missed, or a snapshot when that is no longer held. A session that falls
//! too far behind gets snapshots in place of the updates it could not take.
//!
//! Snapshots are taken under the hub's lock without copying the candles and
//! serialised when sent ([`snapshot`]); a session queues at most one per
//! series, and past its byte bound only a marker taken when sent. Only
//! ticks create series: subscribing to an asset without any leaves nothing
//! behind once the session has gone. A timeframe beyond the seven built from
//! ticks is derived from its base series while someone follows it
//! ([`derived`]).

mod deliver;
mod derived;
mod follow;
mod listing;
mod outbox;
mod series;
mod snapshot;

pub use listing::ListedAssets;
pub use outbox::{CandleKey, Captured, Outbox, OutboxLimits, Pushed, SeriesKey, SnapshotSource};

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use derived::Derived;
pub use derived::Seed;
use follow::Follow;
use rustc_hash::FxHashMap;
use series::Series;
use shared::protocol::{CandleSnapshot, ForAsset, SnapshotReason, Subscribe, Unsubscribe};
use shared::{Asset, CandleEvent, ServerMessage, Timeframe};
use snapshot::{Snapshots, capture};

/// A session's id within the hub.
pub type SessionId = u64;

/// Most assets the status and the metrics name one by one (the busiest);
/// the rest are only counted, so neither grows with the number of assets.
pub const LISTED_ASSETS: usize = 100;

/// A subscription the hub refused; the session goes on.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The session already holds as many subscriptions as it may.
    #[error(
        "at most {limit} subscriptions per session (WS_MAX_SUBSCRIPTIONS; one per asset and timeframe, or per asset for all timeframes): unsubscribe from one first; {asset} {timeframe} was not subscribed"
    )]
    TooMany {
        /// The limit.
        limit: usize,
        /// The asset refused.
        asset: Asset,
        /// The timeframe refused, `all timeframes` when none was named.
        timeframe: String,
    },
}

/// Hub sizes.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Candles per series in a snapshot.
    pub history: usize,
    /// Update frames per series held for resuming clients.
    pub replay: usize,
    /// Subscriptions one session may hold at once: one per (asset,
    /// timeframe), or per asset for all timeframes.
    pub subscriptions: usize,
}

/// Counters for status and metrics.
#[derive(Debug, Default)]
pub struct HubStats {
    /// Frames handed to outboxes.
    pub deliveries: AtomicU64,
    /// Times a session lagged and was resynchronised.
    pub lagged: AtomicU64,
    /// Ticks before their asset's horizon: stored, and their candles
    /// restated from the store (with a store; only counted without one).
    pub late_ticks: AtomicU64,
    /// Ticks counted once already, left out of the live candles.
    pub duplicate_ticks: AtomicU64,
    /// Closed candles revised (by live ticks and restatements).
    pub revisions: AtomicU64,
    /// Candles waiting to be restated from the store (late work pending).
    pub late_pending: AtomicU64,
    /// Frames dropped from lagging sessions' queues.
    pub dropped: AtomicU64,
    /// Bytes of frame text queued to all sessions right now.
    pub queued_bytes: Arc<AtomicUsize>,
}

struct Subscriber {
    session: SessionId,
    follow: Follow,
    outbox: Arc<Outbox>,
}

#[derive(Default)]
struct State {
    /// Created by ticks only, never by a subscription.
    series: FxHashMap<SeriesKey, Series>,
    /// One entry per session following the asset.
    subscribers: FxHashMap<Asset, Vec<Subscriber>>,
    /// The assets each session follows, to bound its subscriptions and to
    /// find them.
    follows: FxHashMap<SessionId, Vec<Asset>>,
    /// Per asset, the derived timeframes someone follows.
    derived: FxHashMap<Asset, Vec<Derived>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The fan-out; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    state: Arc<Mutex<State>>,
    limits: HubLimits,
    /// Where days and weeks open (`DAY_START`), for derived series.
    sessions: shared::Sessions,
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
            sessions: shared::Sessions::utc(),
            epoch: RandomState::new().hash_one(std::process::id()) >> 12,
            stats: Arc::default(),
            next_session: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The same hub with weeks derived from days opening at `sessions`
    /// (`DAY_START`).
    #[must_use]
    pub fn with_sessions(mut self, sessions: shared::Sessions) -> Self {
        self.sessions = sessions;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A fresh session id.
    pub fn new_session(&self) -> SessionId {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// A session's send queue within `limits`: its bytes count into
    /// [`HubStats::queued_bytes`] and its snapshots are built from this hub.
    #[must_use]
    pub fn outbox(&self, limits: OutboxLimits) -> Arc<Outbox> {
        let source = Snapshots::new(Arc::downgrade(&self.state), self.epoch);
        Arc::new(Outbox::bounded(
            limits,
            self.stats.queued_bytes.clone(),
            Some(Arc::new(source)),
        ))
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
                CandleEvent::Late { tick } => {
                    self.stats.late_ticks.fetch_add(1, Ordering::Relaxed);
                    tracing::trace!(asset = %tick.asset, at = tick.timestamp.millis(), "late tick");
                    continue;
                }
                CandleEvent::Duplicate { tick } => {
                    self.stats.duplicate_ticks.fetch_add(1, Ordering::Relaxed);
                    tracing::trace!(asset = %tick.asset, at = tick.timestamp.millis(), "duplicate tick");
                    continue;
                }
                CandleEvent::Revised(c) => {
                    self.stats.revisions.fetch_add(1, Ordering::Relaxed);
                    c
                }
                CandleEvent::Updated(c) | CandleEvent::Closed(c) => c,
            };
            self.deliver(state, *candle, source_ms);
            let derived: Vec<shared::Candle> = state
                .derived
                .get_mut(&candle.asset())
                .into_iter()
                .flatten()
                .filter(|d| d.timeframe().base() == candle.timeframe())
                .flat_map(|d| d.apply(*candle))
                .collect();
            for c in derived {
                self.deliver(state, c, source_ms);
            }
        }
    }

    /// Subscribes a session: `redis_subscribed`, then per timeframe either the
    /// missed updates (resume) or a snapshot, then live updates.
    ///
    /// Exact: the snapshot is taken under the lock that numbers updates, and
    /// the series' later updates queue behind it (or, for a marker taken
    /// when sent, are left out until then; see [`Outbox`]), so the client
    /// gets every update after the snapshot's `seq` once and none before.
    /// A repeated subscribe while a series' snapshot still waits keeps that
    /// one and the updates behind it, so it costs one `redis_subscribed`;
    /// once sent, a subscribe gets a new snapshot, as a client starting over
    /// expects. A resume while a snapshot waits gets that snapshot and the
    /// updates behind it rather than missed updates again.
    ///
    /// A derived timeframe ([`derived`]) that nobody followed yet starts
    /// from `seed`: the stored base candles from a time on, to which the
    /// hub's own base candles are added.
    ///
    /// # Errors
    ///
    /// [`SubscribeError::TooMany`] when the session already holds
    /// [`HubLimits::subscriptions`] other subscriptions; nothing changes.
    pub fn subscribe(
        &self,
        session: SessionId,
        outbox: &Arc<Outbox>,
        request: &Subscribe,
        seed: Option<Seed<'_>>,
    ) -> Result<(), SubscribeError> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let asset = request.asset;
        let held = follow_of(state, session, asset).is_some_and(|f| f.holds(request.timeframe));
        if !held && subscriptions_of(state, session) >= self.limits.subscriptions {
            return Err(SubscribeError::TooMany {
                limit: self.limits.subscriptions,
                asset,
                timeframe: request
                    .timeframe
                    .map_or_else(|| "all timeframes".to_owned(), |tf| tf.to_string()),
            });
        }
        let follows = state.follows.entry(session).or_default();
        if !follows.contains(&asset) {
            follows.push(asset);
        }
        let subs = state.subscribers.entry(asset).or_default();
        if let Some(sub) = subs.iter_mut().find(|s| s.session == session) {
            sub.follow.add(request.timeframe);
        } else {
            let mut follow = Follow::default();
            follow.add(request.timeframe);
            subs.push(Subscriber {
                session,
                follow,
                outbox: outbox.clone(),
            });
        }
        derived::follow(state, asset, seed, &self.sessions);
        outbox.push_frame(
            ServerMessage::RedisSubscribed(ForAsset { asset })
                .to_json()
                .into(),
        );
        for tf in timeframes(request.timeframe) {
            let resume = match (request.timeframe, request.last_seq, request.epoch) {
                (Some(_), Some(last), Some(epoch)) if epoch == self.epoch => Some(last),
                (Some(_), Some(_), _) => None,
                _ => {
                    outbox.push_series_snapshot(capture(
                        state,
                        (asset, tf),
                        SnapshotReason::Subscribed,
                        self.epoch,
                    ));
                    continue;
                }
            };
            if outbox.awaits_snapshot((asset, tf)) {
                continue;
            }
            let missed = resume.and_then(|last| {
                state
                    .series
                    .get(&(asset, tf))
                    .map_or(Some(Vec::new()), |s| s.since(last))
            });
            match missed {
                Some(frames) => {
                    for f in frames {
                        outbox.push_frame(f);
                    }
                }
                None => {
                    outbox.push_series_snapshot(capture(
                        state,
                        (asset, tf),
                        SnapshotReason::ResumeTooOld,
                        self.epoch,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Ends a session's subscription to one timeframe of an asset, or all
    /// of its subscriptions to the asset.
    pub fn unsubscribe(&self, session: SessionId, request: &Unsubscribe) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let asset = request.asset;
        let left = match state
            .subscribers
            .get_mut(&asset)
            .and_then(|subs| subs.iter_mut().find(|s| s.session == session))
        {
            Some(sub) => {
                sub.follow.remove(request.timeframe);
                sub.follow.is_empty()
            }
            None => true,
        };
        if left {
            if let Some(follows) = state.follows.get_mut(&session) {
                follows.retain(|a| *a != asset);
                if follows.is_empty() {
                    state.follows.remove(&session);
                }
            }
            leave(state, session, asset, &self.sessions);
        } else {
            derived::follow(state, asset, None, &self.sessions);
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
        if let Some(derived) = state.derived.get_mut(&asset) {
            for d in derived.iter_mut() {
                *d = Derived::seeded(d.timeframe(), &[], None, &self.sessions).0;
            }
        }
        let Some(subscribers) = state.subscribers.get(&asset) else {
            return;
        };
        for sub in subscribers {
            for timeframe in sub.follow.timeframes() {
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
        let mut guard = self.lock();
        let state = &mut *guard;
        for asset in state.follows.remove(&session).unwrap_or_default() {
            leave(state, session, asset, &self.sessions);
        }
    }

    /// Series held (an (asset, timeframe) each), for status and tests.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.lock().series.len()
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

/// Removes `session` from the subscribers of `asset`.
fn leave(state: &mut State, session: SessionId, asset: Asset, sessions: &shared::Sessions) {
    if let Some(subs) = state.subscribers.get_mut(&asset) {
        subs.retain(|s| s.session != session);
        if subs.is_empty() {
            state.subscribers.remove(&asset);
        }
    }
    derived::follow(state, asset, None, sessions);
}

fn timeframes(one: Option<Timeframe>) -> Vec<Timeframe> {
    one.map_or_else(|| Timeframe::ALL.to_vec(), |tf| vec![tf])
}

/// What `session` follows of `asset`, if anything.
fn follow_of(state: &State, session: SessionId, asset: Asset) -> Option<&Follow> {
    state
        .subscribers
        .get(&asset)?
        .iter()
        .find(|s| s.session == session)
        .map(|s| &s.follow)
}

/// The subscriptions `session` holds, over all its assets.
fn subscriptions_of(state: &State, session: SessionId) -> usize {
    state.follows.get(&session).map_or(0, |assets| {
        assets
            .iter()
            .filter_map(|a| follow_of(state, session, *a))
            .map(Follow::count)
            .sum()
    })
}
