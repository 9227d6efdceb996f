//! The PostgreSQL schema and the roles `serve` may run as.
//!
//! - The owner (`tickstream migrate`, or `serve` connected as the owner of
//!   `historical_ticks`) applies the migrations, which also make
//!   `tickstream_reader` and `tickstream_writer` group roles with their
//!   grants.
//! - A login role that was granted `tickstream_writer` does not own the
//!   schema: `serve` checks that every migration of this binary is applied
//!   with the same checksum, and stops naming `tickstream migrate` when one
//!   is not, rather than failing on every write later.
//! - Either way `serve` then checks it may insert, so a role without the
//!   grants is reported at once (the persister's `last_error`, `/readyz`).
//! - A `historical_ticks` without the unique key (the original design's,
//!   until `tickstream migrate` adopts it) is neither migrated nor served:
//!   every insert would fail on it.

use sqlx::PgPool;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgPoolOptions;

use super::{StoreError, adopt};

/// The migrations in `migrations/`, built into the binary.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// PostgreSQL's insufficient_privilege.
const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// Applies the pending migrations with the owner's rights; returns how many
/// were applied (none, whoever connects, when the schema is current).
pub(super) async fn migrate(pool: &PgPool) -> Result<usize, StoreError> {
    refuse_keyless(pool).await?;
    if matches!(behind(pool).await, Ok(None)) {
        return Ok(0);
    }
    let before = applied(pool).await.map(|a| a.len()).unwrap_or(0);
    run_migrator(pool).await?;
    let after = applied(pool).await?.len();
    Ok(after.saturating_sub(before))
}

/// Runs the migrator on a connection of its own, closed afterwards: a
/// failed run never leaves the migrator's advisory lock held by a pooled
/// connection (which would stall the owner's `tickstream migrate`).
async fn run_migrator(pool: &PgPool) -> Result<(), MigrateError> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .connect_with((*pool.connect_options()).clone())
        .await?;
    let outcome = MIGRATOR.run(&own).await;
    own.close().await;
    outcome
}

/// Readies the schema for `serve` (see the module's documentation).
pub(super) async fn prepare(pool: &PgPool) -> Result<(), StoreError> {
    refuse_keyless(pool).await?;
    if let Some(behind) = behind(pool).await? {
        if !may_migrate(pool).await? {
            return Err(StoreError::NotCurrent(format!(
                "{behind}, and this role may not apply them"
            )));
        }
        match run_migrator(pool).await {
            Ok(()) => tracing::info!("tick store migrated"),
            Err(MigrateError::Execute(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some(INSUFFICIENT_PRIVILEGE) =>
            {
                return Err(StoreError::NotCurrent(format!(
                    "{behind}, and this role may not apply them: {e}"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (insert, sequence): (bool, bool) = sqlx::query_as(
        "SELECT has_table_privilege('historical_ticks', 'INSERT'), \
                has_sequence_privilege('historical_ticks_id_seq', 'USAGE')",
    )
    .fetch_one(pool)
    .await?;
    if !(insert && sequence) {
        return Err(StoreError::NotPermitted {
            role: current_user(pool).await?,
            what: "insert into historical_ticks",
        });
    }
    Ok(())
}

/// [`StoreError::NotCurrent`] when `historical_ticks` lacks the unique key
/// `ON CONFLICT (pair, timestamp, price)` needs.
async fn refuse_keyless(pool: &PgPool) -> Result<(), StoreError> {
    if adopt::lacks_key(&mut *pool.acquire().await?).await? {
        return Err(StoreError::NotCurrent(
            "historical_ticks has no unique key on (pair, timestamp, price), as the original \
             design's table has none; `tickstream migrate` adopts that one"
                .into(),
        ));
    }
    Ok(())
}

/// Versions and checksums of the successfully applied migrations; empty
/// when none was ever applied.
async fn applied(pool: &PgPool) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(pool)
    .await;
    match rows {
        Ok(rows) => Ok(rows),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(INSUFFICIENT_PRIVILEGE) => {
            Err(StoreError::NotPermitted {
                role: current_user(pool).await?,
                what: "read _sqlx_migrations",
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// How the schema differs from this binary's migrations, or `None` when it
/// is current.
pub(super) async fn behind(pool: &PgPool) -> Result<Option<String>, StoreError> {
    let applied = applied(pool).await?;
    let known: Vec<_> = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    if let Some((version, _)) = applied
        .iter()
        .find(|(v, _)| !known.iter().any(|m| m.version == *v))
    {
        return Ok(Some(format!(
            "migration {version} is applied but unknown to this tickstream: run one at least as new as the one that applied it"
        )));
    }
    for m in &known {
        if let Some((_, checksum)) = applied.iter().find(|(v, _)| *v == m.version)
            && checksum[..] != m.checksum[..]
        {
            return Ok(Some(format!(
                "migration {} was applied from a different file",
                m.version
            )));
        }
    }
    let done = known
        .iter()
        .filter(|m| applied.iter().any(|(v, _)| *v == m.version))
        .count();
    Ok((done < known.len()).then(|| format!("{done} of {} migrations applied", known.len())))
}

/// Whether this role may apply migrations: it has the rights of
/// `historical_ticks`' owner or, before there is one, may create tables and
/// roles (the first migration does both).
async fn may_migrate(pool: &PgPool) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(( \
           SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class \
           WHERE oid = to_regclass('historical_ticks')), \
           coalesce(has_schema_privilege(current_schema(), 'CREATE'), false) AND ( \
             SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user))",
    )
    .fetch_one(pool)
    .await?)
}

async fn current_user(pool: &PgPool) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(pool)
        .await?)
}
