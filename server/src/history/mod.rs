//! Candle history: the Redis cache first (source `redis_cache`), then
//! candles computed from the stored ticks (source `database`, which also
//! fills the cache), else `cache_miss` with no data. Closing candles keep the
//! cache current, so live series are normally answered from it.
//!
//! A read from the database never reaches past the forming bucket nor back
//! more than `limit` buckets, and runs under the store's read limits
//! (`HISTORY_READ_TIMEOUT`), so no request can hold the database.

mod cache;
mod derived;

pub use cache::{CacheStats, CandleCache};

use serde_json::value::RawValue;
use shared::protocol::HistorySource;
use shared::{Asset, Candle, CandleEvent, Sessions, Timeframe, TimestampMs};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::now_millis;
use crate::hub::Hub;
use crate::store::{StoreError, TickStore};

/// Why history could not be read; the text is for the client.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The read ran past `HISTORY_READ_TIMEOUT` and was cancelled.
    #[error("reading the history took too long; try again shortly")]
    TimedOut,
    /// The database could not be read.
    #[error("the database could not be read")]
    Unavailable,
}

impl From<StoreError> for HistoryError {
    fn from(e: StoreError) -> Self {
        tracing::warn!("candle history from the database failed: {e}");
        match e {
            StoreError::TimedOut(_) => Self::TimedOut,
            _ => Self::Unavailable,
        }
    }
}

/// Candles and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where they came from.
    pub source: HistorySource,
    /// Oldest first, the forming one last; `None` on a miss.
    pub candles: Option<Vec<Candle>>,
}

/// The history service; cheap to clone.
#[derive(Clone)]
pub struct History {
    cache: Option<CandleCache>,
    store: Option<TickStore>,
    hub: Hub,
    /// Where days and weeks open (`DAY_START`).
    sessions: Sessions,
}

impl History {
    /// History from `cache` (with Redis) and `store` (with a database),
    /// days and weeks opening at `sessions`.
    #[must_use]
    pub const fn new(
        cache: Option<CandleCache>,
        store: Option<TickStore>,
        hub: Hub,
        sessions: Sessions,
    ) -> Self {
        Self {
            cache,
            store,
            hub,
            sessions,
        }
    }

    /// The tick store, when one is configured.
    #[must_use]
    pub const fn store(&self) -> Option<&TickStore> {
        self.store.as_ref()
    }

    /// Where days and weeks open (`DAY_START`).
    #[must_use]
    pub const fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The cache, when Redis is configured.
    #[must_use]
    pub const fn cache(&self) -> Option<&CandleCache> {
        self.cache.as_ref()
    }

    /// The newest `limit` candles; `cache_miss` when the database could not
    /// be read in time.
    pub async fn recent(&self, asset: Asset, timeframe: Timeframe, limit: usize) -> Found {
        self.try_recent(asset, timeframe, limit)
            .await
            .unwrap_or(Found {
                source: HistorySource::CacheMiss,
                candles: None,
            })
    }

    /// The newest `limit` candles, or why the database could not be read.
    async fn try_recent(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        limit: usize,
    ) -> Result<Found, HistoryError> {
        if !timeframe.is_precomputed() {
            return self.derived_recent(asset, timeframe, limit).await;
        }
        if let Some(cache) = &self.cache
            && let Some(mut candles) = cache.get(asset, timeframe).await
        {
            // The cache is written on close: add the live forming candle.
            if let Some(last) = self.hub.candles(asset, timeframe).last()
                && candles
                    .last()
                    .is_none_or(|c| c.open_time() <= last.open_time())
            {
                match candles.last_mut() {
                    Some(c) if c.open_time() == last.open_time() => *c = *last,
                    _ => candles.push(*last),
                }
            }
            return Ok(found(HistorySource::RedisCache, candles, limit));
        }
        if let Some(store) = &self.store {
            let now_s = now_millis() / 1000;
            let wanted = i64::try_from(limit).unwrap_or(i64::MAX);
            let window = (TimestampMs::MIN.seconds(), timeframe.bucket_start(now_s));
            let candles = if self.base_of(timeframe).is_some() {
                let found = self.derived_recent(asset, timeframe, limit).await?;
                found.candles.unwrap_or_default()
            } else {
                let stored = store
                    .latest(asset, timeframe, window, wanted, now_s)
                    .await?;
                // The store lags the live candles (by the persister's
                // interval, and a read replica's replay): the hub's are
                // newer from the newest stored one on.
                if stored.is_empty() {
                    stored
                } else {
                    splice_live(stored, self.hub.candles(asset, timeframe))
                }
            };
            if !candles.is_empty() {
                if let Some(cache) = &self.cache
                    && let Err(e) = cache.merge(asset, timeframe, &candles).await
                {
                    tracing::debug!("cannot fill the candle cache: {e}");
                }
                return Ok(found(HistorySource::Database, candles, limit));
            }
        }
        Ok(Found {
            source: HistorySource::CacheMiss,
            candles: None,
        })
    }

