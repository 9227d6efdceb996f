//! The candle cache in Redis: `{prefix}historical:{asset}:{timeframe}`
//! (on a cluster `{prefix}historical:{shard}:{asset}:{timeframe}`, with the
//! asset's shard tag, [`crate::journal::Keys`]) holds
//! the newest `REDIS_HISTORICAL_CACHE_SIZE` candles as a JSON array, oldest
//! first, for `REDIS_HISTORICAL_CACHE_TTL` seconds. Hits and misses are
//! counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use shared::{Asset, Candle, Timeframe};

use crate::redis::Link;

use crate::journal::{Journal, Keys};

/// Hit and miss counters.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Reads answered from the cache.
    pub hits: AtomicU64,
    /// Reads that found nothing.
    pub misses: AtomicU64,
}

/// The Redis candle cache; cheap to clone.
#[derive(Clone)]
pub struct CandleCache {
    journal: Journal,
    keys: Keys,
    prefix: String,
    size: usize,
    ttl: Duration,
    stats: Arc<CacheStats>,
}

impl CandleCache {
    /// A cache over the journal's Redis connection.
    #[must_use]
    pub fn new(journal: Journal, prefix: &str, size: usize, ttl: Duration) -> Self {
        Self {
            keys: journal.keys().clone(),
            journal,
            prefix: prefix.to_owned(),
            size,
            ttl,
            stats: Arc::default(),
        }
    }

    /// The key of a series.
    #[must_use]
    pub fn key(&self, asset: Asset, timeframe: Timeframe) -> String {
        self.keys.candles(asset, timeframe)
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// The cached candles, oldest first; `None` on a miss or without Redis.
    /// A cached value that does not parse counts as a miss.
    pub async fn get(&self, asset: Asset, timeframe: Timeframe) -> Option<Vec<Candle>> {
        let found = self.read(asset, timeframe).await;
        self.count(found.is_some());
        found
    }

    /// The cached list as its JSON text, unparsed (a hit), or `None` (a miss).
    pub async fn get_json(&self, asset: Asset, timeframe: Timeframe) -> Option<String> {
        let found = self
            .read_text(asset, timeframe)
            .await
            .filter(|t| t.len() > 2);
        self.count(found.is_some());
        found
    }

    fn count(&self, hit: bool) {
        let counter = if hit {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    async fn read_text(&self, asset: Asset, timeframe: Timeframe) -> Option<String> {
        let mut conn = self.journal.connection().await?;
        redis::cmd("GET")
            .arg(self.key(asset, timeframe))
            .query_async::<Option<String>>(&mut conn)
            .await
            .ok()?
    }

    async fn read(&self, asset: Asset, timeframe: Timeframe) -> Option<Vec<Candle>> {
        let text = self.read_text(asset, timeframe).await?;
        let candles: Vec<Candle> = serde_json::from_str(&text).ok()?;
        (!candles.is_empty()).then_some(candles)
    }

    /// Merges `candles` into the cached list (newer states win), keeps the
    /// newest `size`, and resets the time to live. Returns how many are held.
    ///
    /// # Errors
    ///
    /// When Redis is away or refuses.
    pub async fn merge(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        candles: &[Candle],
    ) -> Result<usize, String> {
        let mut all = self.read(asset, timeframe).await.unwrap_or_default();
        for c in candles {
            match all.binary_search_by_key(&c.open_time(), Candle::open_time) {
                Ok(i) => all[i] = *c,
                Err(i) => all.insert(i, *c),
            }
        }
        let keep = all.len().saturating_sub(self.size);
        all.drain(..keep);
        self.put(asset, timeframe, &all).await?;
        Ok(all.len())
    }

    /// Merges restated `candles` into the cached list, if the series is
    /// cached (a series not cached is read from the database when asked).
    /// Returns whether it was.
    ///
    /// # Errors
    ///
    /// When Redis is away or refuses.
    pub async fn revise(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        candles: &[Candle],
    ) -> Result<bool, String> {
        if self.read(asset, timeframe).await.is_none() {
            return Ok(false);
        }
        self.merge(asset, timeframe, candles).await.map(|_| true)
    }

    /// Replaces the cached list.
    ///
    /// # Errors
    ///
    /// When Redis is away or refuses.
    pub async fn put(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        candles: &[Candle],
    ) -> Result<(), String> {
        let mut conn = self
            .journal
            .connection()
            .await
            .ok_or("Redis is not connected")?;
        let json = serde_json::to_string(candles).map_err(|e| e.to_string())?;
        redis::cmd("SET")
            .arg(self.key(asset, timeframe))
            .arg(json)
            .arg("EX")
            .arg(self.ttl.as_secs().max(1))
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }

    /// Drops the cached list.
    ///
    /// # Errors
    ///
    /// When Redis is away or refuses.
    pub async fn clear(&self, asset: Asset, timeframe: Timeframe) -> Result<(), String> {
        let mut conn = self
            .journal
            .connection()
            .await
            .ok_or("Redis is not connected")?;
        redis::cmd("DEL")
            .arg(self.key(asset, timeframe))
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| e.to_string())
    }

    /// Records `day_start` (`DAY_START`) in Redis as `{prefix}day_start`;
    /// when another one was recorded (none counts as `00:00 UTC`), first
    /// drops every cached `1D` and `1W` series, which it aligned. Returns
    /// how many were dropped.
    ///
    /// # Errors
    ///
    /// When Redis is away or refuses.
    pub async fn adopt_day_start(&self, day_start: &str) -> Result<usize, String> {
        let mut conn = self
            .journal
            .connection()
            .await
            .ok_or("Redis is not connected")?;
        let key = format!("{}day_start", self.prefix);
        let recorded: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let mut dropped = 0;
        if recorded.as_deref().unwrap_or("00:00 UTC") != day_start {
            for timeframe in [Timeframe::D1, Timeframe::W1] {
                dropped += self.drop_all(&mut conn, timeframe).await?;
            }
        }
        redis::cmd("SET")
            .arg(&key)
            .arg(day_start)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(dropped)
    }

    /// Drops every cached series of `timeframe`: `SCAN` and `DEL`, shard by
    /// shard on a cluster (each on the node holding that shard).
    async fn drop_all(&self, conn: &mut Link, timeframe: Timeframe) -> Result<usize, String> {
        let shards = if self.keys.tagged() {
            self.keys.shards()
        } else {
            1
        };
        let mut dropped = 0;
        for shard in 0..shards {
            let pattern = self.keys.candles_pattern(shard, timeframe);
            let node = self.keys.journal(shard);
            let mut cursor: u64 = 0;
            loop {
                let mut scan = redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000);
                let (next, keys): (u64, Vec<String>) = conn
                    .on_node_of(&node, &scan)
                    .await
                    .map_err(|e| e.to_string())?;
                // One shard's keys share its slot: one DEL takes them.
                if !keys.is_empty() {
                    redis::cmd("DEL")
                        .arg(&keys)
                        .query_async::<()>(conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    dropped += keys.len();
                }
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
        }
        Ok(dropped)
    }
}
