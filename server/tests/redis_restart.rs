//! Redis going away mid-stream and coming back: the server keeps serving live
//! candles in-process, reports `connected: false`, reconnects, writes what it
//! held to Redis in order, and nothing accepted is lost or counted twice.
//! Runs its own `redis-server` on a free loopback port, so it can kill it.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Client, PrivateRedis, future_minute, start, ticks_json};
use shared::{ServerMessage, Timeframe};

async fn volume_reaches(client: &mut Client, volume: u64) {
    client
        .until(|m| match m {
            ServerMessage::RedisUpdate(u) if u.data.volume() >= volume => {
                assert_eq!(u.data.volume(), volume, "a tick was counted twice");
                Some(())
            }
            _ => None,
        })
        .await;
}

async fn connected(base: &str) -> bool {
    let status: serde_json::Value = reqwest::get(format!("{base}/api/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["connected"] == serde_json::json!(true)
}

#[tokio::test]
async fn a_redis_restart_loses_nothing_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = PrivateRedis::start(dir.path(), port);
    let url = redis.url();
    let dist = tempfile::tempdir().unwrap();
    let server = start(
        dist.path(),
        &[
            "--redis-url",
            &url,
            "--redis-retry-delay",
            "1",
            "--redis-socket-timeout",
            "2",
        ],
    )
    .await;
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("RST", Some(Timeframe::M1)).await;
    let t0 = future_minute();
    let batch = |n: i64| {
        ticks_json(
            "RST",
            &[
                ("1.1", t0 + n * 3),
                ("1.2", t0 + n * 3 + 1),
                ("1.3", t0 + n * 3 + 2),
            ],
        )
    };

    assert_eq!(server.ingest(&batch(0)).await["journal"], "redis");
    volume_reaches(&mut client, 3).await;

    redis.kill();
    let answer = server.ingest(&batch(1)).await;
    assert_eq!(answer["journal"], "local", "accepted while Redis is away");
    volume_reaches(&mut client, 6).await;
    assert!(!connected(&server.base).await);
    assert_eq!(server.get("/readyz").await.0, 503);

    let redis = PrivateRedis::start(dir.path(), port);
    let started = Instant::now();
    while !connected(&server.base).await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.ingest(&batch(2)).await["journal"], "redis");
    volume_reaches(&mut client, 9).await;

    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ticks = common::journal_ticks_at(&mut conn, "journal").await;
    let mut stamps: Vec<i64> = ticks.iter().map(|t| t.timestamp.millis()).collect();
    stamps.sort_unstable();
    stamps.dedup();
    assert_eq!(
        (ticks.len(), stamps.len()),
        (9, 9),
        "every accepted tick is in the journal exactly once"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_server_started_without_its_redis_serves_then_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let dist = tempfile::tempdir().unwrap();
    let server = start(
        dist.path(),
        &[
            "--redis-url",
            &url,
            "--redis-retry-delay",
            "1",
            "--redis-socket-timeout",
            "2",
        ],
    )
    .await;
    assert!(!connected(&server.base).await);
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("LATE", Some(Timeframe::M1)).await;
    let t0 = future_minute();
    let answer = server
        .ingest(&ticks_json("LATE", &[("2.5", t0), ("2.6", t0 + 1)]))
        .await;
    assert_eq!(answer["journal"], "local");
    volume_reaches(&mut client, 2).await;

    let redis = PrivateRedis::start(dir.path(), port);
    let started = Instant::now();
    while !connected(&server.base).await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "did not connect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        server.ingest(&ticks_json("LATE", &[("2.7", t0 + 2)])).await["journal"],
        "redis"
    );
    volume_reaches(&mut client, 3).await;
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    assert_eq!(
        common::journal_ticks_at(&mut conn, "journal").await.len(),
        3,
        "the held ticks were written"
    );
    server.stop().await;
}
