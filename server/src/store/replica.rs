//! Where PostgreSQL history reads go: the primary's read pool, or a read
//! replica (`DATABASE_READ_URL`) that falls back to that pool.
//!
//! - Only history reads come here (candles and the newest tick of a range,
//!   for `/api/candles`, `/api/indicators`, `get_cached_historical_data` and
//!   derived-series seeds). Writes, migrations, the start-up seed of
//!   today's ticks and the restatement of late candles stay on the primary:
//!   each must see what was just written there.
//! - A replica that cannot be reached (refused, broken, still starting)
//!   costs the read that finds it so (at most the read timeout): the
//!   primary's read pool, bounded by the same [`ReadLimits`], answers it,
//!   and reads go to the primary for [`RETRY_AFTER`]; then the replica is
//!   checked in the background and read again once it answers. A read
//!   cancelled by a conflict with replay is asked of the primary alone.
//!   A read that is merely slow is not retried on the primary (it would be
//!   as slow there): it times out as it would without a replica.
//! - Before the first read, and again after every fall-back, the replica's
//!   schema is checked against this binary's migrations and its role's
//!   right to read what history reads (`candles_1m`); a replica that fails the check is
//!   not read. At start-up a failed check stops `serve`.
//!
//! [`ReadLimits`]: super::ReadLimits

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{ReadLimits, StoreError, TickStore, schema};
use crate::clock::now_millis;

/// How long reads go to the primary after the replica failed one.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// How long a replica whose schema is not this binary's is left alone.
const RECHECK_UNFIT: Duration = Duration::from_secs(30);
/// How long start-up waits for the replica to replay a migration the
/// primary has just applied.
const CATCH_UP: Duration = Duration::from_secs(10);

/// A read pool whose connections carry PostgreSQL's `statement_timeout`.
pub(super) fn read_pool(options: PgConnectOptions, limits: ReadLimits) -> PgPool {
    let statement_timeout = limits.timeout.as_millis().max(1);
    PgPoolOptions::new()
        .max_connections(limits.connections)
        .acquire_timeout(limits.timeout)
        .connect_lazy_with(options.options([("statement_timeout", statement_timeout)]))
}

impl TickStore {
    /// The same store, its history reads going to the read replica at
    /// `url` first, its pool bounded by `limits` as the primary's is.
    ///
    /// # Errors
    ///
    /// [`StoreError::ReadReplica`] when `url` is not a PostgreSQL URL, or
    /// the store is the embedded SQLite file, which has no replica.
    pub fn with_read_replica(self, url: &str, limits: ReadLimits) -> Result<Self, StoreError> {
        match self {
            Self::Postgres(s) => Ok(Self::Postgres(s.with_read_replica(url, limits)?)),
            Self::Sqlite(_) => Err(StoreError::ReadReplica(
                "DATABASE_URL names the embedded SQLite store, which has no read replica: \
                 unset DATABASE_READ_URL, or set DATABASE_URL to the PostgreSQL primary"
                    .to_owned(),
            )),
        }
    }

    /// Checks the read replica at start-up, if there is one.
    ///
    /// # Errors
    ///
    /// [`StoreError::ReadReplica`] when it is not fit to read from.
    pub async fn check_read_replica(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(s) => s.check_read_replica().await,
            Self::Sqlite(_) => Ok(()),
        }
    }

    /// The read replica's counters; `None` without one.
    #[must_use]
    pub fn read_replica(&self) -> Option<ReplicaStatus> {
        match self {
            Self::Postgres(s) => s.read_replica(),
            Self::Sqlite(_) => None,
        }
    }
}

/// The read replica's counters, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// Whether reads go to the replica now.
    pub up: bool,
    /// Reads the replica answered.
    pub reads: u64,
    /// Reads the replica failed that the primary answered instead.
    pub fallbacks: u64,
}

/// How the replica has been doing.
#[derive(Debug, Default)]
struct Health {
    /// Reads go to the primary until this instant (Unix ms).
    down_until_ms: AtomicI64,
    /// Whether the replica's schema was checked since it was last down:
    /// reads go to it only then.
    checked: AtomicBool,
    /// Whether a check runs now.
    checking: AtomicBool,
    reads: AtomicU64,
    fallbacks: AtomicU64,
}

