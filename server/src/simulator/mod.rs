//! The built-in price simulator: per-asset random walks ([`Walk`]) at a
//! configured rate, their ticks journaled like ingested ones.
//!
//! - The operator's feeds (`SIMULATE`) run from start-up to shutdown; their
//!   ticks are stored like any feed's: the operator chose them.
//! - On-demand simulations (`start_stream` with `SIMULATOR_ON_DEMAND` on) run
//!   only for an asset that never had a real tick (none seen in the journal,
//!   none in the tick store), at most `SIMULATOR_MAX_ASSETS` at once, while a
//!   session holds a [`Claim`] on them. Their ticks are marked in the journal
//!   and never stored, and the asset's first real tick ends them ([`kinds`]).
//!
//! Layout: [`walk`] (the prices), [`kinds`] (real or simulated), [`claim`]
//! (who holds an on-demand simulation, and its end).

mod claim;
pub mod kinds;
mod walk;

pub use claim::Claim;
pub use kinds::AssetKinds;
pub use walk::Walk;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustc_hash::FxHashMap;
use shared::{Asset, Tick, TimestampMs};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::now_millis;
use crate::config::SimulatorConfig;
use crate::journal::Journal;
use crate::store::TickStore;

/// The longest wait for the tick store to say whether an asset has ticks.
const STORE_CHECK: Duration = Duration::from_secs(2);

/// Why `start_stream` was refused.
#[derive(Debug, thiserror::Error)]
pub enum StreamRefused {
    /// As many on-demand simulations as allowed run already.
    #[error(
        "{max} simulations are running, the most this server runs at once; try again when one ends"
    )]
    Full {
        /// `SIMULATOR_MAX_ASSETS`.
        max: usize,
    },
    /// The tick store could not say whether the asset has real ticks.
    #[error("cannot tell now whether {0} has real ticks, so it is not simulated; try again")]
    Unknown(Asset),
}

/// The simulator; cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    journal: Journal,
    rate: f64,
    seed: u64,
    on_demand: bool,
    max_assets: usize,
    linger: Duration,
    /// Which assets are real, as the candle builder saw them.
    kinds: AssetKinds,
    /// Asked whether an asset has stored (real) ticks.
    store: Option<TickStore>,
    /// The operator's feeds.
    operator: Mutex<BTreeSet<Asset>>,
    /// The on-demand simulations of this process.
    running: Mutex<FxHashMap<Asset, Running>>,
    next_generation: AtomicU64,
    stop: CancellationToken,
    tasks: TaskTracker,
}

/// One on-demand simulation.
struct Running {
    token: CancellationToken,
    /// Tells this run from a later one of the same asset.
    generation: u64,
    /// Sessions holding a [`Claim`].
    holders: usize,
    /// Times the last holder let go: a linger timer acts only if it is the
    /// latest.
    released: u64,
}

impl Simulator {
    /// A simulator writing to `journal` as `config` says, asking `kinds` and
    /// `store` whether an asset is real.
    #[must_use]
    pub fn new(
        journal: Journal,
        config: &SimulatorConfig,
        kinds: AssetKinds,
        store: Option<TickStore>,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                journal,
                rate: config.simulator_rate,
                seed: config.simulator_seed,
                on_demand: config.simulator_on_demand,
                max_assets: usize::from(config.simulator_max_assets),
                linger: Duration::from_millis(config.simulator_linger_ms),
                kinds,
                store,
                operator: Mutex::default(),
                running: Mutex::default(),
                next_generation: AtomicU64::new(1),
                stop,
                tasks,
            }),
        }
    }

    /// Starts the operator's feed of `asset`, until shutdown; does nothing if
    /// it already runs.
    pub fn start_operator_feed(&self, asset: Asset) {
        if lock(&self.inner.operator).insert(asset) {
            self.inner
                .spawn_walk(asset, self.inner.stop.child_token(), None);
        }
    }

    /// What `start_stream {asset}` gets: a [`Claim`] on an on-demand
    /// simulation (joined or started), or `None` when the asset streams
    /// without one (it is real, the operator's feed, or on-demand
    /// simulation is off).
    ///
    /// # Errors
    ///
    /// [`StreamRefused::Full`] when as many simulations as allowed run;
    /// [`StreamRefused::Unknown`] when the tick store does not answer.
    pub async fn stream(&self, asset: Asset) -> Result<Option<Claim>, StreamRefused> {
        let inner = &self.inner;
        if !inner.on_demand || lock(&inner.operator).contains(&asset) || inner.kinds.is_real(asset)
        {
            return Ok(None);
        }
        if let Some(claim) = inner.join(asset) {
            return Ok(Some(claim));
        }
        // Refused before asking the store anything.
        if lock(&inner.running).len() >= inner.max_assets {
            return Err(StreamRefused::Full {
                max: inner.max_assets,
            });
        }
        if let Some(store) = &inner.store {
            match tokio::time::timeout(STORE_CHECK, store.has_ticks(asset)).await {
                Ok(Ok(false)) => {}
                Ok(Ok(true)) => return Ok(None),
                Ok(Err(e)) => {
                    tracing::warn!(%asset, "cannot tell whether the asset has stored ticks: {e}");
                    return Err(StreamRefused::Unknown(asset));
                }
                Err(_) => return Err(StreamRefused::Unknown(asset)),
            }
        }
        inner.start_on_demand(asset).map(Some)
    }

    /// The simulated assets: the operator's feeds, this process's on-demand
    /// simulations, and those the journal shows (from any process), sorted.
    #[must_use]
    pub fn simulated(&self) -> Vec<Asset> {
        let inner = &self.inner;
        let mut all: BTreeSet<Asset> = lock(&inner.operator).clone();
        all.extend(lock(&inner.running).keys().copied());
        all.extend(inner.kinds.simulated());
        all.into_iter().collect()
    }
}

