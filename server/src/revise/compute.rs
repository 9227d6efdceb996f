//! Recomputing restated candles from the store, in bulk: the whole candles
//! of one asset and timeframe in one query per run of nearby buckets, and
//! the store's part of each candle still completed by live minutes.

use std::collections::HashMap;

use shared::{Candle, Restatement, Timeframe};

use crate::store::{StoreError, TickStore};

/// Buckets one whole-candle query spans at most: wider runs are split where
/// the buckets asked for are far apart.
const MAX_SPAN_BUCKETS: i64 = 1_500;

/// Whether the store computes `r` as a time range rather than in bulk: days
/// and weeks open at `DAY_START`, which the store's bulk query (buckets of
/// one width from the epoch) does not know.
const fn by_part(r: &Restatement) -> bool {
    matches!(r.timeframe, Timeframe::D1 | Timeframe::W1)
}

/// Each restatement with the store's candle for it (`None`: no ticks),
/// in the order given.
///
/// # Errors
///
/// The first database error.
pub async fn from_store(
    store: &TickStore,
    wanted: &[Restatement],
) -> Result<Vec<(Restatement, Option<Candle>)>, StoreError> {
    let mut whole: HashMap<(shared::Asset, Timeframe, i64), Candle> = HashMap::new();
    // Runs of whole buckets of one series (`wanted` is sorted by series, time).
    let mut i = 0;
    while i < wanted.len() {
        let first = wanted[i];
        if !first.whole() || by_part(&first) {
            i += 1;
            continue;
        }
        let width = first.timeframe.seconds();
        let mut last = first.open_time;
        let mut j = i + 1;
        while let Some(next) = wanted.get(j) {
            if next.asset != first.asset
                || next.timeframe != first.timeframe
                || (next.whole() && next.open_time - first.open_time > MAX_SPAN_BUCKETS * width)
            {
                break;
            }
            if next.whole() {
                last = next.open_time;
            }
            j += 1;
        }
        for c in store
            .whole_candles(first.asset, first.timeframe, (first.open_time, last))
            .await?
        {
            whole.insert((c.asset(), c.timeframe(), c.open_time()), c);
        }
        i = j;
    }
    let mut out = Vec::with_capacity(wanted.len());
    for r in wanted {
        let candle = if r.whole() && !by_part(r) {
            whole.get(&(r.asset, r.timeframe, r.open_time)).copied()
        } else {
            store
                .part(
                    r.asset,
                    r.timeframe,
                    r.open_time,
                    (r.start_ms(), r.split_ms),
                )
                .await?
        };
        out.push((*r, candle));
    }
    Ok(out)
}
