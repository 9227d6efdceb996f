//! Memory per client bounded in bytes, and unknown assets leave nothing,
//! against the real Redis: clients that never read and subscribe again and
//! again, repeated subscribes coalesced, the subscription cap, made-up assets,
//! and a status and metrics that list only the busiest assets.

mod common;

use std::time::Duration;

use common::{Client, cleanup, future_minute, ticks_json, unique_prefix};
use shared::protocol::{SnapshotReason, Subscribe};
use shared::{Asset, ClientMessage, ServerMessage, Timeframe};

/// This process's resident memory, bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Ingests 200 ticks a day apart for `asset`: 200 candles in every
/// timeframe, so a snapshot of all seven is about a quarter of a megabyte.
async fn seed_big(server: &common::Running, asset: &str) {
    let t0 = future_minute() - 201 * 86_400_000;
    let ticks: Vec<(String, i64)> = (0..200)
        .map(|i| (format!("1.{:04}", 1000 + i), t0 + i * 86_400_000))
        .collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    server.ingest(&ticks_json(asset, &refs)).await;
    // Wait until the hub holds them.
    let mut probe = Client::connect(&server.ws).await;
    within(async {
        loop {
            probe.subscribe(asset, Some(Timeframe::D1)).await;
            if probe.snapshot().await.data.len() == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// `wait` done within 10 seconds.
async fn within<T>(wait: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("not within 10 s")
}

/// `live.assets` of `/api/status`.
async fn listed(base: &str) -> serde_json::Value {
    common::status(base).await["live"]["assets"].clone()
}

fn subscribe(asset: &str) -> ClientMessage {
    ClientMessage::SubscribeRedisUpdates(Subscribe {
        asset: Asset::new(asset),
        timeframe: None,
        last_seq: None,
        epoch: None,
    })
}

#[tokio::test]
async fn clients_that_never_read_and_resubscribe_hold_at_most_the_byte_bound() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("neverread");
    // A 64 KiB bound, and a frame bound out of its way.
    let bound: u64 = 64 << 10;
    let server = common::start_on_redis(
        dist.path(),
        &prefix,
        &[
            "--ws-rate-limit",
            "100000",
            "--ws-send-queue",
            "100000",
            "--ws-send-queue-bytes",
            "65536",
        ],
    )
    .await;
    seed_big(&server, "BIG").await;
    let before = rss();

    // Five clients that never read, each subscribing 300 times to every
    // timeframe of a series of 200 candles: 300 x 7 snapshots each, 2,100
    // frames of about 38 KB, were they queued.
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(Client::connect(&server.ws).await);
    }
    let mut most = 0;
    for round in 0..300 {
        for c in &mut clients {
            c.send(&subscribe("BIG")).await;
        }
        if round % 50 == 49 {
            most = most.max(server.metric("tickstream_ws_queued_bytes").await);
        }
    }
    // Then 2,500 candle updates each, a minute apart: far more than 64 KiB.
    let t0 = future_minute() - 2 * 86_400_000 + 60_000;
    for batch in 0..5 {
        let ticks: Vec<(String, i64)> = (0..500)
            .map(|i| ("1.5".to_owned(), t0 + (batch * 500 + i) * 60_000))
            .collect();
        let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        server.ingest(&ticks_json("BIG", &refs)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        most = most.max(server.metric("tickstream_ws_queued_bytes").await);
    }
    let grown = rss().saturating_sub(before);
    // Replies may reach twice the bound before a session is closed.
    assert!(
        most <= 5 * 2 * bound,
        "{most} bytes queued for 5 clients, bound {bound} each"
    );
    assert!(server.metric("tickstream_ws_lagged_total").await > 0);
    // Secondary: the process did not take hundreds of megabytes (queued,
    // the snapshots alone would be 5 x 2,100 x 38 KB, about 400 MB).
    assert!(grown < 150 << 20, "resident memory grew by {grown} bytes");
    // None of them was closed for it: they still get their snapshots once
    // reading (a closed one would fail here).
    for mut c in clients {
        assert!(matches!(c.recv().await, ServerMessage::RedisSubscribed(_)));
        assert_eq!(c.snapshot().await.data.len(), 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.metric("tickstream_ws_queued_bytes").await, 0);
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_repeated_subscribe_while_its_snapshot_waits_is_coalesced() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("coalesce");
    // A frame bound that 600 subscribes' replies stay within.
    let server = common::start_on_redis(
        dist.path(),
        &prefix,
        &["--ws-rate-limit", "100000", "--ws-send-queue", "10000"],
    )
    .await;
    seed_big(&server, "BIG").await;

    // 600 subscribes sent before reading anything: once the socket's
    // buffers are full, the snapshots still queued are not queued again.
    let mut client = Client::connect(&server.ws).await;
    let n = 600;
    for _ in 0..n {
        client.send(&subscribe("BIG")).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut subscribed, mut snapshots) = (0, Vec::new());
    while subscribed < n {
        match client.recv().await {
            ServerMessage::RedisSubscribed(_) => subscribed += 1,
            ServerMessage::CandleSnapshot(s) => snapshots.push(s),
            other => panic!("unexpected {other:?}"),
        }
    }
    while let Some(m) = client.try_recv(Duration::from_millis(300)).await {
        match m {
            ServerMessage::CandleSnapshot(s) => snapshots.push(s),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Every subscribe answered; far fewer snapshots than 7 per subscribe
    // (the socket holds some tens of them before the writer waits).
    assert_eq!(subscribed, n);
    assert!(
        snapshots.len() < 7 * n / 3,
        "{} snapshots for {n} subscribes",
        snapshots.len()
    );
    assert!(snapshots.iter().all(|s| s.data.len() == 200));

    // Exact: the next tick arrives once in every timeframe, numbered right
    // after the newest snapshot of it.
    let seq_of = |tf: Timeframe| {
        snapshots
            .iter()
            .rev()
            .find(|s| s.timeframe == tf)
            .map(|s| s.seq)
            .unwrap()
    };
    server
        .ingest(&ticks_json("BIG", &[("2.5", future_minute())]))
        .await;
    let mut updates = Vec::new();
    while let Some(m) = client.try_recv(Duration::from_millis(500)).await {
        match m {
            ServerMessage::RedisUpdate(u) => updates.push(u),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(updates.len(), 7);
    for u in updates {
        assert_eq!(u.seq, seq_of(u.data.timeframe()) + 1);
    }
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn the_subscription_past_the_limit_gets_an_error_and_the_session_goes_on() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("maxsubs");
    let server = common::start_on_redis(dist.path(), &prefix, &["--ws-rate-limit", "100000"]).await;
    let mut client = Client::connect(&server.ws).await;
    for i in 0..64 {
        client
            .subscribe(&format!("S{i}"), Some(Timeframe::M1))
            .await;
        assert!(matches!(
            client.recv().await,
            ServerMessage::RedisSubscribed(_)
        ));
        client.snapshot().await;
    }
    client.subscribe("S64", Some(Timeframe::M1)).await;
    match client.recv().await {
        ServerMessage::Error(e) => {
            assert!(e.message.contains("64"), "{}", e.message);
            assert!(e.message.contains("WS_MAX_SUBSCRIPTIONS"), "{}", e.message);
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // Another timeframe of an asset followed is one more subscription.
    client.subscribe("S0", Some(Timeframe::M5)).await;
    match client.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("S0 5M"), "{}", e.message),
        other => panic!("expected an error, got {other:?}"),
    }
    // A subscription held may be made again, and leaving one makes room for
    // another.
    client.subscribe("S0", Some(Timeframe::M1)).await;
    assert!(matches!(
        client.recv().await,
        ServerMessage::RedisSubscribed(_)
    ));
    client
        .send(&ClientMessage::UnsubscribeRedisUpdates(
            shared::Unsubscribe::asset(Asset::new("S1")),
        ))
        .await;
    client.subscribe("S64", Some(Timeframe::M1)).await;
    let s = client
        .until(|m| match m {
            ServerMessage::CandleSnapshot(s) if s.asset == Asset::new("S64") => Some(s),
            ServerMessage::Error(e) => panic!("{}", e.message),
            _ => None,
        })
        .await;
    assert_eq!(s.reason, SnapshotReason::Subscribed);
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn made_up_assets_leave_nothing_and_deliver_once_they_tick() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("madeup");
    let server = common::start_on_redis(
        dist.path(),
        &prefix,
        &[
            "--ws-rate-limit",
            "100000",
            "--ws-max-subscriptions",
            "3000",
            // 2,000 replies and 14,000 snapshots queued before reading.
            "--ws-send-queue",
            "20000",
        ],
    )
    .await;
    server
        .ingest(&ticks_json("REAL", &[("1.5", future_minute())]))
        .await;
    let assets_now = || listed(&server.base);
    within(async {
        while assets_now().await.as_array().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let series = server.metric("tickstream_live_series").await;
    let assets = assets_now().await;
    assert_eq!(assets, serde_json::json!(["REAL"]));

    let mut client = Client::connect(&server.ws).await;
    for i in 0..2_000 {
        client.send(&subscribe(&format!("FAKE{i}"))).await;
    }
    let mut snapshots = 0;
    while snapshots < 2_000 * 7 {
        if let ServerMessage::CandleSnapshot(s) = client.recv().await {
            assert!(s.data.is_empty() && s.seq == 0);
            snapshots += 1;
        }
    }
    // While subscribed: no series made, nothing listed.
    assert_eq!(server.metric("tickstream_live_series").await, series);
    assert_eq!(assets_now().await, assets);

    // An asset without ticks still delivers once they arrive.
    let t0 = future_minute();
    server.ingest(&ticks_json("FAKE7", &[("3.25", t0)])).await;
    let u = client
        .until(|m| match m {
            ServerMessage::RedisUpdate(u) if u.data.timeframe() == Timeframe::M1 => Some(u),
            _ => None,
        })
        .await;
    assert_eq!((u.data.asset(), u.seq), (Asset::new("FAKE7"), 1));
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Gone: only the asset that ticked was added.
    assert_eq!(server.metric("tickstream_live_series").await, series + 7);
    assert_eq!(assets_now().await, serde_json::json!(["FAKE7", "REAL"]));
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn status_and_metrics_list_the_busiest_assets_and_count_the_rest() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("listed");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    // Asset i gets i + 1 ticks, each in its own minute.
    let t0 = future_minute() - 200 * 60_000;
    let all: Vec<(String, i64)> = (0..150i64)
        .flat_map(|i| (0..=i).map(move |j| (format!("L{i:03}"), t0 + j * 60_000)))
        .collect();
    for chunk in all.chunks(5_000) {
        let items: Vec<String> = chunk
            .iter()
            .map(|(a, t)| format!(r#"{{"asset":"{a}","price":"1.5","timestamp":{t}}}"#))
            .collect();
        server.ingest(&format!("[{}]", items.join(","))).await;
    }
    let live = within(async {
        loop {
            let live = common::status(&server.base).await["live"].clone();
            if live["assets_more"] == 50 {
                return live;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let names: Vec<&str> = live["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let busiest: Vec<String> = (50..150).map(|i| format!("L{i:03}")).collect();
    assert_eq!(names, busiest);

    let status = common::status(&server.base).await;
    assert_eq!(status["feeds"].as_object().unwrap().len(), 100);
    let (_, text) = server.get("/metrics").await;
    let stale_lines = text
        .lines()
        .filter(|l| l.starts_with("tickstream_feed_stale{"))
        .count();
    assert_eq!(stale_lines, 100);
    assert_eq!(server.metric("tickstream_feeds_unlisted").await, 50);
    server.stop().await;
    cleanup(&prefix).await;
}