    /// [`History::recent`] as JSON text ready to send. A cache hit is passed
    /// through without parsing its prices: only the newest `limit` entries
    /// are kept and the live forming candle is spliced in.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] when the database could not be read in time.
    pub async fn recent_json(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        limit: usize,
    ) -> Result<(HistorySource, Box<RawValue>), HistoryError> {
        if timeframe.is_precomputed()
            && let Some(cache) = &self.cache
            && let Some(text) = cache.get_json(asset, timeframe).await
            && let Some(json) = splice(&text, self.hub.candles(asset, timeframe).last(), limit)
        {
            return Ok((HistorySource::RedisCache, json));
        }
        let found = self.try_recent(asset, timeframe, limit).await?;
        let json = serde_json::value::to_raw_value(&found.candles.unwrap_or_default())
            .unwrap_or_else(|_| RawValue::from_string("[]".to_owned()).unwrap_or_default());
        Ok((found.source, json))
    }

    /// Candles with open times in `from..=to` (Unix seconds), at most
    /// `limit`, from the database when there is one, else from the cache.
    /// `to` is capped at the forming bucket, and the database is read back
    /// at most `limit` buckets from the newest tick in the range.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] when the database could not be read in time.
    pub async fn range(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Found, HistoryError> {
        if self.base_of(timeframe).is_some() {
            return self.derived(asset, timeframe, (from, to), limit).await;
        }
        let now_s = now_millis() / 1000;
        let to = to.min(timeframe.bucket_start(now_s));
        if let Some(store) = &self.store {
            let wanted = i64::try_from(limit).unwrap_or(i64::MAX);
            let candles = if from > to {
                Vec::new()
            } else {
                store
                    .latest(asset, timeframe, (from, to), wanted, now_s)
                    .await?
            };
            return Ok(if candles.is_empty() {
                Found {
                    source: HistorySource::CacheMiss,
                    candles: None,
                }
            } else {
                found(HistorySource::Database, candles, limit)
            });
        }
        let recent = self.try_recent(asset, timeframe, usize::MAX).await?;
        Ok(match recent.candles {
            Some(all) => {
                let inside: Vec<Candle> = all
                    .into_iter()
                    .filter(|c| (from..=to).contains(&c.open_time()))
                    .collect();
                if inside.is_empty() {
                    Found {
                        source: HistorySource::CacheMiss,
                        candles: None,
                    }
                } else {
                    found(recent.source, inside, limit)
                }
            }
            None => recent,
        })
    }

    /// The newest `limit` candles of the whole history (as [`History::range`]
    /// reads it, under the same read limits), followed by the hub's candles
    /// from the newest stored one on, so the live forming candle is last.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] when the database could not be read in time.
    pub async fn whole(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        limit: usize,
    ) -> Result<Vec<Candle>, HistoryError> {
        let (first, last) = (TimestampMs::MIN.seconds(), TimestampMs::MAX.seconds());
        let stored = self.range(asset, timeframe, first, last, limit).await?;
        let candles = splice_live(
            stored.candles.unwrap_or_default(),
            self.hub.candles(asset, timeframe),
        );
        Ok(found(stored.source, candles, limit)
            .candles
            .unwrap_or_default())
    }
}

/// The newest `limit` entries of a cached JSON array, with `live` (the
/// hub's newest candle) replacing or following the last one when it is as
/// new or newer. `None` when the text is not a JSON array of candles.
fn splice(text: &str, live: Option<&Candle>, limit: usize) -> Option<Box<RawValue>> {
    let entries: Vec<&RawValue> = serde_json::from_str(text).ok()?;
    let last: Candle = serde_json::from_str(entries.last()?.get()).ok()?;
    let mut parts: Vec<std::borrow::Cow<'_, str>> =
        entries.iter().map(|e| e.get().into()).collect();
    if let Some(live) = live
        && live.open_time() >= last.open_time()
    {
        let json = serde_json::to_string(live).ok()?;
        if live.open_time() == last.open_time() {
            parts.pop();
        }
        parts.push(json.into());
    }
    let skip = parts.len().saturating_sub(limit);
    RawValue::from_string(format!("[{}]", parts[skip..].join(","))).ok()
}

/// `candles` (oldest first) followed by the hub's `live` ones from the
/// newest of them on: a live candle replaces the one of its open time.
fn splice_live(mut candles: Vec<Candle>, live: Vec<Candle>) -> Vec<Candle> {
    for live in live {
        match candles.last_mut() {
            Some(c) if c.open_time() > live.open_time() => {}
            Some(c) if c.open_time() == live.open_time() => *c = live,
            _ => candles.push(live),
        }
    }
    candles
}

fn found(source: HistorySource, mut candles: Vec<Candle>, limit: usize) -> Found {
    let extra = candles.len().saturating_sub(limit);
    candles.drain(..extra);
    Found {
        source,
        candles: Some(candles),
    }
}

/// Work for the cache's one writer (one per process, so that its
/// read-merge-write of a key never races another of the same process).
#[derive(Debug)]
pub enum CacheWork {
    /// A series whose closed candles changed: the hub's are merged in.
    Series(Asset, Timeframe),
    /// Closed candles restated from the store (the hub may no longer hold
    /// them): merged into the series already cached.
    Revised(Vec<Candle>),
}

/// Keeps the cache current: for every candle that closes or is revised,
/// merges the hub's candles of that series into the cache, and merges
/// restated candles. Series are fed without waiting: when it falls behind,
/// later closes bring it up to date; restated candles are never dropped.
pub async fn keep_cache_current(
    cache: CandleCache,
    hub: Hub,
    mut work: mpsc::Receiver<CacheWork>,
    stop: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return,
            next = work.recv() => match next { Some(k) => k, None => return },
        };
        let mut keys = Vec::new();
        let mut revised: Vec<Candle> = Vec::new();
        let mut take = |w: CacheWork| match w {
            CacheWork::Series(a, tf) => {
                if !keys.contains(&(a, tf)) {
                    keys.push((a, tf));
                }
            }
            CacheWork::Revised(mut c) => revised.append(&mut c),
        };
        take(first);
        while let Ok(w) = work.try_recv() {
            take(w);
        }
        for (asset, timeframe) in keys {
            let candles: Vec<Candle> = hub
                .candles(asset, timeframe)
                .into_iter()
                .filter(|c| c.state() != shared::CandleState::Forming)
                .collect();
            if let Err(e) = cache.merge(asset, timeframe, &candles).await {
                tracing::debug!(%asset, %timeframe, "cache not updated: {e}");
            }
        }
        revised.sort_by_key(|c| (c.asset(), c.timeframe(), c.open_time()));
        for series in
            revised.chunk_by(|a, b| (a.asset(), a.timeframe()) == (b.asset(), b.timeframe()))
        {
            let (asset, timeframe) = (series[0].asset(), series[0].timeframe());
            if let Err(e) = cache.revise(asset, timeframe, series).await {
                tracing::debug!(%asset, %timeframe, "cache not revised: {e}");
            }
        }
    }
}

/// The series whose closed candles changed in these events.
pub fn closed_series(events: &[CandleEvent]) -> impl Iterator<Item = (Asset, Timeframe)> + '_ {
    events.iter().filter_map(|e| match e {
        CandleEvent::Closed(c) | CandleEvent::Revised(c) => Some((c.asset(), c.timeframe())),
        _ => None,
    })
}
