//! The PostgreSQL tick store: `historical_ticks`, written in bulk with
//! `INSERT ... ON CONFLICT DO NOTHING` on the natural identity of a tick, so
//! a replayed or retried batch inserts nothing twice; candles rolled up by
//! PostgreSQL from the one-minute candles a trigger keeps with the ticks
//! (`candles_1m`, see [`super::candles`]).
//!
//! Prices travel as their exact decimal text and are cast to `NUMERIC` by
//! PostgreSQL: no float anywhere.
//!
//! History reads (candles) go through a pool of their own whose connections
//! carry a `statement_timeout`, so a wide or slow read is cancelled by
//! PostgreSQL itself and never holds a connection the persister writes
//! through; with `DATABASE_READ_URL`, through a read replica first
//! ([`super::replica`]).

use std::str::FromStr;
use std::time::Duration;

use shared::{Asset, Candle, Price, Tick, Timeframe};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::replica::{Reads, ReplicaStatus, read_pool};
use super::{ReadLimits, StoreError, bucket_candle, candles, row_tick, schema};

/// The PostgreSQL tick store; cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    /// Writes, the start-up seed and readiness.
    pool: PgPool,
    /// History reads, each under the read timeout: on the primary, or on
    /// the read replica falling back to the primary.
    reads: Reads,
}

impl PgStore {
    /// A store for `url` with the default [`ReadLimits`]. Connects lazily:
    /// the server starts even when the database is down, and the persister
    /// retries until it is up.
    ///
    /// # Errors
    ///
    /// When `url` is not a valid PostgreSQL URL.
    pub fn connect_lazy(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::connect_lazy_with(url, timeout, ReadLimits::default())
    }

