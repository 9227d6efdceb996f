//! Adopting a `historical_ticks` made by the original design's schema
//! (Phase 3.1): the same columns and indexes, but timestamps in Unix seconds
//! and no unique key, so tickstream's `ON CONFLICT (pair, timestamp, price)`
//! inserts fail and its old rows would read as milliseconds in 1970.
//!
//! `tickstream migrate` adopts such a table before the migrations run, in one
//! transaction under the table's exclusive lock: it merges exact duplicates
//! (same pair, timestamp and price; the lowest id stays), converts seconds to
//! milliseconds, adds the unique key and the price check of
//! `migrations/0001` under their names there, and checks the result, so a
//! failure anywhere leaves the table as it was. The migrations then run as
//! on any database (0001's `IF NOT EXISTS` finds the table, indexes and
//! sequence in place) and are recorded as usual; the original row-level
//! security policies stay beside tickstream's own.

use shared::TimestampMs;
use sqlx::PgConnection;

use super::{PgStore, StoreError};

/// Below this, the newest timestamp of a table without the unique key is
/// Unix seconds. A tick is stamped from 1990 to 2100 (`TimestampMs`):
/// 6.3e8 to 4.1e9 in seconds, 6.3e11 to 4.1e12 in milliseconds. 1e11 (the
/// year 5138 in seconds, March 1973 in milliseconds) lies far from both, so
/// one stray or clock-skewed row does not tip the decision.
const SECONDS_BELOW: i64 = 100_000_000_000;
const _: () = assert!(
    TimestampMs::MAX.seconds() < SECONDS_BELOW && SECONDS_BELOW < TimestampMs::MIN.millis()
);

/// How long adoption waits for the table's lock before it gives up.
const LOCK_WAIT: &str = "10s";

/// PostgreSQL's lock_not_available (`lock_timeout`).
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// PostgreSQL's numeric_value_out_of_range.
const OUT_OF_RANGE: &str = "22003";

/// The columns of the original table, named and typed as PostgreSQL shows
/// them, in name order; a fresh tickstream table has the same.
const COLUMNS: [(&str, &str); 5] = [
    ("created_at", "timestamp with time zone"),
    ("id", "bigint"),
    ("pair", "character varying(20)"),
    ("price", "numeric(20,10)"),
    ("timestamp", "bigint"),
];

/// What the database holds, as far as adoption is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// No `historical_ticks` yet: the migrations create it.
    Absent,
    /// `historical_ticks` has tickstream's unique key: nothing to adopt.
    Current,
    /// The original design's table, to adopt.
    Original(Plan),
}

/// What adopting the original table would do, counted on it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Rows in the table.
    pub rows: i64,
    /// Rows that repeat another's pair, timestamp and price (and go).
    pub duplicates: i64,
    /// Rows priced 0 or less, which tickstream's price check refuses: while
    /// there are any, adoption is refused.
    pub non_positive: i64,
    /// The oldest and newest timestamps, Unix seconds; `None` when empty.
    pub span: Option<(i64, i64)>,
}

impl Plan {
    /// Rows that stay, each converted to milliseconds.
    #[must_use]
    pub const fn converts(&self) -> i64 {
        self.rows - self.duplicates
    }
}

/// What an adoption did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adopted {
    /// Rows converted from seconds to milliseconds.
    pub converted: u64,
    /// Exact duplicates removed.
    pub merged: u64,
}

