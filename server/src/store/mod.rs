//! The tick store: every accepted tick, exactly once, and the candles
//! computed from them.
//!
//! - [`postgres`]: PostgreSQL's `historical_ticks` (`DATABASE_URL=postgres://...`).
//! - [`sqlite`]: the embedded store, a SQLite file (the default, `data/tickstream.db`).
//!
//! Both stores keep the natural identity `(pair, timestamp, price)` unique,
//! so a replayed or retried batch inserts nothing twice, and both keep
//! prices exact.

pub mod postgres;
pub mod sqlite;

use std::path::PathBuf;
use std::time::Duration;

use shared::{Asset, Candle, CandleState, Price, Tick, Timeframe, TimestampMs};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Where the embedded store lives when `DATABASE_URL` is unset.
pub const DEFAULT_SQLITE_PATH: &str = "data/tickstream.db";

/// Where ticks are kept, from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// `none`: ticks are not stored.
    Nothing,
    /// `postgres://...` or `postgresql://...`.
    Postgres(String),
    /// `sqlite:PATH` or `sqlite://PATH`; unset or empty: [`DEFAULT_SQLITE_PATH`].
    Sqlite(PathBuf),
}

impl StoreTarget {
    /// Reads a `DATABASE_URL` value; `None` (unset) means the embedded store.
    ///
    /// # Errors
    ///
    /// A scheme that is neither PostgreSQL nor SQLite, or an empty SQLite path.
    pub fn parse(url: Option<&str>) -> Result<Self, String> {
        let url = url.map(str::trim).unwrap_or_default();
        if url.is_empty() {
            return Ok(Self::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH)));
        }
        if url.eq_ignore_ascii_case("none") {
            return Ok(Self::Nothing);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("a SQLite URL needs a file path: sqlite:data/tickstream.db".to_owned());
            }
            if path.contains('?') {
                return Err("a SQLite URL takes a file path and no options".to_owned());
            }
            if path == ":memory:" {
                return Err(
                    "an in-memory SQLite database keeps nothing: name a file, sqlite:data/tickstream.db"
                        .to_owned(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(format!(
            "expected postgres://..., sqlite:PATH or none, got {:?}",
            url.split(':').next().unwrap_or_default()
        ))
    }
}

/// Why a write failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable or the connection broke: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database refused the data itself: retrying the same rows fails again.
    #[error("database refused the rows: {0}")]
    Refused(#[source] sqlx::Error),
    /// The migrations could not be applied.
    #[error("migrations failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The embedded store's folder could not be created.
    #[error("cannot create {0}: {1}")]
    Folder(PathBuf, #[source] std::io::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            // Constraint violations, and PostgreSQL's class 22 (data
            // exception), are about the rows; anything else (connection,
            // pool, server state, a locked file) may pass.
            sqlx::Error::Database(db)
                if !matches!(db.kind(), ErrorKind::Other)
                    || db.code().is_some_and(|c| c.starts_with("22")) =>
            {
                Self::Refused(e)
            }
            _ => Self::Unavailable(e),
        }
    }
}

impl StoreError {
    /// Whether the same write may succeed later.
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        !matches!(self, Self::Refused(_))
    }
}

/// A stored PostgreSQL row as a tick; `None` for a row that is not a valid
/// tick (which the constraints never let in).
pub(crate) fn row_tick((pair, price, ts): (String, String, i64)) -> Option<Tick> {
    Some(Tick::new(
        Asset::new_checked(&pair).ok()?,
        Price::new_checked(&price).ok()?,
        TimestampMs::new_checked(ts).ok()?,
    ))
}

/// A bucket a store computed as a candle: open, high, low and close (in that
/// order), the tick count; the bucket opening at `forming` (Unix s) is
/// forming, the rest closed. `None` if any part is not valid.
pub(crate) fn bucket_candle(
    asset: Asset,
    timeframe: Timeframe,
    forming: i64,
    open_time: i64,
    [open, high, low, close]: [Option<Price>; 4],
    ticks: i64,
) -> Option<Candle> {
    let state = if open_time == forming {
        CandleState::Forming
    } else {
        CandleState::Closed
    };
    Candle::new_checked(
        asset,
        timeframe,
        open_time,
        open?,
        high?,
        low?,
        close?,
        u64::try_from(ticks).ok()?,
        state,
    )
    .ok()
}

/// The tick store in use; cheap to clone.
#[derive(Clone)]
pub enum TickStore {
    /// PostgreSQL.
    Postgres(PgStore),
    /// The embedded SQLite file.
    Sqlite(SqliteStore),
}

