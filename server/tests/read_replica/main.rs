//! History from a read replica (issue 14, item 3), against a real
//! PostgreSQL primary and its streaming replica started on loopback for
//! each test ([`pair`]) and the real Redis: reads go to the replica and
//! writes to the primary; a tick shows in `/api/candles` once replayed
//! there; a replica that is away sends reads to the primary until it is
//! back; a replica of another schema, read as a role without the server's
//! grants, or beside the embedded store, stops start-up with a message
//! naming `DATABASE_READ_URL`.
//!
//! Each test uses ports of its own in 5440-5449.

#[path = "../common/mod.rs"]
mod common;
mod pair;

use std::time::{Duration, Instant};

use common::{cleanup, drop_database, fresh_database, ticks_json, unique_prefix};
use pair::{Pair, scalar};
use server::config::ServeConfig;

/// A past hour (2024-01-15 10:00 UTC): candles there are closed, and never
/// in the Redis cache unless read from the store first.
const T0: i64 = 1_705_312_800_000;
/// Ten minutes of it, as `/api/candles` `from`/`to` (Unix seconds).
const RANGE: &str = "from=1705312800&to=1705313400";

/// `GET /api/candles` of `asset` over [`RANGE`]: the status, the source and
/// how many candles.
async fn candles(server: &common::Running, asset: &str) -> (u16, String, usize) {
    let (code, text) = server
        .get(&format!("/api/candles?asset={asset}&timeframe=1M&{RANGE}"))
        .await;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let count = json["candles"].as_array().map_or(0, Vec::len);
    (
        code,
        json["source"].as_str().unwrap_or("").to_owned(),
        count,
    )
}

/// Polls `check` every 100 ms until it holds, for at most `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ticks of `asset` in five of [`RANGE`]'s minutes, two a minute.
fn ticks(asset: &str) -> String {
    let ticks: Vec<(String, i64)> = (0..10)
        .map(|i| (format!("1.{:04}", 1000 + i), T0 + i * 30_000))
        .collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    ticks_json(asset, &refs)
}

/// Rows of `asset` in `url`'s `historical_ticks` (0 before the table exists).
async fn rows(url: &str, asset: &str) -> i64 {
    scalar(
        url,
        &format!(
            "SELECT CASE WHEN to_regclass('historical_ticks') IS NULL THEN 0::bigint \
             ELSE (SELECT count(*) FROM historical_ticks WHERE pair = '{asset}') END"
        ),
    )
    .await
}

/// Transactions committed in the `postgres` database of `url`, as
/// `pg_stat_database` counts them.
async fn commits(url: &str) -> i64 {
    scalar(
        url,
        "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'",
    )
    .await
}

#[tokio::test]
async fn history_is_read_from_the_replica_once_replayed_and_written_to_the_primary() {
    let pair = Pair::start(5440).await;
    let folder = pair.folder().to_owned();
    let prefix = unique_prefix("replica_reads");
    let dist = tempfile::tempdir().unwrap();
    let read_url = pair.replica.url();
    let server = common::start_with_db(
        dist.path(),
        &prefix,
        &pair.primary.url(),
        &["--database-read-url", &read_url],
    )
    .await;
    eventually(Duration::from_secs(15), "the server ready", || async {
        server.get("/readyz").await.0 == 200
    })
    .await;
    // Checked at start-up, after the primary was migrated.
    assert_eq!(server.metric("tickstream_history_replica_up").await, 1);

    // Replay paused: the replica lags the primary as far as we like.
    pair.pause_replay().await;
    server.ingest(&ticks("RPLAG")).await;
    eventually(Duration::from_secs(10), "the ticks on the primary", || {
        let primary = pair.primary.url();
        async move { rows(&primary, "RPLAG").await == 10 }
    })
    .await;
    // Written to the primary only; the history read on the replica misses them.
    assert_eq!(rows(&read_url, "RPLAG").await, 0);
    assert_eq!(
        candles(&server, "RPLAG").await,
        (200, "cache_miss".to_owned(), 0)
    );

    // Replayed: the same read finds them, five closed minutes.
    pair.resume_replay().await;
    eventually(
        Duration::from_secs(10),
        "the candles once replayed",
        || async { candles(&server, "RPLAG").await == (200, "database".to_owned(), 5) },
    )
    .await;

    // Twenty reads are twenty-plus transactions on the replica (each
    // read is two queries; pg_stat_database is flushed about every second).
    let before = commits(&read_url).await;
    for _ in 0..20 {
        assert_eq!(candles(&server, "RPLAG").await.2, 5);
    }
    eventually(
        Duration::from_secs(5),
        "reads counted on the replica",
        || {
            let url = read_url.clone();
            async move { commits(&url).await - before >= 40 }
        },
    )
    .await;
    assert!(
        server
            .metric("tickstream_history_replica_reads_total")
            .await
            >= 42
    );
    assert_eq!(
        server
            .metric("tickstream_history_replica_fallbacks_total")
            .await,
        0
    );
    assert_eq!(server.metric("tickstream_history_replica_up").await, 1);

    lagging_replica_newest_candles_come_from_the_hub(&server, &prefix, &pair).await;

    server.stop().await;
    cleanup(&prefix).await;
    drop(pair);
    assert!(!folder.exists(), "the pair's folder is removed");
}