/// Why the table cannot be adopted; the table is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// `historical_ticks` lacks the unique key but is not the original
    /// design's table either.
    #[error(
        "historical_ticks has no unique key on (pair, timestamp, price) but is not the original design's table ({0}): tickstream adopts only that one, nothing changed"
    )]
    Foreign(String),
    /// The role connected does not own the table.
    #[error("adopting historical_ticks needs its owner's rights; role {0} does not have them")]
    NotOwner(String),
    /// Some rows are priced 0 or less.
    #[error(
        "{0} row(s) of historical_ticks have a price of 0 or less, which tickstream refuses: fix or delete them, then run again (nothing changed)"
    )]
    NonPositive(i64),
    /// Another session held the table past [`LOCK_WAIT`].
    #[error(
        "historical_ticks stayed locked by another session for {LOCK_WAIT}: stop what writes to it and run again (nothing changed)"
    )]
    Locked,
    /// A timestamp's milliseconds do not fit `BIGINT`.
    #[error(
        "a timestamp of historical_ticks does not fit BIGINT in milliseconds: the adoption was rolled back, nothing changed; fix or delete that row"
    )]
    Overflow,
    /// The converted table did not add up.
    #[error("the adopted table failed its check ({0}): rolled back, nothing changed")]
    Check(String),
    /// The database failed.
    #[error("{0} (nothing changed)")]
    Store(#[from] StoreError),
    /// The commit went unanswered: it may or may not have taken effect.
    #[error(
        "the adoption's commit went unanswered ({0}): run `tickstream migrate` again, which finds nothing to adopt if it took effect"
    )]
    Commit(#[source] StoreError),
}

impl From<sqlx::Error> for AdoptError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
                Self::Locked
            }
            sqlx::Error::Database(db) if db.code().as_deref() == Some(OUT_OF_RANGE) => {
                Self::Overflow
            }
            _ => Self::Store(e.into()),
        }
    }
}

/// Whether `historical_ticks` exists without a unique key on exactly
/// (pair, timestamp, price). Reads only the catalog, so any role may ask.
pub(super) async fn lacks_key(conn: &mut PgConnection) -> Result<bool, StoreError> {
    Ok(key(conn).await? == Some(false))
}

/// `None` without a table, else whether it has a valid, whole-table unique
/// index on exactly (pair, timestamp, price), the one `ON CONFLICT` infers.
async fn key(conn: &mut PgConnection) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS ( \
           SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid \
             AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL \
             AND i.indnkeyatts = 3 \
             AND ARRAY(SELECT a.attname::text FROM pg_attribute a \
                       WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) ORDER BY 1) \
                 = ARRAY['pair', 'price', 'timestamp']) \
         FROM (SELECT to_regclass('historical_ticks') AS oid) t WHERE t.oid IS NOT NULL",
    )
    .fetch_optional(conn)
    .await
}

/// The table's shape; for a table without the key, decides whether it is
/// the original and counts the plan (a full read of the table).
async fn shape(conn: &mut PgConnection) -> Result<Shape, AdoptError> {
    match key(conn).await? {
        None => return Ok(Shape::Absent),
        Some(true) => return Ok(Shape::Current),
        Some(false) => {}
    }
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'historical_ticks'::regclass AND attnum > 0 AND NOT attisdropped \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    if columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .ne(COLUMNS)
    {
        let found: Vec<String> = columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
        return Err(AdoptError::Foreign(format!(
            "its columns are {}",
            found.join(", ")
        )));
    }
    let (rows, duplicates, non_positive, oldest, newest): (
        i64,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT count(*), count(*) - count(DISTINCT (pair, timestamp, price)), \
                    count(*) FILTER (WHERE price <= 0), min(timestamp), max(timestamp) \
             FROM historical_ticks",
    )
    .fetch_one(&mut *conn)
    .await?;
    // Without the key the table is tickstream's own only if something
    // dropped it; its timestamps then are milliseconds (above 6.3e11), and
    // converting them again would move every tick a thousandfold. Only a
    // table whose every timestamp reads as seconds (or an empty one) is
    // the original's.
    if let Some(newest) = newest.filter(|n| *n >= SECONDS_BELOW) {
        return Err(AdoptError::Foreign(format!(
            "its newest timestamp {newest} is not Unix seconds"
        )));
    }
    Ok(Shape::Original(Plan {
        rows,
        duplicates,
        non_positive,
        span: oldest.zip(newest),
    }))
}

