//! `tickstream replay`: a tick file into a running server over HTTP, and
//! straight into the Redis journal that the server tails; a bad file is
//! refused before anything is sent.

use std::process::Command;
use std::time::Duration;

use e2e::{Server, paths};
use futures_util::{SinkExt, StreamExt};
use shared::protocol::{CandleSnapshot, Subscribe};
use shared::{Asset, ClientMessage, ServerMessage, Timeframe};
use tokio_tungstenite::tungstenite::Message;

use e2e::server::{REDIS, forget_keys};

async fn snapshot(url: &str, asset: &str) -> anyhow::Result<CandleSnapshot> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    let request = ClientMessage::SubscribeRedisUpdates(Subscribe {
        asset: Asset::new(asset),
        timeframe: Some(Timeframe::M1),
        last_seq: None,
        epoch: None,
    });
    socket.send(Message::text(request.to_json())).await?;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("closed"))??;
        if let Message::Text(text) = frame
            && let ServerMessage::CandleSnapshot(s) = ServerMessage::from_json(&text)?
        {
            return Ok(s);
        }
    }
}

/// Waits until the server holds `volume` ticks of `asset` in 1M candles.
async fn wait_for_volume(
    server: &Server,
    asset: &str,
    volume: u64,
) -> anyhow::Result<CandleSnapshot> {
    for _ in 0..50 {
        let s = snapshot(&server.ws(), asset).await?;
        if s.data.iter().map(shared::Candle::volume).sum::<u64>() >= volume {
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{asset} never reached {volume} ticks")
}

fn replay(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(paths::tickstream_bin())
        .arg("replay")
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("tickstream runs")
}

#[tokio::test]
async fn a_file_replays_into_a_server_and_into_the_journal() -> anyhow::Result<()> {
    let prefix = format!(
        "e2e-replay:{}:{}:",
        std::process::id(),
        e2e::server::unique()
    );
    let env = [
        ("REDIS_URL", REDIS),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("INGEST_TOKEN", "replay-ingest-token"),
    ];
    let server = Server::start(&env)?;
    let dir = std::env::temp_dir().join(format!("replay-{}", e2e::server::unique()));
    std::fs::create_dir_all(&dir)?;

    // 1,000 ticks, one a second, in a plain CSV with a header.
    let start = 1_705_314_600_000_i64;
    let mut csv = String::from("asset,price,timestamp_ms\n");
    for i in 0..1_000 {
        csv.push_str(&format!(
            "RPL_A,1.{:04},{}\n",
            1000 + i % 50,
            start + i * 1000
        ));
    }
    let plain = dir.join("ticks.csv");
    std::fs::write(&plain, &csv)?;
    let out = replay(
        &[
            plain.to_str().unwrap_or_default(),
            "--server",
            &server.url(""),
            "--speed",
            "max",
            "--ingest-token",
            "replay-ingest-token",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = wait_for_volume(&server, "RPL_A", 1_000).await?;
    assert_eq!(s.data.len(), 17, "1,000 seconds make 17 one-minute candles");
    assert_eq!(s.data[0].open().to_string(), "1.1");

    // A HistData file straight into the journal, asset from the file name.
    let hist = dir.join("DAT_ASCII_RPLB_T_202401.csv");
    std::fs::write(
        &hist,
        "20240115 103000123,1.08230,1.08240,0\n20240115 103001500,1.08250,1.08260,0\n",
    )?;
    let out = replay(&[hist.to_str().unwrap_or_default()], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = wait_for_volume(&server, "RPLB", 2).await?;
    assert_eq!(s.data[0].close().to_string(), "1.0825");

    // A bad line anywhere refuses the whole file, naming the line.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "RPL_C,1.5,1705314600000\nRPL_C,-1,1705314601000\n")?;
    let out = replay(&[bad.to_str().unwrap_or_default()], &env);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("greater than zero"),
        "{stderr}"
    );
    // So does a tick stamped more than MAX_FUTURE_SKEW_MS ahead of the clock.
    let ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis()
        + 290_000;
    let future = dir.join("future.csv");
    std::fs::write(
        &future,
        format!("RPL_C,1.5,1705314600000\nRPL_C,1.6,1705314601000\nRPL_C,1.7,{ahead}\n"),
    )?;
    let out = replay(&[future.to_str().unwrap_or_default()], &env);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("MAX_FUTURE_SKEW_MS"),
        "{stderr}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        snapshot(&server.ws(), "RPL_C").await?.data.is_empty(),
        "nothing was sent"
    );

    forget_keys(REDIS, &prefix).await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
