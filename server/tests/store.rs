//! The tick store against the real PostgreSQL: migrations, members of the
//! reader and writer group roles under row-level security, exact prices,
//! and a batch stored twice inserting nothing the second time.

mod common;

use common::{as_role, drop_database, drop_role, fresh_database, login_role};
use server::store::PgStore;
use shared::{Asset, Price, Tick, TimestampMs};
use sqlx::Connection;
use std::time::Duration;

fn tick(asset: &str, price: &str, at: i64) -> Tick {
    Tick::new(Asset::new(asset), Price::new(price), TimestampMs::new(at))
}

#[tokio::test]
async fn prices_are_stored_exactly_and_once() {
    let (url, db) = fresh_database("exact").await;
    let store = PgStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // idempotent
    let ticks = vec![
        tick("EURUSD_otc", "1.0823", 1_705_314_600_000),
        tick("BTCUSD", "65000.5", 1_705_314_600_001),
        tick("TINY", "0.0000000001", 1_705_314_600_002),
        tick("HUGE", "9999999999.9999999999", 1_705_314_600_003),
        // Same asset and time, another price: another tick.
        tick("EURUSD_otc", "1.0824", 1_705_314_600_000),
    ];
    assert_eq!(store.insert(&ticks).await.unwrap(), 5);
    // A retried batch, and a batch overlapping it, insert only what is new.
    assert_eq!(store.insert(&ticks).await.unwrap(), 0);
    let more = [ticks[0], tick("EURUSD_otc", "1.0825", 1_705_314_600_005)];
    assert_eq!(store.insert(&more).await.unwrap(), 1);

    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT pair, price::text, timestamp FROM historical_ticks ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let texts: Vec<String> = rows
        .iter()
        .map(|(_, p, _)| Price::new(p).to_string())
        .collect();
    assert_eq!(
        texts,
        [
            "1.0823",
            "65000.5",
            "0.0000000001",
            "9999999999.9999999999",
            "1.0824",
            "1.0825"
        ]
    );
    drop(store);
    drop_database(&db).await;
}

#[tokio::test]
async fn the_reader_only_reads_and_the_writer_only_inserts() {
    let (url, db) = fresh_database("roles").await;
    let store = PgStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    store
        .insert(&[tick("A", "1", 1_705_314_600_000)])
        .await
        .unwrap();

    // The group roles hold the grants; people and services log in as members.
    let writer_role = login_role("store_w", "tickstream_writer").await;
    let reader_role = login_role("store_r", "tickstream_reader").await;
    let mut writer = sqlx::PgConnection::connect(&as_role(&url, &writer_role))
        .await
        .unwrap();
    let insert =
        "INSERT INTO historical_ticks (pair, price, timestamp) VALUES ('A', 2, 1705314600001)";
    sqlx::query(insert)
        .execute(&mut writer)
        .await
        .expect("the writer inserts");
    // What the persister runs: a duplicate is skipped, not an error.
    let upsert = "INSERT INTO historical_ticks (pair, price, timestamp) VALUES ('A', 2, 1705314600001) ON CONFLICT (pair, timestamp, price) DO NOTHING";
    sqlx::query(upsert)
        .execute(&mut writer)
        .await
        .expect("the writer skips duplicates");
    // ON CONFLICT must see the key of the conflicting row, and serve reads
    // back ticks (ordered by id) for candles: the writer may read those four
    // columns and nothing else.
    sqlx::query("SELECT id, pair, timestamp, price FROM historical_ticks")
        .execute(&mut writer)
        .await
        .unwrap();
    for forbidden in [
        "SELECT created_at FROM historical_ticks",
        "UPDATE historical_ticks SET price = 3",
        "DELETE FROM historical_ticks",
        "TRUNCATE historical_ticks",
    ] {
        let err = sqlx::query(forbidden)
            .execute(&mut writer)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("permission denied"),
            "writer: {forbidden}: {err}"
        );
    }

    let mut reader = sqlx::PgConnection::connect(&as_role(&url, &reader_role))
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM historical_ticks")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    assert_eq!(n, 2, "the reader sees every row");
    for forbidden in [
        insert,
        "UPDATE historical_ticks SET price = 3",
        "DELETE FROM historical_ticks",
    ] {
        let err = sqlx::query(forbidden)
            .execute(&mut reader)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("permission denied"),
            "reader: {forbidden}: {err}"
        );
    }
    let (rls,): (bool,) =
        sqlx::query_as("SELECT relrowsecurity FROM pg_class WHERE relname = 'historical_ticks'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(rls, "row-level security is on");
    drop((writer, reader, store));
    drop_database(&db).await;
    drop_role(&writer_role).await;
    drop_role(&reader_role).await;
}
