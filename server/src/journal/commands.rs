//! The Redis commands of a journal write, one `MULTI`/`EXEC` per shard: per
//! batch one stream entry; then per asset one `LPUSH` of the new real ticks
//! onto the capped list `ticks:{asset}`, one `LTRIM`, and one pub/sub
//! message with the asset's new ticks as a JSON array (as in the original
//! design; `SPUBLISH` on a cluster, where the channel is the list's name
//! and so in the shard's slot). A simulated batch is marked in its entry
//! and skips the capped list: a simulation leaves no key behind.

use redis::Pipeline;
use shared::{Asset, Tick};

use super::entry;
use super::keys::Keys;

/// A batch to write: its shard (every tick's), its first append number,
/// its ticks, and whether it is simulated.
pub(super) struct Batch<'a> {
    pub(super) shard: u16,
    pub(super) first_oseq: u64,
    pub(super) ticks: &'a [Tick],
    pub(super) simulated: bool,
}

/// One atomic pipeline (`MULTI`/`EXEC`) per shard writing `batches`, in
/// order within each shard; shards in the order they first appear.
pub(super) fn pipelines(
    keys: &Keys,
    origin: u64,
    list_cap: u64,
    sharded_publish: bool,
    batches: &[Batch<'_>],
) -> Vec<(u16, Pipeline)> {
    let mut shards: Vec<u16> = Vec::new();
    for batch in batches {
        if !shards.contains(&batch.shard) {
            shards.push(batch.shard);
        }
    }
    shards
        .into_iter()
        .map(|shard| {
            let own = batches.iter().filter(|b| b.shard == shard);
            (
                shard,
                pipeline(keys, origin, list_cap, sharded_publish, shard, own),
            )
        })
        .collect()
}

fn pipeline<'a, 'b: 'a>(
    keys: &Keys,
    origin: u64,
    list_cap: u64,
    sharded_publish: bool,
    shard: u16,
    batches: impl Iterator<Item = &'a Batch<'b>>,
) -> Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic();
    let journal = keys.journal(shard);
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
    let publish = if sharded_publish {
        "SPUBLISH"
    } else {
        "PUBLISH"
    };
    for (asset, real, all) in by_asset {
        let list = keys.ticks(asset);
        if !real.is_empty() {
            pipe.cmd("LPUSH").arg(&list).arg(&real).ignore();
            pipe.cmd("LTRIM").arg(&list).arg(0).arg(keep).ignore();
        }
        pipe.cmd(publish)
            .arg(&list)
            .arg(format!("[{}]", all.join(",")))
            .ignore();
    }
    pipe
}
