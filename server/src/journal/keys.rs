//! [`Keys`]: the journal's Redis key names under the configured prefix, and
//! which shard an asset's ticks go to.
//!
//! On one Redis with one shard (the default there) the names are those of
//! the original design: `{prefix}journal`, `{prefix}ticks:{asset}`,
//! `{prefix}historical:{asset}:{timeframe}`. With `JOURNAL_SHARDS` = N the
//! journal is N streams `{prefix}journal:{0}` ... `{prefix}journal:{N-1}`,
//! the braces being a Redis Cluster hash tag, so the shards spread over the
//! masters. On a cluster every key of an asset carries its shard's tag
//! (`{prefix}ticks:{3}:EURUSD`, `{prefix}historical:{3}:EURUSD:1M`), so a
//! shard's `MULTI`/`EXEC` stays on one slot.
//!
//! An asset's shard is the FNV-1a (32-bit) hash of its name, modulo N: it
//! never changes while N does not, so one asset's ticks stay in one stream,
//! in order.

use shared::{Asset, Timeframe};

/// Redis key names under the configured prefix, for a shard count.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    /// Journal streams (`JOURNAL_SHARDS`).
    shards: u16,
    /// Whether per-asset keys carry their shard's hash tag (on a cluster).
    tagged: bool,
}

/// The shard of `asset` among `shards`: FNV-1a of its name, modulo `shards`.
#[must_use]
pub fn shard_of(asset: Asset, shards: u16) -> u16 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in asset.as_str().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    u16::try_from(hash % u32::from(shards.max(1))).unwrap_or(0)
}

impl Keys {
    /// Keys under `prefix` on one Redis with one journal stream: the
    /// original design's names.
    #[must_use]
    pub fn new(prefix: &str) -> Self {
        Self::sharded(prefix, 1, false)
    }

    /// Keys under `prefix` for `shards` journal streams; `cluster`: every
    /// per-asset key carries its shard's hash tag.
    #[must_use]
    pub fn sharded(prefix: &str, shards: u16, cluster: bool) -> Self {
        Self {
            prefix: prefix.to_owned(),
            shards: shards.max(1),
            tagged: cluster,
        }
    }

    /// The number of journal streams.
    #[must_use]
    pub const fn shards(&self) -> u16 {
        self.shards
    }

    /// Whether per-asset keys carry their shard's hash tag (on a cluster,
    /// where their channels are sharded: `SPUBLISH`).
    #[must_use]
    pub const fn tagged(&self) -> bool {
        self.tagged
    }

    /// The shard `asset`'s ticks are journaled in.
    #[must_use]
    pub fn shard(&self, asset: Asset) -> u16 {
        shard_of(asset, self.shards)
    }

    /// Whether the names are the original design's (one stream, no tags).
    const fn plain(&self) -> bool {
        self.shards == 1 && !self.tagged
    }

    /// Journal stream `shard`.
    #[must_use]
    pub fn journal(&self, shard: u16) -> String {
        if self.plain() {
            format!("{}journal", self.prefix)
        } else {
            format!("{}journal:{{{shard}}}", self.prefix)
        }
    }

    /// Every journal stream, shard 0 first.
    #[must_use]
    pub fn journals(&self) -> Vec<String> {
        (0..self.shards).map(|s| self.journal(s)).collect()
    }

    /// The part of an asset's key naming it: `{asset}`, or on a cluster
    /// `{shard}:{asset}` with the shard's hash tag.
    fn asset_part(&self, asset: Asset) -> String {
        if self.tagged {
            format!("{{{}}}:{asset}", self.shard(asset))
        } else {
            asset.to_string()
        }
    }

    /// The capped tick list of an asset, and its pub/sub channel.
    #[must_use]
    pub fn ticks(&self, asset: Asset) -> String {
        format!("{}ticks:{}", self.prefix, self.asset_part(asset))
    }

    /// The candle cache of a series.
    #[must_use]
    pub fn candles(&self, asset: Asset, timeframe: Timeframe) -> String {
        format!(
            "{}historical:{}:{timeframe}",
            self.prefix,
            self.asset_part(asset)
        )
    }

    /// The `SCAN` pattern of every cached series of `timeframe` in `shard`
    /// (on one Redis, of every asset: `shard` is not in the names).
    #[must_use]
    pub fn candles_pattern(&self, shard: u16, timeframe: Timeframe) -> String {
        if self.tagged {
            format!("{}historical:{{{shard}}}:*:{timeframe}", self.prefix)
        } else {
            format!("{}historical:*:{timeframe}", self.prefix)
        }
    }

