//! The one-minute candle table (`candles_1m`) against the real PostgreSQL
//! and SQLite: after batches split over connections, late ticks (new
//! opens, ties in time with the open and the close, new highs and lows),
//! duplicates, a retried batch and concurrent writers, the candles the
//! store reads (every precomputed timeframe rolled up from the table) equal
//! candles computed from the stored ticks; ticks stored before the table
//! existed are backfilled in batches when the store is migrated.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{drop_database, fresh_database};
use server::store::{PgStore, SqliteStore, TickStore};
use shared::{Asset, Price, Tick, Timeframe, TimestampMs};

/// 2024-01-15 10:00 UTC, in milliseconds.
const T0: i64 = 1_705_312_800_000;

fn tick(asset: &str, price: &str, ms: i64) -> Tick {
    Tick::new(Asset::new(asset), Price::new(price), TimestampMs::new(ms))
}

/// A candle as compared: open time, open, high, low, close, tick count.
type Ohlc = (i64, Price, Price, Price, Price, u64);

/// Every stored tick, in (timestamp, insertion) order.
async fn stored(store: &TickStore) -> Vec<Tick> {
    store.ticks_since(0, 10_000_000).await.unwrap()
}

/// Candles of `asset` in `timeframe` computed here from `ticks`, in
/// (timestamp, insertion) order.
fn from_ticks(ticks: &[Tick], asset: Asset, timeframe: Timeframe) -> Vec<Ohlc> {
    let mut candles: BTreeMap<i64, Ohlc> = BTreeMap::new();
    for t in ticks.iter().filter(|t| t.asset == asset) {
        let open = timeframe.bucket_of_millis(t.timestamp.millis());
        let p = t.price;
        candles
            .entry(open)
            .and_modify(|c| {
                c.2 = c.2.max(p);
                c.3 = c.3.min(p);
                c.4 = p;
                c.5 += 1;
            })
            .or_insert((open, p, p, p, p, 1));
    }
    candles.into_values().collect()
}

/// Candles of `asset` in `timeframe` as the store reads them (from the
/// candle table), all of them closed.
async fn from_table(store: &TickStore, asset: Asset, timeframe: Timeframe) -> Vec<Ohlc> {
    let all = (TimestampMs::MIN.seconds(), TimestampMs::MAX.seconds());
    store
        .candles(asset, timeframe, all, 1_000_000, 0)
        .await
        .unwrap()
        .iter()
        .map(|c| {
            (
                c.open_time(),
                c.open(),
                c.high(),
                c.low(),
                c.close(),
                c.volume(),
            )
        })
        .collect()
}

/// The candle table agrees with the ticks for every asset and timeframe.
async fn agree(store: &TickStore, assets: &[&str], when: &str) {
    let ticks = stored(store).await;
    for asset in assets {
        for tf in Timeframe::ALL {
            let asset = Asset::new(asset);
            let expected = from_ticks(&ticks, asset, tf);
            assert!(!expected.is_empty(), "{when}: no ticks of {asset}");
            assert_eq!(
                from_table(store, asset, tf).await,
                expected,
                "{when}: {asset} {tf}"
            );
        }
    }
}

/// The scenario, the same on either store.
async fn late_ticks_duplicates_and_retries(store: &TickStore) {
    // 3,000 ticks of two assets over ten minutes: split over connections on
    // PostgreSQL (two assets, two parts).
    let batch: Vec<Tick> = (0..3_000_i64)
        .map(|i| {
            let asset = if i % 2 == 0 { "CT_A" } else { "CT_B" };
            tick(
                asset,
                &format!("1.{:04}", 1_000 + (i * 37) % 8_000),
                T0 + i * 200,
            )
        })
        .collect();
    assert_eq!(store.insert_batch(&batch, 2).await.unwrap(), 3_000);
    agree(store, &["CT_A", "CT_B"], "first batch").await;

    // Late ticks into closed minutes: before the minute's open (the new
    // open), at the open's and the close's very millisecond (the open
    // stays, the later insertion closes), a new high and a new low, and a
    // minute that had no tick at all.
    let first_open = batch[0].timestamp.millis();
    let close_of_first_minute = batch
        .iter()
        .filter(|t| t.asset.as_str() == "CT_A" && t.timestamp.millis() < T0 + 60_000)
        .map(|t| t.timestamp.millis())
        .max()
        .unwrap();
    let late = vec![
        tick("CT_A", "1.0001", T0 + 120_000 - 1),
        tick("CT_A", "9.9999", first_open),
        tick("CT_A", "1.5555", close_of_first_minute),
        tick("CT_A", "0.0001", T0 + 30_000 + 1),
        tick("CT_A", "99.5", T0 + 30_000 + 3),
        tick("CT_B", "2.5", T0 - 3_600_000),
        tick("CT_B", "2.25", T0 + 86_400_000),
    ];
    assert_eq!(store.insert(&late).await.unwrap(), 7);
    agree(store, &["CT_A", "CT_B"], "late ticks").await;

    // Duplicates, alone and within a batch with new ticks: only the new
    // ones count.
    assert_eq!(store.insert(&late[..3]).await.unwrap(), 0);
    let mut mixed = batch[..500].to_vec();
    mixed.push(tick("CT_A", "3.25", T0 + 61_000));
    mixed.push(tick("CT_A", "3.25", T0 + 61_000));
    assert_eq!(store.insert(&mixed).await.unwrap(), 1);
    agree(store, &["CT_A", "CT_B"], "duplicates").await;

    // A retried batch: the whole of it again, plus what was not stored.
    let mut retried = batch.clone();
    retried.extend((0..100_i64).map(|i| tick("CT_B", "4.5", T0 + 7 + i * 1_000)));
    assert_eq!(store.insert_batch(&retried, 2).await.unwrap(), 100);
    agree(store, &["CT_A", "CT_B"], "retried batch").await;

    // Concurrent writers into the same minutes of one asset.
    let writers: Vec<Vec<Tick>> = (0..4_i64)
        .map(|w| {
            (0..200_i64)
                .map(|i| tick("CT_C", &format!("5.{w}{i:03}"), T0 + (i * 997) % 300_000))
                .collect()
        })
        .collect();
    let inserted = futures_util::future::join_all(writers.iter().map(|w| store.insert(w))).await;
    let total: u64 = inserted.into_iter().map(Result::unwrap).sum();
    assert_eq!(total, 800);
    agree(store, &["CT_A", "CT_B", "CT_C"], "concurrent writers").await;
}

