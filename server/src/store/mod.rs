//! The tick store: PostgreSQL's `historical_ticks`, written in bulk with
//! `INSERT ... ON CONFLICT DO NOTHING` on the natural identity of a tick, so
//! a replayed or retried batch inserts nothing twice.
//!
//! Prices travel as their exact decimal text and are cast to `NUMERIC` by
//! PostgreSQL: no float anywhere.

use std::time::Duration;

use shared::Tick;
use sqlx::postgres::{PgPool, PgPoolOptions};

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
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // Class 22 (data exception) and 23 (integrity constraint) are about
            // the rows; anything else (connection, pool, server state) may pass.
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("22") || c.starts_with("23")) =>
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
        matches!(self, Self::Unavailable(_) | Self::Migration(_))
    }
}

/// The PostgreSQL tick store; cheap to clone.
#[derive(Clone)]
pub struct TickStore {
    pool: PgPool,
}

impl TickStore {
    /// A store for `url`. Connects lazily: the server starts even when the
    /// database is down, and the persister retries until it is up.
    ///
    /// # Errors
    ///
    /// When `url` is not a valid PostgreSQL URL.
    pub fn connect_lazy(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_lazy(url)
            .map_err(StoreError::Unavailable)?;
        Ok(Self { pool })
    }

    /// Applies the migrations in `migrations/` (idempotent).
    ///
    /// # Errors
    ///
    /// When the database is unreachable or a migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../migrations").run(&self.pool).await?;
        Ok(())
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

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The pool, for readers of the stored history.
    #[must_use]
    pub const fn pool(&self) -> &PgPool {
        &self.pool
    }
}
