//! The persister against the real Redis and PostgreSQL: every accepted tick
//! lands in `historical_ticks` exactly once, through retried batches and a
//! PostgreSQL outage, and the journal is trimmed behind it.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{
    Proxy, cleanup, drop_database, fresh_database, future_minute, journal_len, start, status,
    ticks_json, unique_prefix,
};
use sqlx::Connection;

type Row = (String, i64, String);

async fn stored(url: &str) -> Vec<Row> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as(
        "SELECT pair, timestamp, price::text FROM historical_ticks ORDER BY pair, timestamp, price",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

/// Waits until the database holds exactly `expected`, and returns what it holds.
async fn wait_until_stored(url: &str, expected: usize) -> Vec<Row> {
    let started = Instant::now();
    loop {
        let rows = stored(url).await;
        if rows.len() >= expected || started.elapsed() > Duration::from_secs(30) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn batch(asset: &str, from: i64, n: i64) -> (String, Vec<Row>) {
    let ticks: Vec<(String, i64)> = (0..n)
        .map(|i| (format!("1.{:04}", 1000 + i), from + i))
        .collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let rows = ticks
        .iter()
        .map(|(p, t)| (asset.to_owned(), *t, p.clone()))
        .collect();
    (ticks_json(asset, &refs), rows)
}

fn normalise(rows: Vec<Row>) -> BTreeSet<Row> {
    rows.into_iter()
        .map(|(a, t, p)| (a, t, shared::Price::new(&p).to_string()))
        .collect()
}

#[tokio::test]
async fn every_accepted_tick_is_stored_exactly_once() {
    let (db_url, db) = fresh_database("persist").await;
    let prefix = unique_prefix("persist");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;
    let t0 = future_minute();
    let (first, mut expected) = batch("PST", t0, 500);
    let (second, more) = batch("PST2", t0, 300);
    expected.extend(more);
    server.ingest(&first).await;
    server.ingest(&second).await;
    // The answer to this one was "lost": the client retries it.
    server.ingest(&first).await;

    let rows = wait_until_stored(&db_url, expected.len()).await;
    assert_eq!(rows.len(), expected.len(), "exactly once");
    assert_eq!(normalise(rows), normalise(expected));
    let s = status(&server.base).await;
    assert_eq!(s["batch_status"]["running"], true);
    assert_eq!(s["batch_status"]["rows_written"], 800);
    assert_eq!(s["batch_status"]["duplicates_skipped"], 500);
    // Acknowledged entries are trimmed away.
    let started = Instant::now();
    while journal_len(&prefix).await > 1 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(journal_len(&prefix).await <= 1);
    server.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
}

#[tokio::test]
async fn a_postgresql_outage_delays_storage_and_loses_nothing() {
    let (db_url, db) = fresh_database("outage").await;
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let via_proxy = db_url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    let prefix = unique_prefix("outage");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_on_redis(
        dist.path(),
        &prefix,
        &[
            "--database-url",
            &via_proxy,
            "--redis-batch-processing-interval",
            "1",
            "--redis-retry-delay",
            "1",
            "--redis-socket-timeout",
            "2",
        ],
    )
    .await;
    let t0 = future_minute();
    let (first, mut expected) = batch("OUT", t0, 200);
    server.ingest(&first).await;
    assert_eq!(wait_until_stored(&db_url, 200).await.len(), 200);

    proxy.down();
    let mut n = 200;
    for round in 0..5 {
        let (body, rows) = batch("OUT", t0 + 10_000 * (round + 1), 100);
        server.ingest(&body).await; // still accepted: the journal holds it
        expected.extend(rows);
        n += 100;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let s = status(&server.base).await;
    assert!(
        s["batch_status"]["failures"].as_u64().unwrap_or(0) > 0,
        "{s}"
    );
    assert!(s["batch_status"]["last_error"].is_string(), "{s}");
    assert_eq!(
        stored(&db_url).await.len(),
        200,
        "nothing new while PostgreSQL is away"
    );
    assert_eq!(
        server.get("/readyz").await.0,
        503,
        "not ready without its store"
    );

    proxy.up();
    let rows = wait_until_stored(&db_url, n).await;
    // Ready again once the persister has seen its write commit.
    let started = Instant::now();
    while server.get("/readyz").await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not ready again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rows.len(), n, "every tick, once");
    assert_eq!(normalise(rows), normalise(expected));
    server.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
}

#[tokio::test]
async fn a_redis_restart_under_the_persister_loses_nothing() {
    let (db_url, db) = fresh_database("redisrestart").await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = common::PrivateRedis::start(dir.path(), port);
    let url = redis.url();
    let dist = tempfile::tempdir().unwrap();
    let server = start(
        dist.path(),
        &[
            "--redis-url",
            &url,
            "--database-url",
            &db_url,
            "--redis-batch-processing-interval",
            "1",
            "--redis-retry-delay",
            "1",
            "--redis-socket-timeout",
            "2",
        ],
    )
    .await;
    let t0 = future_minute();
    let (first, mut expected) = batch("RRS", t0, 300);
    server.ingest(&first).await;
    redis.kill();
    let (second, more) = batch("RRS", t0 + 10_000, 300);
    assert_eq!(server.ingest(&second).await["journal"], "local");
    expected.extend(more);
    let _redis = common::PrivateRedis::start(dir.path(), port);
    let (third, more) = batch("RRS", t0 + 20_000, 300);
    let started = Instant::now();
    loop {
        let (code, answer) = server.ingest_with(Some(common::TOKEN), &third).await;
        assert_eq!(code, 200, "{answer}");
        if answer["journal"] == "redis" {
            break;
        }
        // Accepted in-process meanwhile: the same ticks again are one tick each.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Redis never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    expected.extend(more);
    let rows = wait_until_stored(&db_url, expected.len()).await;
    assert_eq!(
        rows.len(),
        expected.len(),
        "every accepted tick, exactly once"
    );
    assert_eq!(normalise(rows), normalise(expected));
    server.stop().await;
    drop_database(&db).await;
}

async fn snapshot_of(ws: &str, asset: &str) -> Vec<shared::Candle> {
    let mut client = common::Client::connect(ws).await;
    client.subscribe(asset, Some(shared::Timeframe::M1)).await;
    client.snapshot().await.data
}

#[tokio::test]
async fn a_process_started_after_the_journal_was_trimmed_holds_the_same_candles() {
    let (db_url, db) = fresh_database("latecomer").await;
    let prefix = unique_prefix("latecomer");
    let dist = tempfile::tempdir().unwrap();
    let a = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;
    let t0 = future_minute();
    let (first, _) = batch("LATE", t0, 400);
    a.ingest(&first).await;
    wait_until_stored(&db_url, 400).await;
    // One more entry, so the 400-tick one is not the last delivered and goes.
    let (nudge, _) = batch("LATE", t0 + 500, 1);
    a.ingest(&nudge).await;
    wait_until_stored(&db_url, 401).await;
    let started = Instant::now();
    while journal_len(&prefix).await > 1 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(journal_len(&prefix).await <= 1, "the journal was trimmed");

    // B starts now: the journal no longer holds the first 400 ticks.
    let b = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;
    let (second, _) = batch("LATE", t0 + 1_000, 100);
    a.ingest(&second).await;
    wait_until_stored(&db_url, 501).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (from_a, from_b) = (
        snapshot_of(&a.ws, "LATE").await,
        snapshot_of(&b.ws, "LATE").await,
    );
    assert_eq!(from_a.iter().map(shared::Candle::volume).sum::<u64>(), 501);
    assert_eq!(from_b, from_a, "the latecomer holds the same candles");
    a.stop().await;
    b.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
}
