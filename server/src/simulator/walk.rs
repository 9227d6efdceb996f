//! The built-in price simulator: a per-asset random walk with FX-like
//! decimals at a configured rate, deterministic from a seed. Its ticks take
//! the same path as ingested ones, through the journal.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::{Asset, Price, Tick, TimestampMs};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::journal::{Journal, now_millis};

/// One price step: 0.00001 in units of 10⁻¹⁰.
const PIP: i128 = 100_000;

/// A deterministic random walk of one asset.
#[derive(Debug, Clone)]
pub struct Walk {
    state: u64,
    units: i128,
}

impl Walk {
    /// A walk for `asset` from `seed`, starting between 1.00000 and 1.99999.
    #[must_use]
    pub fn new(asset: Asset, seed: u64) -> Self {
        let mut h = DefaultHasher::new();
        asset.hash(&mut h);
        seed.hash(&mut h);
        let state = h.finish() | 1;
        let start = 10_000_000_000 + i128::from(state % 100_000) * PIP;
        Self {
            state,
            units: start,
        }
    }

    /// The next price: up or down by up to 5 pips, never below 0.1.
    pub fn next_price(&mut self) -> Price {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let step = i128::from((r >> 40) % 11) - 5;
        self.units = (self.units + step * PIP).max(1_000_000_000);
        Price::from_units(self.units.unsigned_abs()).unwrap_or(Price::MIN)
    }
}

/// Running simulations by asset.
#[derive(Clone)]
pub struct Simulator {
    running: Arc<Mutex<HashMap<Asset, CancellationToken>>>,
    journal: Journal,
    rate: f64,
    seed: u64,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Simulator {
    /// A simulator writing to `journal` at `rate` ticks per second per asset.
    #[must_use]
    pub fn new(
        journal: Journal,
        rate: f64,
        seed: u64,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            running: Arc::default(),
            journal,
            rate,
            seed,
            stop,
            tasks,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Asset, CancellationToken>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts simulating `asset`; does nothing if it already runs.
    pub fn start(&self, asset: Asset) {
        let mut running = self.lock();
        if running.contains_key(&asset) {
            return;
        }
        let token = self.stop.child_token();
        running.insert(asset, token.clone());
        let journal = self.journal.clone();
        let period = Duration::from_secs_f64(1.0 / self.rate);
        let mut walk = Walk::new(asset, self.seed);
        tracing::info!(%asset, rate = self.rate, "simulator started");
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
                if let Err(e) = journal.append(&[tick]).await {
                    tracing::warn!(%asset, "simulated tick not journaled: {e}");
                }
            }
            tracing::info!(%asset, "simulator stopped");
        });
    }

    /// Stops simulating `asset`; returns whether it was running.
    pub fn stop(&self, asset: Asset) -> bool {
        self.lock().remove(&asset).map(|t| t.cancel()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_walks_the_same_way() {
        let asset = Asset::new("EURUSD_otc");
        let a: Vec<Price> = {
            let mut w = Walk::new(asset, 7);
            (0..100).map(|_| w.next_price()).collect()
        };
        let b: Vec<Price> = {
            let mut w = Walk::new(asset, 7);
            (0..100).map(|_| w.next_price()).collect()
        };
        let c: Vec<Price> = {
            let mut w = Walk::new(asset, 8);
            (0..100).map(|_| w.next_price()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Five decimals at most, like an FX quote.
        assert!(a.iter().all(|p| p.units() % 100_000 == 0));
        assert!(
            a.windows(2)
                .all(|w| w[0].units().abs_diff(w[1].units()) <= 5 * 100_000)
        );
    }
}