impl Inner {
    /// A claim on the running simulation of `asset`, if there is one.
    fn join(self: &Arc<Self>, asset: Asset) -> Option<Claim> {
        let mut running = lock(&self.running);
        let run = running.get_mut(&asset)?;
        run.holders += 1;
        Some(Claim::new(self.clone(), asset, run.generation))
    }

    fn start_on_demand(self: &Arc<Self>, asset: Asset) -> Result<Claim, StreamRefused> {
        let mut running = lock(&self.running);
        if let Some(run) = running.get_mut(&asset) {
            run.holders += 1;
            return Ok(Claim::new(self.clone(), asset, run.generation));
        }
        if running.len() >= self.max_assets {
            return Err(StreamRefused::Full {
                max: self.max_assets,
            });
        }
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let token = self.stop.child_token();
        running.insert(
            asset,
            Running {
                token: token.clone(),
                generation,
                holders: 1,
                released: 0,
            },
        );
        drop(running);
        self.spawn_walk(asset, token, Some(generation));
        Ok(Claim::new(self.clone(), asset, generation))
    }

    /// A holder of run `generation` of `asset` lets go; the last one ends it,
    /// after the linger when `linger` is set.
    fn release(self: &Arc<Self>, asset: Asset, generation: u64, linger: bool) {
        let mut running = lock(&self.running);
        let Some(run) = running
            .get_mut(&asset)
            .filter(|r| r.generation == generation)
        else {
            return;
        };
        run.holders = run.holders.saturating_sub(1);
        if run.holders > 0 {
            return;
        }
        let runtime = tokio::runtime::Handle::try_current().is_ok();
        if !linger || self.linger.is_zero() || self.stop.is_cancelled() || !runtime {
            run.token.cancel();
            running.remove(&asset);
            return;
        }
        run.released += 1;
        let released = run.released;
        let inner = self.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = inner.stop.cancelled() => {}
                () = tokio::time::sleep(inner.linger) => {
                    inner.end_if_unheld(asset, generation, released);
                }
            }
        });
    }

    /// Ends run `generation` of `asset` if nobody took it up again since
    /// its last holder let go (the `released`-th time).
    fn end_if_unheld(&self, asset: Asset, generation: u64, released: u64) {
        let mut running = lock(&self.running);
        if running
            .get(&asset)
            .is_some_and(|r| r.generation == generation && r.holders == 0 && r.released == released)
            && let Some(run) = running.remove(&asset)
        {
            run.token.cancel();
        }
    }

    /// Forgets run `generation` of `asset`, which ended by itself.
    fn finished(&self, asset: Asset, generation: u64) {
        let mut running = lock(&self.running);
        if running
            .get(&asset)
            .is_some_and(|r| r.generation == generation)
        {
            running.remove(&asset);
        }
    }

    /// Walks `asset` until `token` is cancelled: the operator's feed when
    /// `on_demand` is `None`, else that run of an on-demand simulation, which
    /// also ends once the asset is real.
    fn spawn_walk(
        self: &Arc<Self>,
        asset: Asset,
        token: CancellationToken,
        on_demand: Option<u64>,
    ) {
        let inner = self.clone();
        let period = Duration::from_secs_f64(1.0 / self.rate);
        let mut walk = Walk::new(asset, self.seed);
        tracing::info!(%asset, rate = self.rate, on_demand = on_demand.is_some(), "simulator started");
        self.tasks.spawn(async move {
            let mut timer = tokio::time::interval(period);
            let mut last = 0;
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = timer.tick() => {}
                }
                last = now_millis().max(last);
                let Ok(at) = TimestampMs::new_checked(last) else {
                    break;
                };
                let tick = Tick::new(asset, walk.next_price(), at);
                let written = if on_demand.is_none() {
                    inner.journal.append(&[tick]).await
                } else if inner.kinds.is_real(asset) {
                    tracing::info!(%asset, "real ticks arrived: the simulation ends");
                    break;
                } else {
                    inner.journal.append_simulated(&[tick]).await
                };
                if let Err(e) = written {
                    tracing::warn!(%asset, "simulated tick not journaled: {e}");
                }
            }
            if let Some(generation) = on_demand {
                inner.finished(asset, generation);
            }
            tracing::info!(%asset, "simulator stopped");
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
