//! The one-minute candles the store keeps with its ticks (`candles_1m`),
//! so that history reads candles, not ticks.
//!
//! - Writing: a trigger on `historical_ticks` (migrations `0003` and
//!   `sqlite/0002`) merges every newly inserted tick into its minute in the
//!   same transaction, whoever inserts. A duplicate or a retried batch
//!   inserts no tick and merges nothing; a late tick merges into its closed
//!   minute. Open and close carry the (timestamp, id) of their tick, so
//!   merges commute and ties in time go to the earlier insertion, as
//!   candles computed from the ticks break them.
//! - Reading: [`super::PgStore::candles`] and [`super::SqliteStore::candles`]
//!   roll minutes up into any of the precomputed timeframes (all of them
//!   whole minutes from the epoch).
//! - Backfilling: ticks stored before the table existed are merged here, in
//!   batches of [`BACKFILL_BATCH`] ticks, one transaction each, when the
//!   store is migrated or prepared for `serve` (before it serves, so no
//!   read ever sees a minute half merged). A kill in between loses nothing:
//!   the next start goes on from the last committed batch.

use std::time::Instant;

use sqlx::{PgPool, SqlitePool};

use super::StoreError;

/// Ticks merged per backfill transaction.
const BACKFILL_BATCH: i64 = 50_000;

/// Merges PostgreSQL ticks stored before `candles_1m` into it; returns how
/// many. The batches run in `tickstream_backfill_candles`, with the
/// owner's rights (the writer role may only call it).
pub(super) async fn backfill_pg(pool: &PgPool) -> Result<u64, StoreError> {
    let started = Instant::now();
    let mut merged = 0;
    loop {
        let n: i64 = sqlx::query_scalar("SELECT tickstream_backfill_candles($1::integer)")
            .bind(BACKFILL_BATCH)
            .fetch_one(pool)
            .await?;
        if n == 0 {
            break;
        }
        merged += u64::try_from(n).unwrap_or(0);
    }
    report(merged, started);
    Ok(merged)
}

/// Merges SQLite ticks stored before `candles_1m` into it; returns how many.
pub(super) async fn backfill_sqlite(pool: &SqlitePool) -> Result<u64, StoreError> {
    let started = Instant::now();
    let mut merged = 0;
    loop {
        let mut tx = pool.begin().await?;
        // A write first: the batch holds the write lock from its start, so
        // no other writer's commit can come between its read and its write.
        sqlx::query("UPDATE candles_backfill SET next_id = next_id")
            .execute(&mut *tx)
            .await?;
        let Some((next, until)): Option<(i64, i64)> =
            sqlx::query_as("SELECT next_id, until_id FROM candles_backfill")
                .fetch_optional(&mut *tx)
                .await?
        else {
            break;
        };
        if next >= until {
            break;
        }
        let (n, last): (i64, Option<i64>) = sqlx::query_as(
            "SELECT count(*), max(id) FROM ( \
               SELECT id FROM historical_ticks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?)",
        )
        .bind(next)
        .bind(until)
        .bind(BACKFILL_BATCH)
        .fetch_one(&mut *tx)
        .await?;
        let last = match last {
            Some(last) if n == BACKFILL_BATCH => last,
            _ => until - 1,
        };
        sqlx::query(
            "INSERT INTO candle_merges (pair, price, timestamp, id) \
             SELECT pair, price, timestamp, id FROM historical_ticks \
             WHERE id >= ? AND id <= ? ORDER BY id",
        )
        .bind(next)
        .bind(last)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE candles_backfill SET next_id = ?")
            .bind(last + 1)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        merged += u64::try_from(n).unwrap_or(0);
    }
    report(merged, started);
    Ok(merged)
}

fn report(merged: u64, started: Instant) {
    if merged > 0 {
        tracing::info!(
            ticks = merged,
            seconds = started.elapsed().as_secs_f64(),
            "one-minute candles backfilled from ticks stored before the candle table"
        );
    }
}
