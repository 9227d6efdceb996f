//! The embedded tick store: a SQLite file (bundled SQLite, through sqlx),
//! used when `DATABASE_URL` is unset, so the product keeps every tick with
//! no database to install.
//!
//! - Prices are stored as their exact canonical decimal text; candles are
//!   folded in Rust ([`super::fold`]), never by SQL arithmetic on text.
//! - Write-ahead logging with `synchronous=FULL`: a committed batch survives
//!   a crash of the process or the machine, and readers never wait on the
//!   writer.
//! - A batch is one transaction of multi-row `INSERT ... ON CONFLICT DO
//!   NOTHING` statements on `(pair, timestamp, price)`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::TryStreamExt;
use shared::{Asset, Candle, Price, Tick, Timeframe};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::fold::CandleFold;
use super::{StoreError, row_tick};

/// Rows per `INSERT` statement (3 parameters each, well under SQLite's
/// 32,766).
const ROWS_PER_STATEMENT: usize = 1_000;

/// The SQLite tick store; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl SqliteStore {
    /// The store in the file at `path`, created with its folder if missing.
    ///
    /// # Errors
    ///
    /// When the folder cannot be created.
    pub fn open(path: &Path, timeout: Duration) -> Result<Self, StoreError> {
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
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            path: path.to_owned(),
        })
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the migrations in `migrations/sqlite/` (idempotent).
    ///
    /// # Errors
    ///
    /// When the file cannot be opened or a migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
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
                    .push_bind(t.price.to_string())
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
    /// newest `limit`, oldest first, folded from the ticks as they stream
    /// out of the `(pair, timestamp)` index.
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
        let width_ms = timeframe.seconds() * 1000;
        let start = timeframe.bucket_start(from).saturating_mul(1000);
        let end = timeframe
            .bucket_start(to)
            .saturating_mul(1000)
            .saturating_add(width_ms);
        let mut fold = CandleFold::new(asset, timeframe, usize::try_from(limit).unwrap_or(1));
        let mut rows = sqlx::query_as::<_, (String, i64)>(
            "SELECT price, timestamp FROM historical_ticks \
             WHERE pair = ? AND timestamp >= ? AND timestamp < ? ORDER BY timestamp, id",
        )
        .bind(asset.as_str())
        .bind(start)
        .bind(end)
        .fetch(&self.pool);
        while let Some((price, ts)) = rows.try_next().await? {
            if let Ok(price) = Price::new_checked(&price) {
                fold.push(ts, price);
            }
        }
        Ok(fold.finish(now_s))
    }

    /// The newest tick time of `asset`, Unix milliseconds.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn newest_tick(&self, asset: Asset) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT max(timestamp) FROM historical_ticks WHERE pair = ?")
                .bind(asset.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The pool, for tests and tools that read the file directly.
    #[must_use]
    pub const fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}
