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