    /// Where the shard count is recorded, whatever the count: the field
    /// `shards` of `{prefix}journal:readers` (with one stream, also its
    /// readers' hash).
    #[must_use]
    pub fn shard_record(&self) -> String {
        format!("{}journal:readers", self.prefix)
    }

    /// The hash of tailing processes' positions in stream `shard`: field =
    /// the process's origin, value = `{last entry id} {heartbeat, Unix ms}`.
    /// The stream is trimmed only below the slowest live reader.
    #[must_use]
    pub fn readers(&self, shard: u16) -> String {
        format!("{}:readers", self.journal(shard))
    }

    /// The stream any producer may `XADD` ticks to (see [`crate::bridge`]).
    /// On a cluster it is hash-tagged with its refusals' stream.
    #[must_use]
    pub fn ingest(&self) -> String {
        if self.tagged {
            format!("{}{{ingest}}", self.prefix)
        } else {
            format!("{}ingest", self.prefix)
        }
    }

    /// The bounded stream of refused ingest-stream entries, with reasons.
    #[must_use]
    pub fn ingest_rejected(&self) -> String {
        format!("{}:rejected", self.ingest())
    }

    /// The number of the last record of write-ahead file `file_id` written
    /// to stream `shard`, set in the same `MULTI`/`EXEC` as those records.
    #[must_use]
    pub fn write_ahead(&self, shard: u16, file_id: u64) -> String {
        if self.plain() {
            format!("{}wal:{file_id:016x}", self.prefix)
        } else {
            format!("{}wal:{{{shard}}}:{file_id:016x}", self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::{Asset, Timeframe};

    use super::{Keys, shard_of};

    #[test]
    fn one_redis_one_shard_keeps_the_original_names() {
        let k = Keys::new("p:");
        let a = Asset::new("EURUSD_otc");
        assert_eq!(k.journals(), ["p:journal"]);
        assert_eq!(k.readers(0), "p:journal:readers");
        assert_eq!(k.ticks(a), "p:ticks:EURUSD_otc");
        assert_eq!(k.candles(a, Timeframe::M1), "p:historical:EURUSD_otc:1M");
        assert_eq!(k.ingest(), "p:ingest");
        assert_eq!(k.ingest_rejected(), "p:ingest:rejected");
        assert_eq!(k.write_ahead(0, 255), "p:wal:00000000000000ff");
    }

    #[test]
    fn shards_on_one_redis_tag_only_the_streams() {
        let k = Keys::sharded("p:", 4, false);
        let a = Asset::new("BTCUSD");
        assert_eq!(
            k.journals(),
            [
                "p:journal:{0}",
                "p:journal:{1}",
                "p:journal:{2}",
                "p:journal:{3}"
            ]
        );
        assert_eq!(k.readers(2), "p:journal:{2}:readers");
        assert_eq!(k.shard_record(), Keys::new("p:").readers(0));
        assert_eq!(k.ticks(a), "p:ticks:BTCUSD");
        assert_eq!(k.write_ahead(3, 1), "p:wal:{3}:0000000000000001");
    }

    #[test]
    fn on_a_cluster_every_asset_key_carries_its_shard_tag() {
        let k = Keys::sharded("p:", 16, true);
        let a = Asset::new("EURUSD_otc");
        let s = k.shard(a);
        assert_eq!(k.ticks(a), format!("p:ticks:{{{s}}}:EURUSD_otc"));
        assert_eq!(
            k.candles(a, Timeframe::H1),
            format!("p:historical:{{{s}}}:EURUSD_otc:1H")
        );
        assert_eq!(k.journal(s), format!("p:journal:{{{s}}}"));
        assert_eq!(
            k.candles_pattern(s, Timeframe::D1),
            format!("p:historical:{{{s}}}:*:1D")
        );
        assert_eq!(k.ingest(), "p:{ingest}");
        assert_eq!(k.ingest_rejected(), "p:{ingest}:rejected");
    }

    #[test]
    fn an_asset_maps_to_one_stable_shard_and_assets_spread() {
        // FNV-1a values, fixed so that a change of the hash (which would
        // move assets between streams of a running deployment) fails here.
        assert_eq!(
            u32::from(shard_of(Asset::new("A"), 1_000)),
            0xc40b_f6cc_u32 % 1_000
        );
        assert_eq!(shard_of(Asset::new("EURUSD_otc"), 16), 6);
        assert_eq!(shard_of(Asset::new("BTCUSD"), 1), 0);
        let mut used = [0u32; 16];
        for i in 0..160 {
            used[usize::from(shard_of(Asset::new(&format!("ASSET{i}")), 16))] += 1;
        }
        assert!(
            used.iter().all(|&n| n > 0),
            "every shard takes assets: {used:?}"
        );
    }
}