    /// A store for `url` whose history reads are bounded by `reads`.
    ///
    /// # Errors
    ///
    /// When `url` is not a valid PostgreSQL URL.
    pub fn connect_lazy_with(
        url: &str,
        timeout: Duration,
        reads: ReadLimits,
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::Unavailable)?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_lazy_with(options.clone());
        let reads = Reads::primary(read_pool(options, reads));
        Ok(Self { pool, reads })
    }

    /// The same store, its history reads going to the read replica at
    /// `url` first (its pool bounded by `limits`).
    ///
    /// # Errors
    ///
    /// [`StoreError::ReadReplica`] when `url` is not a PostgreSQL URL.
    pub fn with_read_replica(self, url: &str, limits: ReadLimits) -> Result<Self, StoreError> {
        let reads = self.reads.with_replica(url, limits)?;
        Ok(Self { reads, ..self })
    }

    /// Checks the read replica, if there is one, at start-up (see
    /// [`super::replica`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::ReadReplica`] when it is not fit to read from.
    pub async fn check_read_replica(&self) -> Result<(), StoreError> {
        self.reads.check_replica().await
    }

    /// The read replica's counters; `None` without one.
    #[must_use]
    pub fn read_replica(&self) -> Option<ReplicaStatus> {
        self.reads.replica_status()
    }

    /// Applies the migrations in `migrations/` (idempotent), with the
    /// owner's rights, then merges ticks stored before the candle table
    /// into it. Returns how many migrations were newly applied.
    ///
    /// # Errors
    ///
    /// When the database is unreachable or a migration fails.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let applied = schema::migrate(&self.pool).await?;
        candles::backfill_pg(&self.pool).await?;
        Ok(applied)
    }

    /// How the schema differs from this binary's migrations (`"1 of 2
    /// migrations applied"`, say), or `None` when it is current. Reads only.
    ///
    /// # Errors
    ///
    /// When the database is unreachable or `_sqlx_migrations` unreadable.
    pub async fn pending_migrations(&self) -> Result<Option<String>, StoreError> {
        schema::behind(&self.pool).await
    }

    /// Inserts ticks in one statement, skipping those already stored.
    /// Returns how many rows were new.
    ///
    /// # Errors
    ///
    /// [`StoreError`], transient or not.
    pub async fn insert(&self, ticks: &[Tick]) -> Result<u64, StoreError> {
        if ticks.is_empty() {
            return Ok(0);
        }
        let pairs: Vec<String> = ticks.iter().map(|t| t.asset.to_string()).collect();
        let prices: Vec<String> = ticks.iter().map(|t| t.price.to_string()).collect();
        let stamps: Vec<i64> = ticks.iter().map(|t| t.timestamp.millis()).collect();
        let done = sqlx::query(
            "INSERT INTO historical_ticks (pair, price, timestamp) \
             SELECT pair, price::numeric, ts FROM UNNEST($1::varchar[], $2::text[], $3::bigint[]) AS t(pair, price, ts) \
             ON CONFLICT (pair, timestamp, price) DO NOTHING",
        )
        .bind(&pairs)
        .bind(&prices)
        .bind(&stamps)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// [`PgStore::insert`] split by asset over `parts` connections at once,
    /// so PostgreSQL works on several cores. Parts never share a key, so they
    /// never wait on each other. Returns the rows that were new.
    ///
    /// # Errors
    ///
    /// The first part's error. Parts that committed stay committed; writing
    /// the whole batch again inserts only what is missing.
    pub async fn insert_parallel(&self, ticks: &[Tick], parts: usize) -> Result<u64, StoreError> {
        let parts = parts.clamp(1, 8);
        if parts == 1 || ticks.len() < 2_000 {
            return self.insert(ticks).await;
        }
        let mut split: Vec<Vec<Tick>> = vec![Vec::with_capacity(ticks.len() / parts + 1); parts];
        for t in ticks {
            let h = t.asset.as_str().bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            split[h % parts].push(*t);
        }
        let results =
            futures_util::future::join_all(split.iter().map(|part| self.insert(part))).await;
        let mut inserted = 0;
        for r in results {
            inserted += r?;
        }
        Ok(inserted)
    }

    /// The same as [`PgStore::insert`] by another road: `COPY` the rows
    /// into a temporary staging table, then one `INSERT ... SELECT ... ON
    /// CONFLICT DO NOTHING`. Kept for the comparison in BENCHMARKS.md.
    ///
    /// # Errors
    ///
    /// [`StoreError`], transient or not.
    pub async fn insert_via_copy(&self, ticks: &[Tick]) -> Result<u64, StoreError> {
        use std::fmt::Write;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS tick_staging (pair varchar(20), price numeric(20,10), ts bigint) ON COMMIT DELETE ROWS",
        )
        .execute(&mut *tx)
        .await?;
        let mut csv = String::with_capacity(ticks.len() * 40);
        for t in ticks {
            let _ = writeln!(csv, "{},{},{}", t.asset, t.price, t.timestamp.millis());
        }
        let mut copy = tx
            .copy_in_raw("COPY tick_staging (pair, price, ts) FROM STDIN (FORMAT csv)")
            .await?;
        copy.send(csv.as_bytes()).await?;
        copy.finish().await?;
        let done = sqlx::query(
            "INSERT INTO historical_ticks (pair, price, timestamp) SELECT pair, price, ts FROM tick_staging \
             ON CONFLICT (pair, timestamp, price) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Every tick stamped at or after `from_ms`, in (timestamp, insertion)
    /// order, at most `limit`.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn ticks_since(&self, from_ms: i64, limit: i64) -> Result<Vec<Tick>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT pair, price::text, timestamp FROM historical_ticks WHERE timestamp >= $1 \
             ORDER BY timestamp, id LIMIT $2",
        )
        .bind(from_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(row_tick).collect())
    }

    /// Candles of `asset` in `timeframe` with open times in `from..=to` (Unix
    /// seconds), the newest `limit`, oldest first, read through the read
    /// pools (the replica's first, when there is one) and rolled up by
    /// PostgreSQL from the one-minute candles of `candles_1m` (which the
    /// store keeps with the ticks): first open, highest high, lowest low,
    /// last close and the tick count per bucket, the first and last minute
    /// found in one pass as the least and greatest `ARRAY[bucket, price]`.
    /// The bucket holding `now_s` is forming.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn candles(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        (from, to): (i64, i64),
        limit: i64,
        now_s: i64,
    ) -> Result<Vec<Candle>, StoreError> {
        let width = timeframe.seconds();
        let (first, last) = (timeframe.bucket_start(from), timeframe.bucket_start(to));
        let rows: Vec<(i64, String, String, String, String, i64)> = self
            .reads
            .run(|pool| async move {
                sqlx::query_as(
                    "SELECT b, (o[2])::text, high::text, low::text, (c[2])::text, n FROM ( \
                       SELECT bucket - bucket % $2 AS b, \
                              min(ARRAY[bucket, open]) AS o, max(high) AS high, min(low) AS low, \
                              max(ARRAY[bucket, close]) AS c, sum(ticks)::bigint AS n \
                       FROM candles_1m \
                       WHERE pair = $1 AND bucket >= $3 AND bucket < $4 + $2 \
                       GROUP BY 1 ORDER BY 1 DESC LIMIT $5) newest ORDER BY b",
                )
                .bind(asset.as_str())
                .bind(width)
                .bind(first)
                .bind(last)
                .bind(limit)
                .fetch_all(&pool)
                .await
            })
            .await?;
        let forming = timeframe.bucket_start(now_s);
        Ok(rows
            .into_iter()
            .filter_map(|(b, o, h, l, c, n)| {
                let p = |t: &str| Price::new_checked(t).ok();
                bucket_candle(
                    asset,
                    timeframe,
                    forming,
                    b,
                    [p(&o), p(&h), p(&l), p(&c)],
                    n,
                )
            })
            .collect())
    }

    /// Whether any tick of `asset` is stored: one probe of the pair index.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn has_ticks(&self, asset: Asset) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM historical_ticks WHERE pair = $1)")
                .bind(asset.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The open time (Unix seconds) of the newest one-minute candle of
    /// `asset` opening in `from..until`, through `candles_1m`'s key, read as
    /// [`PgStore::candles`] are.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn newest_minute(
        &self,
        asset: Asset,
        from: i64,
        until: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.reads
            .run(|pool| async move {
                sqlx::query_scalar(
                    "SELECT max(bucket) FROM candles_1m \
                     WHERE pair = $1 AND bucket >= $2 AND bucket < $3",
                )
                .bind(asset.as_str())
                .bind(from)
                .bind(until)
                .fetch_one(&pool)
                .await
            })
            .await
    }

    /// The write pool (writes, the seed, readiness, migrations).
    #[must_use]
    pub const fn pool(&self) -> &PgPool {
        &self.pool
    }
}
