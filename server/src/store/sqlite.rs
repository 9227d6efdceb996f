//! The embedded tick store: a SQLite file (bundled SQLite, through sqlx),
//! used when `DATABASE_URL` is unset, so the product keeps every tick with
//! no database to install.
//!
//! - Prices are stored exact as fixed-width decimal text ([`price_text`]):
//!   one text per value, and text order is numeric order, so SQLite's
//!   `max()` and `min()` give exact highs and lows (of ticks and of
//!   one-minute candles alike).
//! - Write-ahead logging with `synchronous=FULL`: a committed batch survives
//!   a crash of the process or the machine, and readers never wait on the
//!   writer.
//! - A batch is one transaction of multi-row `INSERT ... ON CONFLICT DO
//!   NOTHING` statements on `(pair, timestamp, price)`.
//! - A trigger merges every inserted tick into its one-minute candle
//!   (`candles_1m`, see [`super::candles`]) in the same transaction;
//!   history reads roll those up, never reading ticks.
//! - History reads use connections of their own, and SQLite interrupts a
//!   read still running at its deadline (a progress handler), so a slow read
//!   ends as a time-out instead of holding a connection.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::{Asset, Candle, Price, Tick, Timeframe, TimestampMs};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::{ReadLimits, StoreError, bucket_candle, candles};

/// SQLite virtual-machine steps between two looks at a read's deadline.
const STEPS_PER_CHECK: i32 = 10_000;

/// Rows per `INSERT` statement (3 parameters each, well under SQLite's
/// 32,766).
const ROWS_PER_STATEMENT: usize = 1_000;

/// Units (10⁻¹⁰) in one.
const UNITS_PER_ONE: u128 = 10_000_000_000;

/// A price as the store keeps it: ten integer digits, a point, ten
/// fractional digits (`1.0823` is `0000000001.0823000000`).
#[must_use]
pub fn price_text(price: Price) -> String {
    let units = price.units();
    format!(
        "{:010}.{:010}",
        units / UNITS_PER_ONE,
        units % UNITS_PER_ONE
    )
}

/// The price [`price_text`] wrote; `None` for anything else.
#[must_use]
pub fn parse_price_text(text: &str) -> Option<Price> {
    let (whole, fraction) = text.split_once('.')?;
    if whole.len() != 10 || fraction.len() != 10 {
        return None;
    }
    let digits = |s: &str| -> Option<u128> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    Price::from_units(digits(whole)? * UNITS_PER_ONE + digits(fraction)?).ok()
}

/// A stored row as a tick.
fn row_tick((pair, price, ts): (String, String, i64)) -> Option<Tick> {
    Some(Tick::new(
        Asset::new_checked(&pair).ok()?,
        parse_price_text(&price)?,
        TimestampMs::new_checked(ts).ok()?,
    ))
}

/// The SQLite tick store; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    /// Writes, the start-up seed and readiness.
    pool: SqlitePool,
    /// History reads, each interrupted at `read_timeout`.
    reads: SqlitePool,
    read_timeout: Duration,
    path: PathBuf,
}

impl SqliteStore {
    /// The store in the file at `path`, created with its folder if missing,
    /// with the default [`ReadLimits`].
    ///
    /// # Errors
    ///
    /// When the folder cannot be created.
    pub fn open(path: &Path, timeout: Duration) -> Result<Self, StoreError> {
        Self::open_with(path, timeout, ReadLimits::default())
    }