#[tokio::test]
async fn reads_go_to_the_primary_while_the_replica_is_away_and_back_to_it_after() {
    let mut pair = Pair::start(5442).await;
    let prefix = unique_prefix("replica_away");
    let dist = tempfile::tempdir().unwrap();
    // Away from the start: the server starts all the same.
    pair.replica.stop();
    let server = common::start_with_db(
        dist.path(),
        &prefix,
        &pair.primary.url(),
        &[
            "--database-read-url",
            &pair.replica.url(),
            "--history-read-timeout",
            "1",
        ],
    )
    .await;
    server.ingest(&ticks("RPAWAY")).await;
    eventually(
        Duration::from_secs(10),
        "the candles from the primary",
        || async { candles(&server, "RPAWAY").await == (200, "database".to_owned(), 5) },
    )
    .await;
    assert_eq!(server.metric("tickstream_history_replica_up").await, 0);
    assert_eq!(
        server
            .metric("tickstream_history_replica_reads_total")
            .await,
        0
    );

    // Back: within the retry pause (5 s), reads go to it again.
    pair.launch(false).await;
    eventually(
        Duration::from_secs(10),
        "reads on the replica again",
        || async {
            assert_eq!(candles(&server, "RPAWAY").await.2, 5);
            server
                .metric("tickstream_history_replica_reads_total")
                .await
                > 0
        },
    )
    .await;
    assert_eq!(server.metric("tickstream_history_replica_up").await, 1);

    // Gone mid-flight: one read waits for it (at most the read timeout),
    // the primary answers it and the next ones at once.
    pair.replica.stop();
    let started = Instant::now();
    assert_eq!(
        candles(&server, "RPAWAY").await,
        (200, "database".to_owned(), 5)
    );
    let first = started.elapsed();
    let started = Instant::now();
    for _ in 0..10 {
        assert_eq!(candles(&server, "RPAWAY").await.2, 5);
    }
    let next = started.elapsed() / 10;
    println!("replica stopped: first read {first:?}, then {next:?} a read");
    assert!(first < Duration::from_secs(3), "{first:?}");
    assert!(
        server
            .metric("tickstream_history_replica_fallbacks_total")
            .await
            >= 1
    );
    assert_eq!(server.metric("tickstream_history_replica_up").await, 0);

    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_read_database_of_another_schema_stops_start_up() {
    // Not a replica of the primary: an empty database, no migration applied.
    let (primary, primary_db) = fresh_database("replica_primary").await;
    let (other, other_db) = fresh_database("replica_other").await;
    let prefix = unique_prefix("replica_schema");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(
        dist.path(),
        &prefix,
        &primary,
        &["--database-read-url", &other],
    )
    .await;
    let refusal = server.refusal().await;
    for needle in [
        "DATABASE_READ_URL",
        "schema",
        "0 of",
        "replica of DATABASE_URL",
    ] {
        assert!(refusal.contains(needle), "{needle:?} in {refusal}");
    }
    cleanup(&prefix).await;
    drop_database(&primary_db).await;
    drop_database(&other_db).await;
}

#[tokio::test]
async fn the_read_role_needs_the_grants_of_the_servers_role() {
    // The primary itself as the read database: enough to check the roles.
    let (url, db) = fresh_database("replica_roles").await;
    let (ok, out) = common::migrate(&url, &[]);
    assert!(ok, "{out}");
    let reader = common::login_role("rpreader", "tickstream_reader").await;
    let writer = common::login_role("rpwriter", "tickstream_writer").await;
    let prefix = unique_prefix("replica_roles");
    let dist = tempfile::tempdir().unwrap();
    let read_as = |role: &str| common::as_role(&url, role);

    let server = common::start_with_db(
        dist.path(),
        &prefix,
        &url,
        &["--database-read-url", &read_as(&reader)],
    )
    .await;
    let refusal = server.refusal().await;
    for needle in [
        "DATABASE_READ_URL",
        &reader,
        "_sqlx_migrations",
        "tickstream_writer",
    ] {
        assert!(refusal.contains(needle), "{needle:?} in {refusal}");
    }

    let server = common::start_with_db(
        dist.path(),
        &prefix,
        &url,
        &["--database-read-url", &read_as(&writer)],
    )
    .await;
    eventually(Duration::from_secs(15), "the server ready", || async {
        server.get("/readyz").await.0 == 200
    })
    .await;
    assert_eq!(server.metric("tickstream_history_replica_up").await, 1);
    server.stop().await;

    cleanup(&prefix).await;
    drop_database(&db).await;
    common::drop_role(&reader).await;
    common::drop_role(&writer).await;
}

#[tokio::test]
async fn the_embedded_store_and_no_store_take_no_read_replica() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("ticks.db").display());
    let replica = "postgres://postgres@127.0.0.1:5449/postgres";
    for (store, needle) in [
        (
            sqlite.as_str(),
            "embedded SQLite store, which has no read replica",
        ),
        ("none", "DATABASE_URL=none keeps no ticks"),
    ] {
        let server = common::start_bare(
            dir.path(),
            &[
                "--database-url",
                store,
                "--redis-url",
                "none",
                "--database-read-url",
                replica,
            ],
        )
        .await;
        let refusal = server.refusal().await;
        assert!(
            refusal.contains("DATABASE_READ_URL") && refusal.contains(needle),
            "{refusal}"
        );
    }
    // A URL that is not PostgreSQL's is refused as it is parsed.
    let err = ServeConfig::parse_from(["--database-read-url", "mysql://u@h/db"]).unwrap_err();
    assert!(err.to_string().contains("DATABASE_READ_URL"), "{err}");
    // Empty means none.
    let config = ServeConfig::parse_from(["--database-read-url", ""]).unwrap();
    assert_eq!(config.history.read_url(), None);
}