impl TickStore {
    /// The store `target` names, or `None` for [`StoreTarget::Nothing`].
    /// Connects lazily: the server starts even when the database is down,
    /// and the persister retries until it is up.
    ///
    /// # Errors
    ///
    /// When the URL is not usable or the SQLite folder cannot be created.
    pub fn open(target: &StoreTarget, timeout: Duration) -> Result<Option<Self>, StoreError> {
        Ok(match target {
            StoreTarget::Nothing => None,
            StoreTarget::Postgres(url) => {
                Some(Self::Postgres(PgStore::connect_lazy(url, timeout)?))
            }
            StoreTarget::Sqlite(path) => Some(Self::Sqlite(SqliteStore::open(path, timeout)?)),
        })
    }

    /// A store for `url` (`postgres://...` or `sqlite:PATH`).
    ///
    /// # Errors
    ///
    /// When the URL is not a store URL or is not usable.
    pub fn connect_lazy(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let target = StoreTarget::parse(Some(url))
            .map_err(|e| StoreError::Unavailable(sqlx::Error::Configuration(e.into())))?;
        Self::open(&target, timeout)?.ok_or_else(|| {
            StoreError::Unavailable(sqlx::Error::Configuration("no store named".into()))
        })
    }

    /// `postgresql` or `sqlite`, for the status.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgresql",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// Whether the store answers a trivial query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        let query = async {
            match self {
                Self::Postgres(s) => sqlx::query("SELECT 1").execute(s.pool()).await.is_ok(),
                Self::Sqlite(s) => sqlx::query("SELECT 1").execute(s.pool()).await.is_ok(),
            }
        };
        tokio::time::timeout(timeout, query).await.unwrap_or(false)
    }

    /// Applies the store's migrations (idempotent).
    ///
    /// # Errors
    ///
    /// When the database is unreachable or a migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(s) => s.migrate().await,
            Self::Sqlite(s) => s.migrate().await,
        }
    }

    /// Inserts ticks, skipping those already stored; returns how many were new.
    ///
    /// # Errors
    ///
    /// [`StoreError`], transient or not.
    pub async fn insert(&self, ticks: &[Tick]) -> Result<u64, StoreError> {
        match self {
            Self::Postgres(s) => s.insert(ticks).await,
            Self::Sqlite(s) => s.insert(ticks).await,
        }
    }

    /// A batch as the persister writes it: over `parts` connections at once
    /// on PostgreSQL, in one transaction on SQLite (a single writer).
    ///
    /// # Errors
    ///
    /// [`StoreError`], transient or not. Writing the batch again inserts only
    /// what is missing.
    pub async fn insert_batch(&self, ticks: &[Tick], parts: usize) -> Result<u64, StoreError> {
        match self {
            Self::Postgres(s) => s.insert_parallel(ticks, parts).await,
            Self::Sqlite(s) => s.insert(ticks).await,
        }
    }

    /// Every tick stamped at or after `from_ms`, in (timestamp, insertion)
    /// order, at most `limit`.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn ticks_since(&self, from_ms: i64, limit: i64) -> Result<Vec<Tick>, StoreError> {
        match self {
            Self::Postgres(s) => s.ticks_since(from_ms, limit).await,
            Self::Sqlite(s) => s.ticks_since(from_ms, limit).await,
        }
    }

    /// Candles of `asset` in `timeframe` with open times in `from..=to` (Unix
    /// seconds), the newest `limit`, oldest first; the bucket holding `now_s`
    /// is forming. Equal to what the live aggregator built from the same
    /// ticks.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn candles(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        range: (i64, i64),
        limit: i64,
        now_s: i64,
    ) -> Result<Vec<Candle>, StoreError> {
        match self {
            Self::Postgres(s) => s.candles(asset, timeframe, range, limit, now_s).await,
            Self::Sqlite(s) => s.candles(asset, timeframe, range, limit, now_s).await,
        }
    }

    /// Whether any tick of `asset` is stored (through the pair index).
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn has_ticks(&self, asset: Asset) -> Result<bool, StoreError> {
        match self {
            Self::Postgres(s) => s.has_ticks(asset).await,
            Self::Sqlite(s) => s.has_ticks(asset).await,
        }
    }

    /// The newest `limit` candles, looking only at the ticks they can hold:
    /// from the pair's newest tick back `limit` buckets, not the whole history.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn newest(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        limit: i64,
        now_s: i64,
    ) -> Result<Vec<Candle>, StoreError> {
        let newest = match self {
            Self::Postgres(s) => s.newest_tick(asset).await?,
            Self::Sqlite(s) => s.newest_tick(asset).await?,
        };
        let Some(newest) = newest else {
            return Ok(Vec::new());
        };
        let to = timeframe.bucket_of_millis(newest);
        let from = to - (limit.max(1) - 1) * timeframe.seconds();
        self.candles(asset, timeframe, (from, to), limit, now_s)
            .await
    }
}
