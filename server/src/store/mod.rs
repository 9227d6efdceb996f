//! The tick store: every accepted tick, exactly once, and the one-minute
//! candles kept with them in the same transaction.
//!
//! - [`postgres`]: PostgreSQL's `historical_ticks` (`DATABASE_URL=postgres://...`).
//! - [`sqlite`]: the embedded store, a SQLite file (the default, `data/tickstream.db`).
//! - [`adopt`]: taking over the original design's PostgreSQL table.
//! - [`replica`]: where PostgreSQL history reads go (`DATABASE_READ_URL`).
//! - `candles`: the one-minute candles kept with the ticks (`candles_1m`),
//!   which history reads roll up instead of reading ticks.
//!
//! Both stores keep the natural identity `(pair, timestamp, price)` unique,
//! so a replayed or retried batch inserts nothing twice, and both keep
//! prices exact. Each has two pools: writes (the persister, the start-up
//! seed, readiness, the restatement of late candles) and history reads,
//! bounded by [`ReadLimits`], so a slow read never holds up a write or
//! `/readyz`. On PostgreSQL the history reads may go to a read replica.

pub mod adopt;
mod candles;
pub mod postgres;
pub mod replica;
mod restate;
mod schema;
pub mod sqlite;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use shared::{Asset, Candle, CandleState, Price, Tick, Timeframe, TimestampMs};

pub use postgres::PgStore;
pub use replica::ReplicaStatus;
pub use sqlite::SqliteStore;
pub use target::{DEFAULT_SQLITE_PATH, StoreTarget};

