//! History reads cannot starve anything (issue 10, item 5), against the real
//! Redis, PostgreSQL and SQLite: a wide range reads only the last `limit`
//! candles' span and never past the forming bucket; a read past
//! `HISTORY_READ_TIMEOUT` answers 503 with `Retry-After` while `/readyz`
//! stays 200; a history size above the API's largest `limit` stops start-up.

mod common;

use std::time::{Duration, Instant};

use common::{Client, cleanup, drop_database, fresh_database, unique_prefix};
use server::store::{PgStore, ReadLimits, SqliteStore, StoreError};
use shared::protocol::{ForSeries, HistorySource};
use shared::{Asset, ClientMessage, Price, ServerMessage, Tick, Timeframe, TimestampMs};
use sqlx::Connection;

fn tick(asset: &str, price: &str, ms: i64) -> Tick {
    Tick::new(Asset::new(asset), Price::new(price), TimestampMs::new(ms))
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `GET {base}{path}`: status, `Retry-After`, body as JSON.
async fn get(base: &str, path: &str) -> (u16, Option<String>, serde_json::Value) {
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, retry, json)
}

fn open_times(body: &serde_json::Value) -> Vec<i64> {
    body["candles"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|c| c["timestamp"].as_i64().unwrap())
        .collect()
}

/// Waits until `/readyz` answers 200.
async fn ready(base: &str) {
    let started = Instant::now();
    while get(base, "/readyz").await.0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(15), "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_wide_range_reads_only_the_last_limit_candles_and_never_past_the_forming_one() {
    let (url, db) = fresh_database("wide").await;
    let store = PgStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    // Two years ago: 50,000 ticks a full scan would aggregate, and whose
    // candles a scan of the whole range would return (the recent ones are
    // fewer than `limit`).
    let old = (now_s() - 2 * 365 * 86_400) * 1000;
    let past: Vec<Tick> = (0..50_000)
        .map(|i| tick("WIDE", &format!("{}.5", 1 + i % 7), old + i * 1_000))
        .collect();
    for chunk in past.chunks(10_000) {
        store.insert(chunk).await.unwrap();
    }
    let prefix = unique_prefix("wide");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &url, &[]).await;
    ready(&server.base).await;
    // Stored after start-up, so only the database knows them (not the live
    // candles nor the cache): two recent closed minutes, and one an hour
    // ahead (a store may hold it; the API never reaches past the forming
    // bucket).
    let minute = now_s() / 60 * 60;
    let (a, b) = (minute - 240, minute - 120);
    store
        .insert(&[
            tick("WIDE", "2.5", a * 1000 + 5_000),
            tick("WIDE", "2.6", b * 1000 + 5_000),
            tick("WIDE", "9.9", (minute + 3_600) * 1000),
        ])
        .await
        .unwrap();
    // The whole range, limit 5: the window ends at the newest tick before
    // the forming bucket (b) and reaches back 5 minutes, so it holds a and b
    // only; neither the far past nor the future candle.
    let wide = format!(
        "/api/candles?asset=WIDE&timeframe=1M&from={}&to={}&limit=5",
        TimestampMs::MIN.seconds(),
        TimestampMs::MAX.seconds()
    );
    let (status, _, body) = get(&server.base, &wide).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "database", "{body}");
    assert_eq!(open_times(&body), [a, b], "{body}");
    // A range ending in the gap before the far past's last minute: the
    // window is anchored on the newest tick in range, so the gap is crossed,
    // and holds 5 candles at most.
    let last_old = (old + 49_999 * 1_000) / 60_000 * 60;
    let (_, _, body) = get(
        &server.base,
        &format!(
            "/api/candles?asset=WIDE&timeframe=1M&from={}&to={}&limit=5",
            TimestampMs::MIN.seconds(),
            minute - 86_400
        ),
    )
    .await;
    let times = open_times(&body);
    assert_eq!(times.len(), 5, "{body}");
    assert_eq!(times[0], last_old - 4 * 60, "{body}");
    // A `from` that is not an open time: the bucket opening before it is
    // not returned (from and to are inclusive candle open times).
    let (_, _, body) = get(
        &server.base,
        &format!(
            "/api/candles?asset=WIDE&timeframe=1M&from={}&to={}",
            a + 1,
            b
        ),
    )
    .await;
    assert_eq!(open_times(&body), [b], "{body}");
    // No range: the newest 5 from the database, with the same bounds.
    let (_, _, body) = get(&server.base, "/api/candles?asset=WIDE&timeframe=1M&limit=5").await;
    assert_eq!(body["source"], "database", "{body}");
    assert_eq!(open_times(&body), [a, b], "{body}");

    server.stop().await;
    cleanup(&prefix).await;
    drop(store);
    drop_database(&db).await;
}