/// The history read pools; cheap to clone.
#[derive(Clone)]
pub(super) struct Reads {
    /// On the primary: every read without a replica, and the fall-back.
    primary: PgPool,
    replica: Option<(PgPool, Arc<Health>)>,
}

impl Reads {
    /// Reads through `primary` only.
    pub(super) const fn primary(primary: PgPool) -> Self {
        Self {
            primary,
            replica: None,
        }
    }

    /// The same, reading from the replica at `url` first, its pool bounded
    /// by `limits` as the primary's is.
    ///
    /// # Errors
    ///
    /// [`StoreError::ReadReplica`] when `url` is not a PostgreSQL URL.
    pub(super) fn with_replica(&self, url: &str, limits: ReadLimits) -> Result<Self, StoreError> {
        use std::str::FromStr;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::ReadReplica(
                "expected a postgres://... URL of a PostgreSQL read replica".to_owned(),
            ));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::ReadReplica(format!("not a usable URL: {e}")))?;
        Ok(Self {
            primary: self.primary.clone(),
            replica: Some((read_pool(options, limits), Arc::default())),
        })
    }

    /// The replica's counters; `None` without one.
    pub(super) fn replica_status(&self) -> Option<ReplicaStatus> {
        let (_, health) = self.replica.as_ref()?;
        Some(ReplicaStatus {
            up: health.checked.load(Ordering::Relaxed),
            reads: health.reads.load(Ordering::Relaxed),
            fallbacks: health.fallbacks.load(Ordering::Relaxed),
        })
    }

    /// Runs `query` on the replica when it is usable, else (or when it
    /// fails there for a reason the primary does not share) on the
    /// primary's read pool.
    ///
    /// # Errors
    ///
    /// The database error of the pool that answered last.
    pub(super) async fn run<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        F: Fn(PgPool) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        if let Some((pool, health)) = &self.replica
            && usable(pool, health)
        {
            match query(pool.clone()).await {
                Ok(found) => {
                    health.reads.fetch_add(1, Ordering::Relaxed);
                    return Ok(found);
                }
                Err(e) if !falls_back(&e, pool) => return Err(e.into()),
                Err(e) => {
                    health.fallbacks.fetch_add(1, Ordering::Relaxed);
                    if is_recovery_conflict(&e) {
                        tracing::debug!("a read on the replica was cancelled by replay: {e}");
                    } else {
                        set_down(health, RETRY_AFTER);
                        tracing::warn!(
                            "the read replica failed a read ({e}): history reads go to the primary, the replica is tried again in {RETRY_AFTER:?}"
                        );
                    }
                }
            }
        }
        query(self.primary.clone()).await.map_err(Into::into)
    }

    /// Checks the replica at start-up, waiting up to [`CATCH_UP`] for it to
    /// replay a migration just applied. A replica that cannot be reached is
    /// not waited for: reads go to the primary until it answers, and it is
    /// checked then.
    ///
    /// # Errors
    ///
    /// [`StoreError::ReadReplica`] when the replica is not fit to read from.
    pub(super) async fn check_replica(&self) -> Result<(), StoreError> {
        let Some((pool, health)) = &self.replica else {
            return Ok(());
        };
        let started = Instant::now();
        loop {
            match unfit(pool).await {
                Ok(None) => {
                    health.checked.store(true, Ordering::Relaxed);
                    let standby: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                        .fetch_one(pool)
                        .await
                        .unwrap_or(true);
                    if standby {
                        tracing::info!("history reads go to the read replica (DATABASE_READ_URL)");
                    } else {
                        tracing::warn!(
                            "DATABASE_READ_URL is not a standby (pg_is_in_recovery() is false): history reads go to it all the same"
                        );
                    }
                    return Ok(());
                }
                Ok(Some(Unfit::Schema(_))) if started.elapsed() < CATCH_UP => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(Some(unfit)) => return Err(StoreError::ReadReplica(unfit.why())),
                Err(e) => {
                    set_down(health, RETRY_AFTER);
                    tracing::warn!(
                        "the read replica cannot be reached ({e}): history reads go to the primary until it answers; its schema is checked then"
                    );
                    return Ok(());
                }
            }
        }
    }
}

