//! The Redis commands of a journal write, added to one `MULTI`/`EXEC`: per
//! batch one stream entry; then per asset one `LPUSH` of the new real ticks
//! onto the capped list `ticks:{asset}`, one `LTRIM`, and one pub/sub
//! message with the asset's new ticks as a JSON array (as in the original
//! design). A simulated batch is marked in its entry and skips the capped
//! list: a simulation leaves no key behind.

use redis::Pipeline;
use shared::{Asset, Tick};

use super::entry;
use super::keys::Keys;

/// A batch to write: its first append number, its ticks, and whether it is
/// simulated.
pub(super) struct Batch<'a> {
    pub(super) first_oseq: u64,
    pub(super) ticks: &'a [Tick],
    pub(super) simulated: bool,
}

/// An atomic pipeline (`MULTI`/`EXEC`) writing `batches`, in order.
pub(super) fn pipeline(keys: &Keys, origin: u64, list_cap: u64, batches: &[Batch<'_>]) -> Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic();
    let journal = keys.journal();
    // (asset, real ticks as JSON, every tick as JSON), in first-seen order.
    let mut by_asset: Vec<(Asset, Vec<String>, Vec<String>)> = Vec::new();
    for batch in batches {
        pipe.cmd("XADD")
            .arg(&journal)
            .arg("*")
            .arg(&entry::fields(batch.ticks, origin, batch.first_oseq, batch.simulated)[..])
            .ignore();
        for tick in batch.ticks {
            let json = serde_json::to_string(tick).unwrap_or_default();
            let slot = match by_asset.iter().position(|(a, _, _)| *a == tick.asset) {
                Some(i) => i,
                None => {
                    by_asset.push((tick.asset, Vec::new(), Vec::new()));
                    by_asset.len() - 1
                }
            };
            let (_, real, all) = &mut by_asset[slot];
            if !batch.simulated {
                real.push(json.clone());
            }
            all.push(json);
        }
    }
    let keep = list_cap.saturating_sub(1);
    for (asset, real, all) in by_asset {
        let list = keys.ticks(asset);
        if !real.is_empty() {
            pipe.cmd("LPUSH").arg(&list).arg(&real).ignore();
            pipe.cmd("LTRIM").arg(&list).arg(0).arg(keep).ignore();
        }
        pipe.cmd("PUBLISH")
            .arg(&list)
            .arg(format!("[{}]", all.join(",")))
            .ignore();
    }
    pipe
}
