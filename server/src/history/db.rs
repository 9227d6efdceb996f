//! Candles computed from the stored ticks, in PostgreSQL: first, highest,
//! lowest and last price and the tick count per bucket, ties in time broken
//! by insertion order as the live aggregator breaks them by arrival order.

use shared::{Asset, Candle, CandleState, Price, Timeframe};
use sqlx::postgres::PgPool;

/// Candles of `asset` in `timeframe` with open times in `from..=to` (Unix
/// seconds), the newest `limit`, oldest first. The bucket holding `now_s` is
/// reported as forming.
///
/// # Errors
///
/// A database error.
pub async fn candles(
    pool: &PgPool,
    asset: Asset,
    timeframe: Timeframe,
    from: i64,
    to: i64,
    limit: i64,
    now_s: i64,
) -> Result<Vec<Candle>, sqlx::Error> {
    let width_ms = timeframe.seconds() * 1000;
    let rows: Vec<(i64, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT b, open::text, high::text, low::text, close::text, n FROM ( \
           SELECT (timestamp - (timestamp % $2)) / 1000 AS b, \
                  (array_agg(price ORDER BY timestamp, id))[1] AS open, \
                  max(price) AS high, min(price) AS low, \
                  (array_agg(price ORDER BY timestamp DESC, id DESC))[1] AS close, \
                  count(*) AS n \
           FROM historical_ticks \
           WHERE pair = $1 AND timestamp >= $3 * 1000 AND timestamp < ($4 * 1000 + $2) \
           GROUP BY 1 ORDER BY 1 DESC LIMIT $5) newest ORDER BY b",
    )
    .bind(asset.as_str())
    .bind(width_ms)
    .bind(timeframe.bucket_start(from))
    .bind(timeframe.bucket_start(to))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let forming = timeframe.bucket_start(now_s);
    Ok(rows
        .into_iter()
        .filter_map(|(b, o, h, l, c, n)| {
            let state = if b == forming {
                CandleState::Forming
            } else {
                CandleState::Closed
            };
            let p = |t: &str| Price::new_checked(t).ok();
            Candle::new_checked(
                asset,
                timeframe,
                b,
                p(&o)?,
                p(&h)?,
                p(&l)?,
                p(&c)?,
                u64::try_from(n).ok()?,
                state,
            )
            .ok()
        })
        .collect())
}

/// The newest `limit` candles, looking only at the ticks they can hold: from
/// the pair's newest tick back `limit` buckets (found through the
/// `(pair, timestamp DESC)` index), not the whole history.
///
/// # Errors
///
/// A database error.
pub async fn newest(
    pool: &PgPool,
    asset: Asset,
    timeframe: Timeframe,
    limit: i64,
    now_s: i64,
) -> Result<Vec<Candle>, sqlx::Error> {
    let newest: Option<i64> =
        sqlx::query_scalar("SELECT max(timestamp) FROM historical_ticks WHERE pair = $1")
            .bind(asset.as_str())
            .fetch_one(pool)
            .await?;
    let Some(newest) = newest else {
        return Ok(Vec::new());
    };
    let to = timeframe.bucket_of_millis(newest);
    let from = to - (limit.max(1) - 1) * timeframe.seconds();
    candles(pool, asset, timeframe, from, to, limit, now_s).await
}