    /// The store in the file at `path`, history reads bounded by `reads`.
    ///
    /// # Errors
    ///
    /// When the folder cannot be created.
    pub fn open_with(
        path: &Path,
        timeout: Duration,
        reads: ReadLimits,
    ) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Folder(parent.to_owned(), e))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(timeout.max(Duration::from_secs(5)));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_lazy_with(options.clone());
        let read_timeout = reads.timeout;
        let reads = SqlitePoolOptions::new()
            .max_connections(reads.connections)
            .acquire_timeout(read_timeout)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            reads,
            read_timeout,
            path: path.to_owned(),
        })
    }

    /// A read connection that SQLite interrupts once the read timeout has
    /// passed (`SQLITE_INTERRUPT`, reported as [`StoreError::TimedOut`]).
    async fn read_connection(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        let mut conn = self.reads.acquire().await?;
        let deadline = Instant::now() + self.read_timeout;
        conn.lock_handle()
            .await?
            .set_progress_handler(STEPS_PER_CHECK, move || Instant::now() < deadline);
        Ok(conn)
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the migrations in `migrations/sqlite/` (idempotent), then
    /// merges ticks stored before the candle table into it; returns how
    /// many migrations were newly applied.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened or a migration fails.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let count = "SELECT count(*) FROM _sqlx_migrations WHERE success";
        let before: i64 = sqlx::query_scalar(count)
            .fetch_one(&self.pool)
            .await
            .unwrap_or(0);
        sqlx::migrate!("../migrations/sqlite")
            .run(&self.pool)
            .await?;
        let after: i64 = sqlx::query_scalar(count).fetch_one(&self.pool).await?;
        candles::backfill_sqlite(&self.pool).await?;
        Ok(usize::try_from(after - before).unwrap_or(0))
    }

    /// Inserts ticks in one transaction, skipping those already stored.
    /// Returns how many rows were new.
    ///
    /// # Errors
    ///
    /// [`StoreError`], transient or not; on error nothing is written.
    pub async fn insert(&self, ticks: &[Tick]) -> Result<u64, StoreError> {
        if ticks.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for chunk in ticks.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO historical_ticks (pair, price, timestamp) ",
            );
            query.push_values(chunk, |mut row, t| {
                row.push_bind(t.asset.as_str())
                    .push_bind(price_text(t.price))
                    .push_bind(t.timestamp.millis());
            });
            query.push(" ON CONFLICT (pair, timestamp, price) DO NOTHING");
            inserted += query.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Every tick stamped at or after `from_ms`, in (timestamp, insertion)
    /// order, at most `limit`.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn ticks_since(&self, from_ms: i64, limit: i64) -> Result<Vec<Tick>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT pair, price, timestamp FROM historical_ticks WHERE timestamp >= ? \
             ORDER BY timestamp, id LIMIT ?",
        )
        .bind(from_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(row_tick).collect())
    }

    /// Candles of `asset` in `timeframe` with open times in `from..=to`, the
    /// newest `limit`, oldest first, rolled up by SQLite from the one-minute
    /// candles of `candles_1m` (which the store keeps with the ticks) over
    /// its key: tick count, `max` and `min` of the fixed-width prices per
    /// bucket, the open of its first minute and the close of its last.
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
        let rows: Vec<(i64, i64, String, String, String, String)> = sqlx::query_as(
            "SELECT b, n, high, low, \
               (SELECT open FROM candles_1m o \
                 WHERE o.pair = ?1 AND o.bucket >= b AND o.bucket < b + ?2 \
                 ORDER BY o.bucket LIMIT 1), \
               (SELECT close FROM candles_1m c \
                 WHERE c.pair = ?1 AND c.bucket >= b AND c.bucket < b + ?2 \
                 ORDER BY c.bucket DESC LIMIT 1) \
             FROM ( \
               SELECT bucket - bucket % ?2 AS b, sum(ticks) AS n, max(high) AS high, min(low) AS low \
               FROM candles_1m WHERE pair = ?1 AND bucket >= ?3 AND bucket < ?4 + ?2 \
               GROUP BY 1 ORDER BY 1 DESC LIMIT ?5) \
             ORDER BY b",
        )
        .bind(asset.as_str())
        .bind(width)
        .bind(first)
        .bind(last)
        .bind(limit)
        .fetch_all(&mut *self.read_connection().await?)
        .await?;
        let forming = timeframe.bucket_start(now_s);
        Ok(rows
            .into_iter()
            .filter_map(|(b, n, high, low, open, close)| {
                let prices = [&open, &high, &low, &close].map(|t| parse_price_text(t));
                bucket_candle(asset, timeframe, forming, b, prices, n)
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
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM historical_ticks WHERE pair = ?)")
                .bind(asset.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The open time (Unix seconds) of the newest one-minute candle of
    /// `asset` opening in `from..until`, through `candles_1m`'s key.
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
        Ok(sqlx::query_scalar(
            "SELECT max(bucket) FROM candles_1m WHERE pair = ? AND bucket >= ? AND bucket < ?",
        )
        .bind(asset.as_str())
        .bind(from)
        .bind(until)
        .fetch_one(&mut *self.read_connection().await?)
        .await?)
    }

    /// The write pool, for tests and tools that read the file directly.
    #[must_use]
    pub const fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_text_is_fixed_width_exact_and_sorts_as_numbers() {
        let texts: Vec<String> = [
            "0.0000000001",
            "9.5",
            "10.5",
            "1.0823",
            "9999999999.9999999999",
        ]
        .into_iter()
        .map(|p| price_text(Price::new(p)))
        .collect();
        assert_eq!(texts[3], "0000000001.0823000000");
        for (text, price) in texts.iter().zip([
            "0.0000000001",
            "9.5",
            "10.5",
            "1.0823",
            "9999999999.9999999999",
        ]) {
            assert_eq!(text.len(), 21);
            assert_eq!(parse_price_text(text), Some(Price::new(price)));
        }
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [&texts[0], &texts[3], &texts[1], &texts[2], &texts[4]].map(String::clone)
        );
        for bad in [
            "1.0823",
            "0000000000.0000000000",
            "000000001a.0000000000",
            "+000000001.000000000",
            "",
        ] {
            assert_eq!(parse_price_text(bad), None, "{bad}");
        }
    }
}