/// With replay paused, the newest candles of a recent read that misses the
/// cache come from the hub: the replica's stop at its newest tick.
async fn lagging_replica_newest_candles_come_from_the_hub(
    server: &common::Running,
    prefix: &str,
    pair: &Pair,
) {
    let (primary, read_url) = (pair.primary.url(), pair.replica.url());
    let minute = common::future_minute() - 60_000;
    server
        .ingest(&ticks_json("RPLIVE", &[("2.0000", minute - 120_000)]))
        .await;
    eventually(Duration::from_secs(10), "the first tick replayed", || {
        let url = read_url.clone();
        async move { rows(&url, "RPLIVE").await == 1 }
    })
    .await;
    pair.pause_replay().await;
    let now = [("2.0010", minute + 1), ("2.0005", minute + 2)];
    server.ingest(&ticks_json("RPLIVE", &now)).await;
    eventually(Duration::from_secs(10), "the ticks on the primary", || {
        let url = primary.clone();
        async move { rows(&url, "RPLIVE").await == 3 }
    })
    .await;
    assert_eq!(rows(&read_url, "RPLIVE").await, 1);
    // A miss of the Redis cache, so the read goes to the store.
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}historical:RPLIVE:1M"))
        .query_async(&mut common::redis().await)
        .await
        .unwrap();
    let (code, text) = server.get("/api/candles?asset=RPLIVE&timeframe=1M").await;
    assert_eq!(code, 200, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["source"], "database", "{text}");
    let last = json["candles"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["timestamp"], minute / 1000, "{text}");
    assert_eq!(last["volume"], 2, "{text}");
    assert_eq!(last["close"].to_string(), "2.0005", "{text}");
    pair.resume_replay().await;
}
