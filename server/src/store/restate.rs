//! What restating candles needs from the store (always the primary, through
//! the write pool: a replica may lag behind the ticks just written): whether
//! given ticks are stored yet, and candles of arbitrary time ranges,
//! computed as [`TickStore::candles`] computes them (ties in time broken by
//! insertion order).

use std::collections::HashSet;

use shared::{Asset, Candle, Price, Tick, Timeframe};
use sqlx::{Postgres, QueryBuilder, Sqlite};

use super::sqlite::{parse_price_text, price_text};
use super::{StoreError, TickStore, bucket_candle};

/// Ticks looked up per SQLite statement (3 parameters each).
const LOOKUPS_PER_STATEMENT: usize = 300;

impl TickStore {
    /// How many of `ticks` (duplicates counted once) are stored, through
    /// the unique key's index.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn contains(&self, ticks: &[Tick]) -> Result<u64, StoreError> {
        let distinct: Vec<Tick> = {
            let mut seen = HashSet::new();
            ticks.iter().filter(|t| seen.insert(**t)).copied().collect()
        };
        let mut found = 0;
        match self {
            Self::Postgres(s) => {
                for chunk in distinct.chunks(10_000) {
                    let pairs: Vec<&str> = chunk.iter().map(|t| t.asset.as_str()).collect();
                    let prices: Vec<String> = chunk.iter().map(|t| t.price.to_string()).collect();
                    let stamps: Vec<i64> = chunk.iter().map(|t| t.timestamp.millis()).collect();
                    let n: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM UNNEST($1::varchar[], $2::text[], $3::bigint[]) AS t(pair, price, ts) \
                         WHERE EXISTS (SELECT 1 FROM historical_ticks h \
                           WHERE h.pair = t.pair AND h.timestamp = t.ts AND h.price = t.price::numeric)",
                    )
                    .bind(&pairs)
                    .bind(&prices)
                    .bind(&stamps)
                    .fetch_one(s.pool())
                    .await?;
                    found += u64::try_from(n).unwrap_or(0);
                }
            }
            Self::Sqlite(s) => {
                for chunk in distinct.chunks(LOOKUPS_PER_STATEMENT) {
                    let mut query = QueryBuilder::<Sqlite>::new(
                        "SELECT count(*) FROM historical_ticks WHERE (pair, timestamp, price) IN (VALUES ",
                    );
                    let mut list = query.separated(", ");
                    for t in chunk {
                        list.push("(")
                            .push_bind_unseparated(t.asset.as_str())
                            .push_unseparated(", ")
                            .push_bind_unseparated(t.timestamp.millis())
                            .push_unseparated(", ")
                            .push_bind_unseparated(price_text(t.price))
                            .push_unseparated(")");
                    }
                    query.push(")");
                    let n: i64 = query.build_query_scalar().fetch_one(s.pool()).await?;
                    found += u64::try_from(n).unwrap_or(0);
                }
            }
        }
        Ok(found)
    }

    /// The candle of the ticks of `asset` stamped in `from_ms..until_ms`,
    /// labelled as the `timeframe` candle opening at `open_time`; `None` if
    /// there are none.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn part(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        open_time: i64,
        (from_ms, until_ms): (i64, i64),
    ) -> Result<Option<Candle>, StoreError> {
        let (n, prices) = match self {
            Self::Postgres(s) => {
                let row: (i64, Option<String>, Option<String>, Option<String>, Option<String>) =
                    sqlx::query_as(
                        "SELECT count(*), (array_agg(price ORDER BY timestamp, id))[1]::text, \
                           max(price)::text, min(price)::text, \
                           (array_agg(price ORDER BY timestamp DESC, id DESC))[1]::text \
                         FROM historical_ticks WHERE pair = $1 AND timestamp >= $2 AND timestamp < $3",
                    )
                    .bind(asset.as_str())
                    .bind(from_ms)
                    .bind(until_ms)
                    .fetch_one(s.pool())
                    .await?;
                let p = |t: Option<String>| t.and_then(|t| Price::new_checked(&t).ok());
                (row.0, [p(row.1), p(row.2), p(row.3), p(row.4)])
            }
            Self::Sqlite(s) => {
                let row: (i64, Option<String>, Option<String>, Option<String>, Option<String>) =
                    sqlx::query_as(
                        "SELECT count(*), \
                           (SELECT price FROM historical_ticks WHERE pair = ?1 AND timestamp >= ?2 AND timestamp < ?3 \
                             ORDER BY timestamp, id LIMIT 1), \
                           max(price), min(price), \
                           (SELECT price FROM historical_ticks WHERE pair = ?1 AND timestamp >= ?2 AND timestamp < ?3 \
                             ORDER BY timestamp DESC, id DESC LIMIT 1) \
                         FROM historical_ticks WHERE pair = ?1 AND timestamp >= ?2 AND timestamp < ?3",
                    )
                    .bind(asset.as_str())
                    .bind(from_ms)
                    .bind(until_ms)
                    .fetch_one(s.pool())
                    .await?;
                let p = |t: Option<String>| t.and_then(|t| parse_price_text(&t));
                (row.0, [p(row.1), p(row.2), p(row.3), p(row.4)])
            }
        };
        if n == 0 {
            return Ok(None);
        }
        Ok(bucket_candle(
            asset,
            timeframe,
            i64::MIN,
            open_time,
            prices,
            n,
        ))
    }

    /// The candles of `asset` in `timeframe` whose buckets open in
    /// `from..=to` (Unix seconds), oldest first, every one closed.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn whole_candles(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        (from, to): (i64, i64),
    ) -> Result<Vec<Candle>, StoreError> {
        let width_ms = timeframe.seconds() * 1000;
        let (start, end) = (from * 1000, to * 1000 + width_ms);
        let rows: Vec<(i64, i64, String, String, String, String)> = match self {
            Self::Postgres(s) => {
                let mut query = QueryBuilder::<Postgres>::new(
                    "SELECT (timestamp - (timestamp % ",
                );
                query
                    .push_bind(width_ms)
                    .push(")) / 1000 AS b, count(*), (array_agg(price ORDER BY timestamp, id))[1]::text, \
                       max(price)::text, min(price)::text, \
                       (array_agg(price ORDER BY timestamp DESC, id DESC))[1]::text \
                     FROM historical_ticks WHERE pair = ")
                    .push_bind(asset.as_str())
                    .push(" AND timestamp >= ")
                    .push_bind(start)
                    .push(" AND timestamp < ")
                    .push_bind(end)
                    .push(" GROUP BY 1 ORDER BY 1");
                query.build_query_as().fetch_all(s.pool()).await?
            }
            Self::Sqlite(s) => {
                sqlx::query_as(
                    "SELECT b * ?2 / 1000, n, \
                       (SELECT price FROM historical_ticks o \
                         WHERE o.pair = ?1 AND o.timestamp >= b * ?2 AND o.timestamp < (b + 1) * ?2 \
                         ORDER BY o.timestamp, o.id LIMIT 1), \
                       high, low, \
                       (SELECT price FROM historical_ticks c \
                         WHERE c.pair = ?1 AND c.timestamp >= b * ?2 AND c.timestamp < (b + 1) * ?2 \
                         ORDER BY c.timestamp DESC, c.id DESC LIMIT 1) \
                     FROM ( \
                       SELECT timestamp / ?2 AS b, count(*) AS n, max(price) AS high, min(price) AS low \
                       FROM historical_ticks WHERE pair = ?1 AND timestamp >= ?3 AND timestamp < ?4 \
                       GROUP BY 1) \
                     ORDER BY 1",
                )
                .bind(asset.as_str())
                .bind(width_ms)
                .bind(start)
                .bind(end)
                .fetch_all(s.pool())
                .await?
            }
        };
        let sqlite = matches!(self, Self::Sqlite(_));
        Ok(rows
            .into_iter()
            .filter_map(|(b, n, open, high, low, close)| {
                let prices = [&open, &high, &low, &close].map(|t| {
                    if sqlite {
                        parse_price_text(t)
                    } else {
                        Price::new_checked(t).ok()
                    }
                });
                bucket_candle(asset, timeframe, i64::MIN, b, prices, n)
            })
            .collect())
    }
}
