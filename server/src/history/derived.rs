//! History of a timeframe beyond the seven built from ticks (`90M`, `1W`,
//! ...): the candles of its base timeframe ([`Timeframe::base`]), read from
//! the store (or, without one, the cache) with the hub's live ones after
//! them, rolled up by `shared`'s [`resample_in`]. Such series are not
//! cached. With `DAY_START` elsewhere than midnight UTC, days and weeks are
//! read so from the store too, from a base that tiles every session
//! ([`Sessions::base`]: `15M`, or `1M`).

use shared::protocol::HistorySource;
use shared::{Asset, Candle, CandleState, Sessions, Timeframe, TimestampMs, resample_in};

use super::{Found, History, HistoryError, found, splice_live};
use crate::clock::now_millis;

/// Most base candles one read rolls up (about 69 days of minutes): a
/// timeframe many times its base's width answers fewer candles than asked
/// rather than reading years of ticks.
const MAX_BASE_CANDLES: usize = 100_000;

impl History {
    /// The timeframe `x` is rolled up from, if it is not read as it is:
    /// one beyond the seven, or a day or a week when `DAY_START` is not
    /// midnight UTC.
    pub(super) fn base_of(&self, x: Timeframe) -> Option<Timeframe> {
        if matches!(x, Timeframe::D1 | Timeframe::W1) && !self.sessions.is_utc() {
            Some(self.sessions.base())
        } else if x.is_precomputed() {
            None
        } else {
            Some(x.base())
        }
    }

    /// Candles of the derived timeframe `x` with open times in
    /// `from..=to` (Unix seconds), the newest `limit` of them.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] when the database could not be read in time.
    pub(super) async fn derived(
        &self,
        asset: Asset,
        x: Timeframe,
        (from, to): (i64, i64),
        limit: usize,
    ) -> Result<Found, HistoryError> {
        let base = self.base_of(x).unwrap_or(x);
        let sessions = &self.sessions;
        let ratio = usize::try_from(x.seconds() / base.seconds()).unwrap_or(1);
        // One more bucket than asked, so a partial oldest one can be left out.
        let wanted = limit
            .saturating_add(1)
            .saturating_mul(ratio)
            .min(MAX_BASE_CANDLES);
        let now_s = now_millis() / 1000;
        // Whole buckets of `x`: from the first opening at or after `from`
        // to the last base candle of the bucket holding `to`.
        let first = sessions.bucket_start(x, from);
        let from = if first < from {
            sessions.bucket_end(x, first)
        } else {
            first
        };
        let to = sessions.bucket_end(x, sessions.bucket_start(x, to.min(now_s))) - base.seconds();
        if from > to {
            return Ok(miss());
        }
        let (source, parts) = if let Some(store) = &self.store {
            let count = i64::try_from(wanted).unwrap_or(i64::MAX);
            let stored = store.latest(asset, base, (from, to), count, now_s).await?;
            (HistorySource::Database, stored)
        } else if let Some(cache) = &self.cache
            && let Some(cached) = cache.get(asset, base).await
        {
            (HistorySource::RedisCache, cached)
        } else {
            return Ok(miss());
        };
        let mut parts = splice_live(parts, self.hub.candles(asset, base));
        parts.retain(|c| (from..=to).contains(&c.open_time()));
        let saturated = parts.len() >= wanted;
        let skip = parts.len().saturating_sub(wanted);
        let mut candles = roll_up(&parts[skip..], x, sessions, now_s);
        if saturated && !candles.is_empty() {
            candles.remove(0);
        }
        if candles.is_empty() {
            return Ok(miss());
        }
        Ok(found(source, candles, limit))
    }

    /// The newest `limit` candles of the derived timeframe `x`.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] when the database could not be read in time.
    pub(super) async fn derived_recent(
        &self,
        asset: Asset,
        x: Timeframe,
        limit: usize,
    ) -> Result<Found, HistoryError> {
        let all = (TimestampMs::MIN.seconds(), TimestampMs::MAX.seconds());
        self.derived(asset, x, all, limit).await
    }
}

impl History {
    /// The stored base candles a live series of the derived timeframe `x`
    /// starts from: those of its forming bucket and the one before, with
    /// the start of that window. `None` for a timeframe built from ticks,
    /// without a store, or when it cannot be read (the hub then starts from
    /// its own base candles).
    pub async fn seed(&self, asset: Asset, x: Timeframe) -> Option<(i64, Vec<Candle>)> {
        if x.is_precomputed() {
            return None;
        }
        self.store.as_ref()?;
        let now_s = now_millis() / 1000;
        let current = self.sessions.bucket_start(x, now_s);
        let from = self.sessions.bucket_start(x, current - 1);
        let count = usize::try_from(2 * x.seconds() / x.base().seconds() + 2).unwrap_or(2);
        let found = self.range(asset, x.base(), from, now_s, count).await.ok()?;
        let candles = found.candles.unwrap_or_default();
        Some((from, candles))
    }
}

/// Base candles (one asset, in order) rolled up to `x`; the bucket holding
/// `now_s` is forming, as the live one is.
fn roll_up(parts: &[Candle], x: Timeframe, sessions: &Sessions, now_s: i64) -> Vec<Candle> {
    let forming = sessions.bucket_start(x, now_s);
    resample_in(parts, x, sessions)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            if c.open_time() == forming {
                c.with_state(CandleState::Forming)
            } else {
                c
            }
        })
        .collect()
}

const fn miss() -> Found {
    Found {
        source: HistorySource::CacheMiss,
        candles: None,
    }
}
