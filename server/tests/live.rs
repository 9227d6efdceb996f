//! The live path against the real Redis: ingest to WebSocket candle, the
//! validation of ingest and of frames, slow-client isolation, resume without
//! gap or duplicate, and closing sockets on shutdown.

mod common;

use std::time::Duration;

use common::{
    Client, TOKEN, cleanup, future_minute, journal_len, start, ticks_json, unique_prefix,
};
use shared::protocol::{SnapshotReason, Subscribe};
use shared::{Asset, ClientMessage, ServerMessage, Timeframe};

#[tokio::test]
async fn an_ingested_tick_reaches_the_websocket_as_an_exact_candle() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("ingest");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("EURUSD_otc", Some(Timeframe::M1)).await;
    assert!(matches!(
        client.recv().await,
        ServerMessage::RedisSubscribed(_)
    ));
    let first = client.snapshot().await;
    assert_eq!(
        (first.reason, first.data.len()),
        (SnapshotReason::Subscribed, 0)
    );

    let t0 = future_minute();
    let body = ticks_json(
        "EURUSD_otc",
        &[
            ("1.0823", t0 + 1_000),
            ("1.0830", t0 + 2_000),
            ("1.0810", t0 + 3_000),
        ],
    );
    let answer = server.ingest(&body).await;
    assert_eq!(
        answer,
        serde_json::json!({"accepted": 3, "journal": "redis"})
    );

    let mut last = client.update().await;
    while last.data.volume() < 3 {
        last = client.update().await;
    }
    let c = last.data;
    assert_eq!(c.open_time(), t0 / 1000);
    assert_eq!(
        [c.open(), c.high(), c.low(), c.close()].map(|p| p.to_string()),
        ["1.0823", "1.083", "1.081", "1.081"]
    );
    assert!(last.seq > first.seq);
    assert_eq!(
        journal_len(&prefix).await,
        1,
        "one entry per accepted batch"
    );
    assert_eq!(common::journal_ticks(&prefix).await.len(), 3);
    let mut redis = common::redis().await;
    let view: Vec<String> = redis::cmd("LRANGE")
        .arg(format!("{prefix}ticks:EURUSD_otc"))
        .arg(0)
        .arg(-1)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(view.len(), 3);
    assert!(view[0].contains(r#""price":1.081"#), "{view:?}");

    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn bad_ingest_is_refused_with_a_reason_and_changes_nothing() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("validation");
    let server = common::start_on_redis(
        dist.path(),
        &prefix,
        &["--max-ingest-ticks", "5", "--max-ingest-bytes", "4096"],
    )
    .await;
    let t = future_minute();
    let ok = format!(r#"{{"asset":"EURUSD","price":1.5,"timestamp":{t}}}"#);
    let cases: Vec<(Option<&str>, String, u16, &str)> = vec![
        (None, format!("[{ok}]"), 401, "Bearer"),
        (Some("wrong"), format!("[{ok}]"), 401, "wrong ingest token"),
        (Some(TOKEN), "not json".into(), 400, "JSON array"),
        (Some(TOKEN), ok.clone(), 400, "JSON array"),
        (Some(TOKEN), "[]".into(), 400, "no ticks"),
        (
            Some(TOKEN),
            format!("[{ok},{ok},{ok},{ok},{ok},{ok}]"),
            413,
            "at most 5",
        ),
        (
            Some(TOKEN),
            format!("[{ok},{{\"asset\":\"EUR USD\",\"price\":1,\"timestamp\":{t}}}]"),
            422,
            "tick 1: invalid asset",
        ),
        (
            Some(TOKEN),
            format!("[{{\"asset\":\"EURUSD\",\"price\":0,\"timestamp\":{t}}}]"),
            422,
            "greater than zero",
        ),
        (
            Some(TOKEN),
            format!("[{{\"asset\":\"EURUSD\",\"price\":\"1e400\",\"timestamp\":{t}}}]"),
            422,
            "integer digits",
        ),
        (
            Some(TOKEN),
            format!("[{{\"asset\":\"EURUSD\",\"price\":1.00000000001,\"timestamp\":{t}}}]"),
            422,
            "fractional digits",
        ),
        (
            Some(TOKEN),
            "[{\"asset\":\"EURUSD\",\"price\":1,\"timestamp\":1705314600}]".into(),
            422,
            "milliseconds",
        ),
        (
            Some(TOKEN),
            format!(
                "[{{\"asset\":\"EURUSD\",\"price\":1,\"timestamp\":{}}}]",
                t + 3_600_000
            ),
            422,
            "ahead of the server clock",
        ),
        (
            Some(TOKEN),
            "[{\"asset\":\"EURUSD\",\"price\":1}]".to_owned(),
            422,
            "missing field `timestamp`",
        ),
        (
            Some(TOKEN),
            format!("[{{\"asset\":\"EURUSD\",\"price\":1,\"timestamp\":{t},\"volume\":3}}]"),
            422,
            "unknown field",
        ),
        (
            Some(TOKEN),
            format!("[{}]", vec![ok.as_str(); 80].join(",")),
            413,
            "",
        ),
    ];
    for (token, body, status, needle) in cases {
        let (got, json) = server.ingest_with(token, &body).await;
        assert_eq!(got, status, "{body}: {json}");
        assert!(json.to_string().contains(needle), "{body}: {json}");
    }
    assert_eq!(
        journal_len(&prefix).await,
        0,
        "nothing refused was journaled"
    );

    // Ingest is off without a token configured.
    let closed = common::start_bare(dist.path(), &["--redis-url", "none"]).await;
    let (status, json) = closed.ingest_with(Some(TOKEN), &format!("[{ok}]")).await;
    assert_eq!(status, 403);
    assert!(json.to_string().contains("INGEST_TOKEN"), "{json}");
    closed.stop().await;
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn malformed_frames_get_an_error_and_the_connection_keeps_working() {
    let dist = tempfile::tempdir().unwrap();
    let server = start(
        dist.path(),
        &[
            "--redis-url",
            "none",
            "--max-frame-bytes",
            "1024",
            "--ws-rate-limit",
            "5",
        ],
    )
    .await;
    let mut client = Client::connect(&server.ws).await;
    let frames = [
        ("not json", "malformed frame"),
        (r#"{"event":"launch"}"#, "unknown event"),
        (
            r#"{"event":"start_stream","data":{"asset":"EUR/USD"}}"#,
            "invalid asset",
        ),
        (
            r#"{"event":"clear_cached_historical_data","data":{"asset":"EURUSD"}}"#,
            "admin token",
        ),
    ];
    for (frame, needle) in frames {
        client.send_text(frame).await;
        match client.recv().await {
            ServerMessage::Error(e) => {
                assert!(e.message.contains(needle), "{frame}: {}", e.message)
            }
            other => panic!("{frame}: {other:?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    client.send_text(&"x".repeat(2_000)).await;
    match client.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("1024-byte limit"), "{}", e.message),
        other => panic!("{other:?}"),
    }
    client
        .send_raw(tokio_tungstenite::tungstenite::Message::binary(vec![
            1, 2, 3,
        ]))
        .await;
    match client.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("binary"), "{}", e.message),
        other => panic!("{other:?}"),
    }
    // A burst past the rate limit is refused, then the budget refills.
    for _ in 0..20 {
        client.send(&ClientMessage::GetRedisStatus).await;
    }
    let mut limited = 0;
    for _ in 0..20 {
        if let ServerMessage::Error(e) = client.recv().await {
            assert!(e.message.contains("rate limit"), "{}", e.message);
            limited += 1;
        }
    }
    assert!(limited > 0);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    client.send(&ClientMessage::GetRedisStatus).await;
    match client.recv().await {
        ServerMessage::RedisStatus(s) => assert!(!s.connected),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("slow");
    let server = common::start_on_redis(dist.path(), &prefix, &["--ws-send-queue", "64"]).await;
    let mut slow = Client::connect(&server.ws).await;
    slow.subscribe("SLOW", None).await;
    let mut fast = Client::connect(&server.ws).await;
    fast.subscribe("SLOW", Some(Timeframe::M1)).await;
    fast.snapshot().await;

    // 20,000 ticks a minute apart: 140,000 distinct candle updates for the
    // slow client, far more than its queue and socket buffers hold.
    let t0 = future_minute() - 20_000 * 60_000;
    for batch in 0..20 {
        let ticks: Vec<(String, i64)> = (0..1_000)
            .map(|i| ("1.5".to_owned(), t0 + (batch * 1_000 + i) * 60_000))
            .collect();
        let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        server.ingest(&ticks_json("SLOW", &refs)).await;
    }
    // The reading client gets the last candle promptly.
    let last_open = (t0 + 19_999 * 60_000) / 1000;
    let started = std::time::Instant::now();
    loop {
        let u = fast.update().await;
        if u.data.open_time() == last_open {
            break;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(30));

    // The slow one, reading at last, is told it lagged and given snapshots.
    let lagged = slow
        .until(|m| match m {
            ServerMessage::CandleSnapshot(s) if s.reason == SnapshotReason::Lagged => Some(s),
            _ => None,
        })
        .await;
    assert!(!lagged.data.is_empty());
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn resuming_sends_exactly_what_was_missed() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("resume");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    let t0 = future_minute();
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("RES", Some(Timeframe::M1)).await;
    let snap = client.snapshot().await;

    // Ticks in separate minutes: no update replaces another.
    server
        .ingest(&ticks_json("RES", &[("1.1", t0), ("1.2", t0 + 60_000)]))
        .await;
    // Updates of one candle may be merged in the queue: read until the newest.
    let mut seen = client.update().await;
    while seen.data.close().to_string() != "1.2" {
        seen = client.update().await;
    }
    let last_seq = seen.seq;
    drop(client);

    server
        .ingest(&ticks_json(
            "RES",
            &[("1.3", t0 + 120_000), ("1.4", t0 + 180_000)],
        ))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut again = Client::connect(&server.ws).await;
    again
        .send(&ClientMessage::SubscribeRedisUpdates(Subscribe {
            asset: Asset::new("RES"),
            timeframe: Some(Timeframe::M1),
            last_seq: Some(last_seq),
            epoch: Some(snap.epoch),
        }))
        .await;
    assert!(matches!(
        again.recv().await,
        ServerMessage::RedisSubscribed(_)
    ));
    let mut resumed = Vec::new();
    while let Some(m) = again.try_recv(Duration::from_millis(500)).await {
        match m {
            ServerMessage::RedisUpdate(u) => resumed.push(u),
            other => panic!("expected only missed updates, got {other:?}"),
        }
    }
    let seqs: Vec<u64> = resumed.iter().map(|u| u.seq).collect();
    let expected: Vec<u64> = (last_seq + 1..=last_seq + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "no gap, no duplicate");
    assert!(!resumed.is_empty());
    assert_eq!(resumed.last().unwrap().data.close().to_string(), "1.4");

    // A resume from another epoch (another process or run) gets a snapshot.
    let mut other = Client::connect(&server.ws).await;
    other
        .send(&ClientMessage::SubscribeRedisUpdates(Subscribe {
            asset: Asset::new("RES"),
            timeframe: Some(Timeframe::M1),
            last_seq: Some(last_seq),
            epoch: Some(snap.epoch + 1),
        }))
        .await;
    let s = other.snapshot().await;
    assert_eq!(s.reason, SnapshotReason::ResumeTooOld);
    assert_eq!(s.data.len(), 4);
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn start_and_stop_stream_drive_the_simulator() {
    let dist = tempfile::tempdir().unwrap();
    let server = start(
        dist.path(),
        &[
            "--redis-url",
            "none",
            "--simulator-rate",
            "50",
            "--simulator-on-demand",
        ],
    )
    .await;
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("SIM_otc", Some(Timeframe::M1)).await;
    client.snapshot().await;
    client
        .send_text(r#"{"event":"start_stream","data":{"asset":"SIM_otc"}}"#)
        .await;
    client
        .until(|m| matches!(m, ServerMessage::StreamStarted(_)).then_some(()))
        .await;
    let u = client.update().await;
    assert_eq!(u.data.asset().as_str(), "SIM_otc");
    client.send_text(r#"{"event":"stop_stream"}"#).await;
    client
        .until(|m| matches!(m, ServerMessage::StreamStopped(_)).then_some(()))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_a_reason() {
    let dist = tempfile::tempdir().unwrap();
    let server = start(dist.path(), &["--redis-url", "none"]).await;
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("X", Some(Timeframe::M1)).await;
    client.snapshot().await;
    server.stop.cancel();
    assert_eq!(
        client.closed(Duration::from_secs(5)).await.as_deref(),
        Some("server shutting down")
    );
    server.task.await.unwrap().unwrap();
}
