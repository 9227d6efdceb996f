//! The embedded store (SQLite, used when `DATABASE_URL` is unset): exact
//! prices and exactly-once storage through the Redis journal and persister;
//! with no Redis at all, the store is the journal, and a restarted server
//! holds the same candles and history.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, cleanup, future_minute, start, status, ticks_json, unique_prefix};
use server::store::sqlite::parse_price_text;
use server::store::{SqliteStore, TickStore};
use shared::{Asset, Price, Tick, Timeframe, TimestampMs};

type Row = (String, i64, String);

/// What the file holds, ordered by identity, prices as the shortest text.
async fn stored(path: &Path) -> Vec<Row> {
    let store = SqliteStore::open(path, Duration::from_secs(5)).unwrap();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT pair, timestamp, price FROM historical_ticks ORDER BY pair, timestamp, price",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    store.pool().close().await;
    rows.into_iter()
        .map(|(pair, ts, text)| {
            let price = parse_price_text(&text).unwrap_or_else(|| panic!("stored as {text:?}"));
            (pair, ts, price.to_string())
        })
        .collect()
}

/// Ticks of `asset` 1 ms apart from `from`, with 5-decimal prices, and the
/// rows they must become.
fn batch(asset: &str, from: i64, n: i64) -> (String, BTreeSet<Row>) {
    let ticks: Vec<(String, i64)> = (0..n)
        .map(|i| (format!("1.{:05}", 10_000 + i * 7 % 9_000), from + i))
        .collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let rows = ticks
        .iter()
        .map(|(p, t)| (asset.to_owned(), *t, Price::new(p).to_string()))
        .collect();
    (ticks_json(asset, &refs), rows)
}

#[tokio::test]
async fn the_sqlite_store_keeps_exact_prices_once_and_computes_candles() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("nested/ticks.db").display());
    let store = TickStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    assert_eq!(store.kind(), "sqlite");
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // idempotent
    let t =
        |a: &str, p: &str, ms: i64| Tick::new(Asset::new(a), Price::new(p), TimestampMs::new(ms));
    let t0 = 1_705_314_600_000;
    let ticks = vec![
        t("EURUSD_otc", "1.0823", t0),
        t("EURUSD_otc", "1.0824", t0), // same instant, another price
        t("TINY", "0.0000000001", t0 + 1),
        t("HUGE", "9999999999.9999999999", t0 + 2),
        t("EURUSD_otc", "1.09", t0 + 61_000),
    ];
    assert_eq!(store.insert(&ticks).await.unwrap(), 5);
    assert_eq!(
        store.insert_batch(&ticks, 2).await.unwrap(),
        0,
        "a retried batch"
    );
    let since = store.ticks_since(t0, 100).await.unwrap();
    assert_eq!(since, ticks, "exact, in (timestamp, insertion) order");

    let eur = Asset::new("EURUSD_otc");
    let candles = store
        .candles(eur, Timeframe::M1, (t0 / 1000, t0 / 1000 + 60), 10, 0)
        .await
        .unwrap();
    assert_eq!(candles.len(), 2);
    let first = candles[0];
    assert_eq!(
        (
            first.open(),
            first.high(),
            first.low(),
            first.close(),
            first.volume()
        ),
        (
            Price::new("1.0823"),
            Price::new("1.0824"),
            Price::new("1.0823"),
            Price::new("1.0824"),
            2
        )
    );
    // Text order would put "10.5" below "9.5"; prices compare as numbers.
    store
        .insert(&[t("ORDER", "9.5", t0), t("ORDER", "10.5", t0 + 1)])
        .await
        .unwrap();
    let newest = store
        .newest(Asset::new("ORDER"), Timeframe::H1, 5, 0)
        .await
        .unwrap();
    assert_eq!(newest[0].high(), Price::new("10.5"));
    assert_eq!(newest[0].low(), Price::new("9.5"));
    assert!(
        store
            .newest(Asset::new("NONE"), Timeframe::M1, 5, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn through_the_redis_journal_every_accepted_tick_lands_in_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let prefix = unique_prefix("embedded");
    let url = format!("sqlite:{}", file.display());
    let server = common::start_with_db(dir.path(), &prefix, &url, &[]).await;
    let t0 = future_minute();
    let (first, mut expected) = batch("EMB", t0, 400);
    let (second, more) = batch("EMB2", t0, 250);
    expected.extend(more);
    server.ingest(&first).await;
    server.ingest(&second).await;
    server.ingest(&first).await; // a retry whose answer was lost

    let started = Instant::now();
    while status(&server.base).await["batch_status"]["rows_written"] != 650 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            status(&server.base).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = status(&server.base).await;
    assert_eq!(s["batch_status"]["store"], "sqlite");
    assert_eq!(s["batch_status"]["duplicates_skipped"], 400);
    server.stop().await;
    let rows = stored(&file).await;
    assert_eq!(rows.len(), expected.len(), "exactly once");
    assert_eq!(rows.into_iter().collect::<BTreeSet<_>>(), expected);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn without_redis_the_store_is_the_journal_and_a_restart_keeps_the_candles() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let url = format!("sqlite:{}", file.display());
    let args = ["--redis-url", "none", "--database-url", url.as_str()];
    let server = start(dir.path(), &args).await;
    // Ticks of the last few minutes, so they are today's and closed.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let from = (now / 60_000 - 5) * 60_000;
    let (body, expected) = batch("SOLO", from, 300);
    let answer = server.ingest(&body).await;
    assert_eq!(answer["journal"], "store", "{answer}");
    // Committed before the answer: already in the file.
    assert_eq!(stored(&file).await.len(), 300);
    let s = status(&server.base).await;
    assert_eq!(s["batch_status"]["store"], "sqlite");
    assert_eq!(s["batch_status"]["rows_written"], 300);

    let mut client = Client::connect(&server.ws).await;
    client.subscribe("SOLO", Some(Timeframe::M1)).await;
    let before = client.snapshot().await.data;
    assert_eq!(before.iter().map(|c| c.volume()).sum::<u64>(), 300);
    drop(client);
    server.stop().await;

    // A new process on the same file: today's candles are rebuilt from it,
    // and history comes from it.
    let server = start(dir.path(), &args).await;
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("SOLO", Some(Timeframe::M1)).await;
    let after = client.snapshot().await.data;
    assert_eq!(after.len(), before.len());
    for (a, b) in after.iter().zip(&before) {
        assert!(a.same_data(b), "{a:?} != {b:?}");
    }
    let (code, text) = server.get("/api/candles?asset=SOLO&timeframe=1M").await;
    assert_eq!(code, 200, "{text}");
    assert!(text.contains(r#""source":"database""#), "{text}");
    server.stop().await;
    assert_eq!(
        stored(&file).await.into_iter().collect::<BTreeSet<_>>(),
        expected
    );
}
