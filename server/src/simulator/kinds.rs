//! Which assets are real and which are simulated on demand. An asset is one
//! or the other: its first real tick makes it real for good, its simulated
//! candles are dropped then, and no simulated tick reaches it afterwards.
//!
//! [`AssetKinds`] is shared: the candle builder records what the journal
//! shows (through its [`Sorter`], the only writer), the simulator asks it
//! before starting, and the status lists the simulated assets.

use std::sync::{Arc, Mutex};

use rustc_hash::{FxHashMap, FxHashSet};
use shared::Asset;

/// Milliseconds a simulated asset may go without a tick before its candles
/// are dropped: a simulation that ended leaves nothing behind.
pub const FORGET_SIMULATED_MS: i64 = 60_000;

/// The kinds of assets seen in the journal; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct AssetKinds {
    inner: Arc<Mutex<Kinds>>,
}

#[derive(Debug, Default)]
struct Kinds {
    /// Assets with a real tick (ingested, replayed, an operator's feed).
    real: FxHashSet<Asset>,
    /// Assets with simulated candles now.
    simulated: FxHashSet<Asset>,
}

impl AssetKinds {
    fn lock(&self) -> std::sync::MutexGuard<'_, Kinds> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a real tick of `asset` was seen.
    #[must_use]
    pub fn is_real(&self, asset: Asset) -> bool {
        self.lock().real.contains(&asset)
    }

    /// The assets whose candles are simulated now, sorted.
    #[must_use]
    pub fn simulated(&self) -> Vec<Asset> {
        let mut assets: Vec<Asset> = self.lock().simulated.iter().copied().collect();
        assets.sort_unstable();
        assets
    }

    /// Records a real tick of `asset`; returns whether it was simulated.
    fn mark_real(&self, asset: Asset) -> bool {
        let mut kinds = self.lock();
        kinds.real.insert(asset);
        kinds.simulated.remove(&asset)
    }

    /// Records a simulated tick of `asset`; `false` when it is real.
    fn mark_simulated(&self, asset: Asset) -> bool {
        let mut kinds = self.lock();
        if kinds.real.contains(&asset) {
            return false;
        }
        kinds.simulated.insert(asset);
        true
    }

    fn forget_simulated(&self, asset: Asset) {
        self.lock().simulated.remove(&asset);
    }
}

/// What the candle builder does with a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Place it in the candles.
    Place,
    /// Leave it out: a simulated tick of a real asset.
    Drop,
    /// The first real tick of a simulated asset: drop its simulated candles,
    /// then place it.
    StartOver,
}

/// The candle builder's side: a copy of the kinds so that a tick costs no
/// lock, and when each simulated asset last ticked.
#[derive(Debug)]
pub struct Sorter {
    kinds: AssetKinds,
    real: FxHashSet<Asset>,
    /// The asset of the previous real tick: feeds come in runs.
    last_real: Option<Asset>,
    /// Simulated assets and when their newest tick was journaled (Unix ms).
    simulated: FxHashMap<Asset, i64>,
}

impl Sorter {
    /// A sorter recording into `kinds`.
    #[must_use]
    pub fn new(kinds: AssetKinds) -> Self {
        Self {
            kinds,
            real: FxHashSet::default(),
            last_real: None,
            simulated: FxHashMap::default(),
        }
    }

    /// Sorts a tick of `asset`, from an on-demand simulation or not,
    /// journaled at `at_ms`.
    pub fn sort(&mut self, asset: Asset, simulated: bool, at_ms: i64) -> Verdict {
        if !simulated && self.last_real == Some(asset) {
            return Verdict::Place;
        }
        if self.real.contains(&asset) {
            if simulated {
                return Verdict::Drop;
            }
            self.last_real = Some(asset);
            return Verdict::Place;
        }
        if simulated {
            if let Some(last) = self.simulated.get_mut(&asset) {
                *last = (*last).max(at_ms);
                return Verdict::Place;
            }
            if self.kinds.mark_simulated(asset) {
                self.simulated.insert(asset, at_ms);
                return Verdict::Place;
            }
            self.real.insert(asset);
            return Verdict::Drop;
        }
        self.real.insert(asset);
        self.last_real = Some(asset);
        let was_simulated = self.simulated.remove(&asset).is_some();
        if self.kinds.mark_real(asset) || was_simulated {
            Verdict::StartOver
        } else {
            Verdict::Place
        }
    }

    /// Whether `asset`'s candles are simulated.
    #[must_use]
    pub fn is_simulated(&self, asset: Asset) -> bool {
        self.simulated.contains_key(&asset)
    }

    /// The simulated assets without a tick for [`FORGET_SIMULATED_MS`] at
    /// `now_ms`: forgotten here, their candles are to be dropped.
    pub fn quiet(&mut self, now_ms: i64) -> Vec<Asset> {
        let mut quiet = Vec::new();
        self.simulated.retain(|asset, last| {
            let keep = now_ms - *last <= FORGET_SIMULATED_MS;
            if !keep {
                quiet.push(*asset);
            }
            keep
        });
        for asset in &quiet {
            self.kinds.forget_simulated(*asset);
        }
        quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_705_314_600_000;

    #[test]
    fn a_real_tick_ends_the_simulation_and_simulated_ticks_stay_out_after() {
        let kinds = AssetKinds::default();
        let mut sorter = Sorter::new(kinds.clone());
        let a = Asset::new("DEMO1");
        assert_eq!(sorter.sort(a, true, T0), Verdict::Place);
        assert_eq!(sorter.sort(a, true, T0 + 200), Verdict::Place);
        assert_eq!(kinds.simulated(), vec![a]);
        assert!(!kinds.is_real(a));
        assert_eq!(sorter.sort(a, false, T0 + 400), Verdict::StartOver);
        assert_eq!(sorter.sort(a, false, T0 + 500), Verdict::Place);
        assert_eq!(sorter.sort(a, true, T0 + 600), Verdict::Drop);
        assert!(kinds.is_real(a));
        assert!(kinds.simulated().is_empty());
        assert!(!sorter.is_simulated(a));
    }

    #[test]
    fn a_real_asset_is_never_simulated() {
        let kinds = AssetKinds::default();
        let mut sorter = Sorter::new(kinds.clone());
        let a = Asset::new("BTCUSD");
        assert_eq!(sorter.sort(a, false, T0), Verdict::Place);
        assert_eq!(sorter.sort(a, true, T0 + 1), Verdict::Drop);
        assert!(kinds.simulated().is_empty());
    }

    #[test]
    fn a_quiet_simulation_is_forgotten() {
        let kinds = AssetKinds::default();
        let mut sorter = Sorter::new(kinds.clone());
        let (a, b) = (Asset::new("A"), Asset::new("B"));
        sorter.sort(a, true, T0);
        sorter.sort(b, true, T0 + 30_000);
        assert!(sorter.quiet(T0 + FORGET_SIMULATED_MS).is_empty());
        assert_eq!(sorter.quiet(T0 + FORGET_SIMULATED_MS + 1), vec![a]);
        assert_eq!(kinds.simulated(), vec![b]);
        assert!(!sorter.is_simulated(a) && sorter.is_simulated(b));
        // Simulated again later: a fresh start, not real.
        assert_eq!(sorter.sort(a, true, T0 + 100_000), Verdict::Place);
        assert!(!kinds.is_real(a));
    }
}
