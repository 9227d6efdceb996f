//! Two `tickstream serve` processes sharing one Redis: a tick ingested on one
//! reaches subscribers of the other, and both send identical candles.

use std::time::Duration;

use e2e::Server;
use e2e::server::{REDIS, forget_keys};
use futures_util::{SinkExt, StreamExt};
use shared::protocol::{CandleSnapshot, Subscribe};
use shared::{Asset, Candle, ClientMessage, ServerMessage, Timeframe};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(url: &str, asset: &str) -> anyhow::Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    let request = ClientMessage::SubscribeRedisUpdates(Subscribe {
        asset: Asset::new(asset),
        timeframe: Some(Timeframe::M1),
        last_seq: None,
        epoch: None,
    });
    socket.send(Message::text(request.to_json())).await?;
    Ok(socket)
}

async fn next_message(socket: &mut Socket) -> anyhow::Result<ServerMessage> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("socket closed"))??;
        if let Message::Text(text) = frame {
            return Ok(ServerMessage::from_json(&text)?);
        }
    }
}

/// Reads updates until one candle holds `volume` ticks.
async fn candle_with_volume(socket: &mut Socket, volume: u64) -> anyhow::Result<Candle> {
    loop {
        if let ServerMessage::RedisUpdate(u) = next_message(socket).await?
            && u.data.volume() == volume
        {
            return Ok(u.data);
        }
    }
}

async fn snapshot(url: &str, asset: &str) -> anyhow::Result<CandleSnapshot> {
    let mut socket = subscribe(url, asset).await?;
    loop {
        if let ServerMessage::CandleSnapshot(s) = next_message(&mut socket).await? {
            return Ok(s);
        }
    }
}

#[tokio::test]
async fn a_tick_ingested_on_one_process_reaches_the_other() -> anyhow::Result<()> {
    let prefix = format!("e2e:{}:{}:", std::process::id(), e2e::server::unique());
    let env = [
        ("REDIS_URL", REDIS),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("INGEST_TOKEN", "two-processes-ingest-token"),
    ];
    let a = Server::start(&env)?;
    let b = Server::start(&env)?;
    let mut on_b = subscribe(&b.ws(), "TWO_otc").await?;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    // Both in the current minute and no more than MAX_FUTURE_SKEW_MS ahead.
    let t0 = now / 60_000 * 60_000;
    let body = format!(
        r#"[{{"asset":"TWO_otc","price":"1.0823","timestamp":{t0}}},{{"asset":"TWO_otc","price":"1.0841","timestamp":{}}}]"#,
        t0 + 500
    );
    let answer: serde_json::Value = reqwest::Client::new()
        .post(a.url("/api/ticks"))
        .bearer_auth("two-processes-ingest-token")
        .body(body)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(answer["accepted"], 2);

    let seen_on_b = candle_with_volume(&mut on_b, 2).await?;
    assert_eq!(seen_on_b.close().to_string(), "1.0841");

    // Both processes hold the very same candles.
    let from_a = snapshot(&a.ws(), "TWO_otc").await?;
    let from_b = snapshot(&b.ws(), "TWO_otc").await?;
    assert_eq!(from_a.data, from_b.data);
    assert_eq!(from_a.data, vec![seen_on_b]);

    forget_keys(REDIS, &prefix).await
}

/// The 1D candle of `asset` in a fresh snapshot from `url`: its volume.
async fn day_volume(url: &str, asset: &str) -> anyhow::Result<u64> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    let request = ClientMessage::SubscribeRedisUpdates(Subscribe {
        asset: Asset::new(asset),
        timeframe: Some(Timeframe::D1),
        last_seq: None,
        epoch: None,
    });
    socket.send(Message::text(request.to_json())).await?;
    loop {
        if let ServerMessage::CandleSnapshot(s) = next_message(&mut socket).await? {
            return Ok(s.data.last().map_or(0, Candle::volume));
        }
    }
}

fn signal(server: &Server, name: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(server.pid().to_string())
        .status()?;
    anyhow::ensure!(status.success(), "kill -{name} failed");
    Ok(())
}

#[tokio::test]
async fn a_reader_behind_a_trimming_persister_misses_no_entry() -> anyhow::Result<()> {
    let prefix = format!("e2e-lag:{}:{}:", std::process::id(), e2e::server::unique());
    let dir = tempfile::tempdir()?;
    let db_url = format!("sqlite:{}", dir.path().join("ticks.db").display());
    let env = [
        ("REDIS_URL", REDIS),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("DATABASE_URL", db_url.as_str()),
        ("INGEST_TOKEN", "two-processes-ingest-token"),
        ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
        ("PERSISTER_CLAIM_IDLE", "2"),
    ];
    let writer = Server::start(&env)?;
    let behind = Server::start(&env)?;
    // `behind` tails and publishes its position, then stops reading.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&behind, "STOP")?;

    let client = reqwest::Client::new();
    let (batches, size) = (20u64, 100u64);
    for b in 0..batches {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64;
        let body: Vec<String> = (0..size)
            .map(|i| {
                format!(
                    r#"{{"asset":"LAG_otc","price":"1.{:05}","timestamp":{}}}"#,
                    b * size + i,
                    now - 100
                )
            })
            .collect();
        let response = client
            .post(writer.url("/api/ticks"))
            .bearer_auth("two-processes-ingest-token")
            .body(format!("[{}]", body.join(",")))
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "refused");
    }
    // The writer's persister stores and trims what it acknowledged.
    let started = std::time::Instant::now();
    loop {
        let status: serde_json::Value = reqwest::get(writer.url("/api/status"))
            .await?
            .json()
            .await?;
        if status["batch_status"]["rows_written"].as_u64() >= Some(batches * size)
            || started.elapsed() > Duration::from_secs(20)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&behind, "CONT")?;

    // The reader that was behind still gets every entry.
    let started = std::time::Instant::now();
    let volume = loop {
        let volume = day_volume(&behind.ws(), "LAG_otc").await?;
        if volume >= batches * size || started.elapsed() > Duration::from_secs(20) {
            break volume;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(volume, batches * size);
    assert_eq!(day_volume(&writer.ws(), "LAG_otc").await?, batches * size);
    drop((writer, behind));
    forget_keys(REDIS, &prefix).await
}