#[tokio::test]
async fn the_postgresql_candle_table_equals_candles_from_the_ticks() {
    let (url, db) = fresh_database("candletable").await;
    let store = TickStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    late_ticks_duplicates_and_retries(&store).await;
    drop(store);
    drop_database(&db).await;
}

#[tokio::test]
async fn the_sqlite_candle_table_equals_candles_from_the_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("ticks.db").display());
    let store = TickStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    late_ticks_duplicates_and_retries(&store).await;
}

#[tokio::test]
async fn postgresql_ticks_stored_without_candles_are_backfilled_in_batches() {
    let (url, db) = fresh_database("candlefill").await;
    let store = PgStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    let store = TickStore::Postgres(store);
    store
        .insert(&[tick("CT_F", "1.5", T0), tick("CT_F", "1.75", T0 + 1)])
        .await
        .unwrap();
    // Ticks stored as a binary before the candle table stored them (no
    // trigger): 120,000 of them, more than two backfill batches, some in
    // the minutes already holding candles.
    let TickStore::Postgres(pg) = &store else {
        unreachable!()
    };
    for sql in [
        "ALTER TABLE historical_ticks DISABLE TRIGGER historical_ticks_candles",
        "UPDATE candles_backfill SET next_id = (SELECT max(id) + 1 FROM historical_ticks)",
        "INSERT INTO historical_ticks (pair, price, timestamp) \
         SELECT CASE WHEN i % 3 = 0 THEN 'CT_G' ELSE 'CT_F' END, 1 + (i % 5000) * 0.0001, \
                1705312800000 + i * 7 FROM generate_series(1, 120000) i",
        "UPDATE candles_backfill SET until_id = (SELECT max(id) + 1 FROM historical_ticks)",
        "ALTER TABLE historical_ticks ENABLE TRIGGER historical_ticks_candles",
    ] {
        sqlx::query(sql).execute(pg.pool()).await.unwrap();
    }
    assert_ne!(
        from_table(&store, Asset::new("CT_F"), Timeframe::M1).await,
        from_ticks(&stored(&store).await, Asset::new("CT_F"), Timeframe::M1)
    );
    store.migrate().await.unwrap();
    agree(&store, &["CT_F", "CT_G"], "backfilled").await;
    // Nothing is merged twice.
    store.migrate().await.unwrap();
    agree(&store, &["CT_F", "CT_G"], "migrated again").await;
    drop(store);
    drop_database(&db).await;
}

#[tokio::test]
async fn sqlite_ticks_stored_without_candles_are_backfilled_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    // A file as a binary before the candle table left it: the first
    // migration only, and 120,000 ticks.
    let old = SqliteStore::open(&file, Duration::from_secs(5)).unwrap();
    sqlx::raw_sql(include_str!(
        "../../migrations/sqlite/0001_historical_ticks.sql"
    ))
    .execute(old.pool())
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 120000) \
         INSERT INTO historical_ticks (pair, price, timestamp) \
         SELECT CASE WHEN i % 3 = 0 THEN 'CT_G' ELSE 'CT_F' END, \
                printf('%010d.%010d', 1 + i % 7, (i % 5000) * 1000000), 1705312800000 + i * 7 FROM s",
    )
    .execute(old.pool())
    .await
    .unwrap();
    old.pool().close().await;
    let store = TickStore::Sqlite(SqliteStore::open(&file, Duration::from_secs(5)).unwrap());
    store.migrate().await.unwrap();
    agree(&store, &["CT_F", "CT_G"], "backfilled").await;
    store.migrate().await.unwrap();
    store.insert(&[tick("CT_F", "0.5", T0 + 3)]).await.unwrap();
    agree(&store, &["CT_F", "CT_G"], "migrated again, then written").await;
}