/// Whether reads may go to the replica now: it is not resting after a
/// failure, and its schema has been checked since. When it has not, the
/// check runs in the background and this read goes to the primary, so a
/// replica that is away never delays a read but the one that found it so.
fn usable(pool: &PgPool, health: &Arc<Health>) -> bool {
    if health.checked.load(Ordering::Relaxed) {
        return true;
    }
    if health.down_until_ms.load(Ordering::Relaxed) > now_millis()
        || health.checking.swap(true, Ordering::Relaxed)
    {
        return false;
    }
    let (pool, health) = (pool.clone(), health.clone());
    // Bounded by the pool's acquire and statement timeouts.
    tokio::spawn(async move {
        match unfit(&pool).await {
            Ok(None) => {
                health.checked.store(true, Ordering::Relaxed);
                tracing::info!("the read replica answers: history reads go to it again");
            }
            Ok(Some(unfit)) => {
                let why = unfit.why();
                set_down(&health, RECHECK_UNFIT);
                tracing::error!(
                    "the read replica is not read ({why}); history reads go to the primary, it is checked again in {RECHECK_UNFIT:?}"
                );
            }
            Err(e) => {
                set_down(&health, RETRY_AFTER);
                tracing::debug!("the read replica still cannot be reached: {e}");
            }
        }
        health.checking.store(false, Ordering::Relaxed);
    });
    false
}

/// Sends reads to the primary for `rest`, and has the schema checked again
/// before the next read on the replica.
fn set_down(health: &Health, rest: Duration) {
    let until = now_millis().saturating_add(i64::try_from(rest.as_millis()).unwrap_or(i64::MAX));
    health.down_until_ms.store(until, Ordering::Relaxed);
    health.checked.store(false, Ordering::Relaxed);
}

/// Why the replica may not be read.
enum Unfit {
    /// Its schema is not this binary's: it may be catching up.
    Schema(String),
    /// Its role may not read what history reads need.
    Refused(String),
}

impl Unfit {
    fn why(self) -> String {
        match self {
            Self::Schema(why) | Self::Refused(why) => why,
        }
    }
}

/// Why the replica may not be read (`Some`), or `None` when its schema is
/// this binary's and its role may read what history reads read.
///
/// # Errors
///
/// When the replica cannot be reached.
async fn unfit(pool: &PgPool) -> Result<Option<Unfit>, StoreError> {
    let refused = |role: &str, what: &str| {
        Unfit::Refused(format!(
            "role {role} may not {what} there: connect as DATABASE_URL's role \
             (a member of tickstream_writer), whose grants the replica holds"
        ))
    };
    match schema::behind(pool).await {
        Ok(None) => {}
        Ok(Some(behind)) => {
            return Ok(Some(Unfit::Schema(format!(
                "its schema is not this tickstream's ({behind}): name a replica of \
                 DATABASE_URL's database, once it has caught up"
            ))));
        }
        Err(StoreError::NotPermitted { role, what }) => return Ok(Some(refused(&role, what))),
        Err(e) => return Err(e),
    }
    // What history reads read, as `tickstream_writer` is granted it.
    let probe =
        sqlx::query("SELECT pair, bucket, open, high, low, close, ticks FROM candles_1m LIMIT 0")
            .execute(pool)
            .await;
    match probe {
        Ok(_) => Ok(None),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
            let role: String = sqlx::query_scalar("SELECT current_user::text")
                .fetch_one(pool)
                .await?;
            Ok(Some(refused(&role, "read candles_1m")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether a read the replica failed should be asked of the primary: not
/// when the read itself was too slow or the data wrong (the primary would
/// fail it too), nor when the replica's connections were all busy (the
/// primary would take the overflow of a replica that is up).
fn falls_back(e: &sqlx::Error, pool: &PgPool) -> bool {
    match e {
        sqlx::Error::Database(db) => !db
            .code()
            .is_some_and(|c| c == "57014" || c.starts_with("22")),
        // Every connection open and busy: the replica is up but loaded.
        // Otherwise one could not be opened (idle ones may be dead): down.
        sqlx::Error::PoolTimedOut => {
            pool.num_idle() > 0 || pool.size() < pool.options().get_max_connections()
        }
        _ => true,
    }
}

/// A read cancelled because replay needed what it held (a hot standby's
/// `conflict with recovery`): the replica is fine, this read was unlucky.
fn is_recovery_conflict(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}
