//! The assets the status and the metrics name: the busiest by candle
//! updates, with the rest only counted.

use rustc_hash::FxHashMap;
use shared::Asset;

use super::Hub;

/// The assets with candles, the busiest by name and the rest as a count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedAssets {
    /// At most the limit asked for, the busiest, sorted by name.
    pub names: Vec<Asset>,
    /// Assets with candles left out of `names`.
    pub more: usize,
}

impl Hub {
    /// The assets with candles in this process: at most `limit` of them by
    /// name, the busiest (most candle updates), and how many more there are.
    #[must_use]
    pub fn assets(&self, limit: usize) -> ListedAssets {
        let mut activity: FxHashMap<Asset, u64> = FxHashMap::default();
        for ((asset, _), series) in &self.lock().series {
            *activity.entry(*asset).or_default() += series.seq;
        }
        let mut ranked: Vec<(Asset, u64)> = activity.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let more = ranked.len().saturating_sub(limit);
        let mut names: Vec<Asset> = ranked.into_iter().take(limit).map(|(a, _)| a).collect();
        names.sort_unstable();
        ListedAssets { names, more }
    }
}