#[tokio::test]
async fn a_read_past_the_timeout_answers_503_with_retry_after_while_readyz_stays_200() {
    let (url, db) = fresh_database("slowread").await;
    let store = PgStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    let prefix = unique_prefix("slowread");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(
        dist.path(),
        &prefix,
        &url,
        &["--history-read-timeout", "0.2"],
    )
    .await;
    ready(&server.base).await;
    // Stored after start-up: only the database knows it.
    let minute = now_s() / 60 * 60 - 600;
    store
        .insert(&[tick("SLOW", "1.5", minute * 1000)])
        .await
        .unwrap();
    let range = format!(
        "/api/candles?asset=SLOW&timeframe=1M&from={}&to={}",
        minute - 3_600,
        minute
    );
    assert_eq!(get(&server.base, &range).await.0, 200);

    // Another session holds the candle table history reads: every read of
    // it waits, and PostgreSQL cancels it at the statement timeout.
    let mut locker = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE candles_1m IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    // More reads at once than the read pool has connections.
    let reads = (0..8).map(|_| get(&server.base, &range));
    let started = Instant::now();
    let (answers, readyz) = tokio::join!(
        futures_util::future::join_all(reads),
        get(&server.base, "/readyz")
    );
    for (status, retry, body) in answers {
        assert_eq!(status, 503, "{body}");
        assert_eq!(retry.as_deref(), Some("1"), "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("too long"),
            "{body}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(readyz.0, 200, "{}", readyz.2);
    // The WebSocket history read is bounded the same way: a miss, at once.
    let mut client = Client::connect(&server.ws).await;
    client
        .send(&ClientMessage::GetCachedHistoricalData(ForSeries {
            asset: Asset::new("SLOW"),
            timeframe: Timeframe::M5,
        }))
        .await;
    let answer = client
        .until(|m| match m {
            ServerMessage::CachedHistoricalData(h) => Some(h),
            _ => None,
        })
        .await;
    assert_eq!(answer.source, HistorySource::CacheMiss);
    assert_eq!(get(&server.base, "/readyz").await.0, 200);

    tx.rollback().await.unwrap();
    let (status, _, body) = get(&server.base, &range).await;
    assert_eq!((status, open_times(&body)), (200, vec![minute]), "{body}");
    server.stop().await;
    cleanup(&prefix).await;
    drop((locker, store));
    drop_database(&db).await;
}

#[tokio::test]
async fn an_embedded_read_past_the_timeout_is_interrupted_and_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let store = SqliteStore::open(&file, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    // A tick a minute for 100,000 minutes (69 days): 69 daily candles
    // roll up 100,000 one-minute candles.
    let day = (now_s() / 86_400 - 100) * 86_400;
    let ticks: Vec<Tick> = (0..100_000)
        .map(|i| {
            tick(
                "BUSY",
                &format!("1.{:04}", i % 9_000),
                (day + i * 60) * 1000,
            )
        })
        .collect();
    store.insert(&ticks).await.unwrap();
    drop(store);
    // The store's own read: SQLite interrupts it at the deadline (its
    // progress handler), a time-out rather than a slow answer. The read
    // pool's connection is opened first, so only the query can be late.
    // 5 ms: far less than rolling up 100,000 minutes takes.
    let reads = ReadLimits {
        timeout: Duration::from_millis(5),
        connections: 1,
    };
    let store = SqliteStore::open_with(&file, Duration::from_secs(5), reads).unwrap();
    let last = day + 68 * 86_400;
    let started = Instant::now();
    while store
        .newest_minute(Asset::new("BUSY"), day, last + 86_400)
        .await
        .is_err()
    {
        // The write pool's last connection may still be checkpointing.
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let err = store
        .candles(Asset::new("BUSY"), Timeframe::D1, (day, last), 100, 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::TimedOut(sqlx::Error::Database(e)) if e.code().as_deref() == Some("9")),
        "{err:?}"
    );
    drop(store);
    let url = format!("sqlite:{}", file.display());
    let query = format!("/api/candles?asset=BUSY&timeframe=1D&from={day}&to={last}&limit=100");
    // Far too short for that read; the write pool still answers.
    let server = common::start_bare(
        dir.path(),
        &[
            "--database-url",
            &url,
            "--redis-url",
            "none",
            "--history-read-timeout",
            "0.005",
        ],
    )
    .await;
    ready(&server.base).await;
    let (status, retry, body) = get(&server.base, &query).await;
    assert_eq!((status, retry.as_deref()), (503, Some("1")), "{body}");
    assert_eq!(get(&server.base, "/readyz").await.0, 200);
    server.stop().await;
    // With the default timeout the same read answers.
    let server =
        common::start_bare(dir.path(), &["--database-url", &url, "--redis-url", "none"]).await;
    let (status, _, body) = get(&server.base, &query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["candles"][0]["volume"], 1_440, "{body}");
    assert_eq!(body["candles"].as_array().map(Vec::len), Some(69), "{body}");
    server.stop().await;
}

#[test]
fn a_history_size_above_the_api_limit_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickstream"))
        .arg("serve")
        .current_dir(dir.path())
        .env("REDIS_HISTORICAL_CACHE_SIZE", "6000")
        .env("BIND", "127.0.0.1:0")
        .env("REDIS_URL", "none")
        .env("DATABASE_URL", "none")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("REDIS_HISTORICAL_CACHE_SIZE") && stderr.contains("5000"),
        "{stderr}"
    );
}