/// How history reads are bounded (`HISTORY_READ_TIMEOUT`,
/// `HISTORY_READ_CONNECTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Longest a read may run in the database (PostgreSQL's
    /// `statement_timeout`, a SQLite progress handler), and wait for a
    /// connection.
    pub timeout: Duration,
    /// Connections of the read pool.
    pub connections: u32,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            connections: 4,
        }
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
    /// A read ran past `HISTORY_READ_TIMEOUT` (or found no free read
    /// connection within it) and was cancelled.
    #[error("the database did not answer in time: {0}")]
    TimedOut(#[source] sqlx::Error),
    /// The migrations could not be applied.
    #[error("migrations failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The schema is behind (or ahead of) this binary's migrations, and this
    /// role may not migrate it.
    #[error(
        "the database schema is not current ({0}): run `tickstream migrate` with the owner's DATABASE_URL"
    )]
    NotCurrent(String),
    /// The role `serve` connects as may not do what the server needs.
    #[error(
        "role {role} may not {what}: it needs tickstream_writer's grants (GRANT tickstream_writer TO {role})"
    )]
    NotPermitted {
        /// The role connected.
        role: String,
        /// What it may not do.
        what: &'static str,
    },
    /// `DATABASE_READ_URL` cannot be used: not a PostgreSQL URL, beside a
    /// store that has no replica, or a replica not fit to read from.
    #[error("DATABASE_READ_URL: {0}")]
    ReadReplica(String),
    /// The embedded store's folder could not be created.
    #[error("cannot create {0}: {1}")]
    Folder(PathBuf, #[source] std::io::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            // PostgreSQL's query_canceled (statement_timeout), SQLite's
            // SQLITE_INTERRUPT (the read deadline), no free connection.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("57014" | "9")) => {
                Self::TimedOut(e)
            }
            sqlx::Error::PoolTimedOut => Self::TimedOut(e),
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

    /// Whether `serve` must not start: the schema is not current and this
    /// role may not migrate it, or the read replica is not fit to read from.
    #[must_use]
    pub const fn stops_start_up(&self) -> bool {
        matches!(self, Self::NotCurrent(_) | Self::ReadReplica(_))
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
    /// The store `target` names, or `None` for [`StoreTarget::Nothing`],
    /// with reads bounded by `reads`. Connects lazily: the server starts
    /// even when the database is down, and the persister retries until it is
    /// up.
    ///
    /// # Errors
    ///
    /// When the URL is not usable or the SQLite folder cannot be created.
    pub fn open(
        target: &StoreTarget,
        timeout: Duration,
        reads: ReadLimits,
    ) -> Result<Option<Self>, StoreError> {
        Ok(match target {
            StoreTarget::Nothing => None,
            StoreTarget::Postgres(url) => Some(Self::Postgres(PgStore::connect_lazy_with(
                url, timeout, reads,
            )?)),
            StoreTarget::Sqlite(path) => {
                Some(Self::Sqlite(SqliteStore::open_with(path, timeout, reads)?))
            }
        })
    }

    /// A store for `url` (`postgres://...` or `sqlite:PATH`), with the
    /// default [`ReadLimits`].
    ///
    /// # Errors
    ///
    /// When the URL is not a store URL or is not usable.
    pub fn connect_lazy(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let target = StoreTarget::parse(Some(url))
            .map_err(|e| StoreError::Unavailable(sqlx::Error::Configuration(e.into())))?;
        Self::open(&target, timeout, ReadLimits::default())?.ok_or_else(|| {
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

    /// Whether the store answers a trivial query within `timeout`, over the
    /// write pool: busy history reads do not make it fail.
    pub async fn ping(&self, timeout: Duration) -> bool {
        let query = async {
            match self {
                Self::Postgres(s) => sqlx::query("SELECT 1").execute(s.pool()).await.is_ok(),
                Self::Sqlite(s) => sqlx::query("SELECT 1").execute(s.pool()).await.is_ok(),
            }
        };
        tokio::time::timeout(timeout, query).await.unwrap_or(false)
    }

    /// Applies the store's migrations with the owner's rights (idempotent;
    /// on PostgreSQL also the group roles and their grants). Returns how
    /// many were newly applied.
    ///
    /// # Errors
    ///
    /// When the database is unreachable or a migration fails.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        match self {
            Self::Postgres(s) => s.migrate().await,
            Self::Sqlite(s) => s.migrate().await,
        }
    }

    /// Makes the store ready for `serve`: applies pending migrations when
    /// this role owns the schema; otherwise checks that it is current; then
    /// checks that this role may write; then merges ticks stored before the
    /// candle table into it. The embedded store only migrates (and merges).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotCurrent`] (`serve` stops), [`StoreError::NotPermitted`],
    /// or the database being unreachable.
    pub async fn prepare(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(s) => {
                schema::prepare(s.pool()).await?;
                candles::backfill_pg(s.pool()).await.map(|_| ())
            }
            Self::Sqlite(s) => s.migrate().await.map(|_| ()),
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
    /// ticks: rolled up from the one-minute candles the store keeps with
    /// them.
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

    /// The newest `limit` candles of the series, from its newest tick back
    /// `limit` buckets, not the whole history; the bucket holding `now_s` is
    /// forming.
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
        let all = (TimestampMs::MIN.seconds(), TimestampMs::MAX.seconds());
        self.latest(asset, timeframe, all, limit, now_s).await
    }

    /// Candles with open times in `from..=to` (Unix seconds), the newest
    /// `limit` buckets of them: the window ends at the bucket of the newest
    /// one-minute candle in the range (found through `candles_1m`'s key, so
    /// a gap is crossed) and reaches back at most `limit` buckets, so a read
    /// never rolls up more than `limit` candles' span of minutes, however
    /// wide the range. Reads go through the read pool, bounded by [`ReadLimits`].
    ///
    /// # Errors
    ///
    /// A database error; [`StoreError::TimedOut`] past the read timeout.
    pub async fn latest(
        &self,
        asset: Asset,
        timeframe: Timeframe,
        (from, to): (i64, i64),
        limit: i64,
        now_s: i64,
    ) -> Result<Vec<Candle>, StoreError> {
        let width = timeframe.seconds();
        // `from` is an open time: a bucket opening before it is not asked for.
        let first = timeframe.bucket_start(from);
        let from = if first < from { first + width } else { first };
        let until = timeframe.bucket_start(to).saturating_add(width);
        let newest = match self {
            Self::Postgres(s) => s.newest_minute(asset, from, until).await?,
            Self::Sqlite(s) => s.newest_minute(asset, from, until).await?,
        };
        let Some(newest) = newest else {
            return Ok(Vec::new());
        };
        let to = timeframe.bucket_start(newest);
        let from = from.max(to.saturating_sub((limit.max(1) - 1).saturating_mul(width)));
        self.candles(asset, timeframe, (from, to), limit, now_s)
            .await
    }
}