impl PgStore {
    /// Whether the database holds the original design's table, and what
    /// adopting it would do. Reads only.
    ///
    /// # Errors
    ///
    /// [`AdoptError::Foreign`] for a table without the unique key that is
    /// not the original's; a database error.
    pub async fn adoption(&self) -> Result<Shape, AdoptError> {
        let mut conn = self.pool().acquire().await?;
        shape(&mut conn).await
    }

    /// Adopts the original design's table (see the module's documentation)
    /// in one transaction; `None` when there is nothing to adopt.
    ///
    /// # Errors
    ///
    /// [`AdoptError`]; the table is then unchanged.
    pub async fn adopt(&self) -> Result<Option<Adopted>, AdoptError> {
        let mut tx = self.pool().begin().await?;
        if !lacks_key(&mut tx).await? {
            return Ok(None);
        }
        let (owner, role): (bool, String) = sqlx::query_as(
            "SELECT pg_has_role(current_user, relowner, 'USAGE'), current_user::text \
             FROM pg_class WHERE oid = 'historical_ticks'::regclass",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !owner {
            return Err(AdoptError::NotOwner(role));
        }
        sqlx::query(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            .execute(&mut *tx)
            .await?;
        // Nobody writes (the original's writers included) until the commit,
        // so every row counted is a row converted.
        sqlx::query("LOCK TABLE historical_ticks IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        // Counted again under the lock: another run may have adopted it
        // while this one waited.
        let Shape::Original(plan) = shape(&mut tx).await? else {
            return Ok(None);
        };
        if plan.non_positive > 0 {
            return Err(AdoptError::NonPositive(plan.non_positive));
        }
        let merged = sqlx::query(
            "DELETE FROM historical_ticks WHERE id IN ( \
               SELECT id FROM ( \
                 SELECT id, row_number() OVER (PARTITION BY pair, timestamp, price ORDER BY id) AS n \
                 FROM historical_ticks) ranked \
               WHERE n > 1)",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let converted = sqlx::query("UPDATE historical_ticks SET timestamp = timestamp * 1000")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "ALTER TABLE historical_ticks \
             ADD CONSTRAINT historical_ticks_identity UNIQUE (pair, timestamp, price), \
             ADD CONSTRAINT historical_ticks_price_positive CHECK (price > 0)",
        )
        .execute(&mut *tx)
        .await?;
        let adopted = Adopted { converted, merged };
        check(&mut tx, &plan, adopted).await?;
        tx.commit()
            .await
            .map_err(|e| AdoptError::Commit(e.into()))?;
        Ok(Some(adopted))
    }
}

/// Counts the adopted table again: every row kept, converted once, the key
/// in place. Any difference is an error, and the transaction rolls back.
async fn check(conn: &mut PgConnection, plan: &Plan, done: Adopted) -> Result<(), AdoptError> {
    let (rows, oldest, newest): (i64, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT count(*), min(timestamp), max(timestamp) FROM historical_ticks")
            .fetch_one(&mut *conn)
            .await?;
    let expected = plan.span.map(|(o, n)| (o * 1000, n * 1000));
    let counts = [
        ("rows", rows, plan.converts()),
        (
            "merged",
            i64::try_from(done.merged).unwrap_or(-1),
            plan.duplicates,
        ),
        (
            "converted",
            i64::try_from(done.converted).unwrap_or(-1),
            plan.converts(),
        ),
    ];
    if let Some((what, found, wanted)) = counts.iter().find(|(_, f, w)| f != w) {
        return Err(AdoptError::Check(format!(
            "{what}: {found}, expected {wanted}"
        )));
    }
    if oldest.zip(newest) != expected {
        return Err(AdoptError::Check(format!(
            "timestamps span {oldest:?}..{newest:?} ms, expected {expected:?}"
        )));
    }
    if key(conn).await? != Some(true) {
        return Err(AdoptError::Check("the unique key is missing".into()));
    }
    Ok(())
}
