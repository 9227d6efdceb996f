//! Abuse: the attacks of issue 10 against a server taking a steady ingest.
//! Ingest latency (p50, p99) and the server's resident memory are measured
//! quiet, under attack and after the attackers leave.
//!
//! The ingest comes from `127.0.0.2`, the attackers from `127.0.0.1`, so the
//! per-address caps refuse the attackers and never the feed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::{TOKEN, cleanup, now_ms, start_server};

/// Options of the abuse scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of steady ingest before the attack.
    #[arg(long, default_value_t = 10)]
    quiet: u64,
    /// Seconds of attack.
    #[arg(long, default_value_t = 20)]
    attack: u64,
    /// Seconds measured after the attackers leave.
    #[arg(long, default_value_t = 30)]
    after: u64,
    /// Ingest requests a second.
    #[arg(long, default_value_t = 20)]
    rate: u64,
    /// Ticks per ingest request.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// The attacks to run, comma-separated (default: all): `start-stream`,
    /// `resubscribe`, `made-up`, `frames`, `idle`, `history`, `tokens`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// The admin token of the server under attack (the attackers never know it).
const ADMIN: &str = "abuse-admin-token-0123456789";
/// Real assets the feed ingests.
const ASSETS: [&str; 4] = ["ABUSE0", "ABUSE1", "ABUSE2", "ABUSE3"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Quiet,
    Attack,
    After,
}

/// Counts of what the attackers got back.
#[derive(Default)]
struct Tally {
    sessions: AtomicU64,
    refused: AtomicU64,
    requests: AtomicU64,
    answered_429: AtomicU64,
    answered_503: AtomicU64,
}

impl Tally {
    fn status(&self, code: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match code {
            429 => self.answered_429.fetch_add(1, Ordering::Relaxed),
            503 => self.answered_503.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

fn vm_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(bin: Option<&PathBuf>, redis: &str, args: Args) -> anyhow::Result<()> {
    let db = tempfile::tempdir()?;
    let db_url = format!("sqlite:{}", db.path().join("abuse.db").display());
    let (server, prefix) = start_server(
        bin,
        redis,
        &[
            ("DATABASE_URL", db_url.as_str()),
            ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
            ("ADMIN_TOKEN", ADMIN),
            ("MAX_CONNECTIONS_PER_IP", "256"),
            ("MAX_CONNECTIONS", "2000"),
        ],
    )?;
    let pid = server.pid();
    let base = server.url("");
    let base = base.trim_end_matches('/').to_owned();
    let ws = server.ws();
    let addr: SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| anyhow::anyhow!("server address: {e}"))?;

    let started = Instant::now();
    let (quiet, attack, after) = (
        Duration::from_secs(args.quiet),
        Duration::from_secs(args.attack),
        Duration::from_secs(args.after),
    );
    let phase_at = move |t: Duration| {
        if t < quiet {
            Phase::Quiet
        } else if t < quiet + attack {
            Phase::Attack
        } else {
            Phase::After
        }
    };
    let end = started + quiet + attack + after;

    // The feed: steady ingest from another address.
    let feed = {
        let url = format!("{base}/api/ticks");
        let (rate, batch) = (args.rate, args.batch);
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
                .timeout(Duration::from_secs(10))
                .build()?;
            let mut timer = tokio::time::interval(Duration::from_millis(1000 / rate.max(1)));
            let mut n: u64 = 0;
            let mut samples: Vec<(Phase, f64)> = Vec::new();
            let mut failed = 0u64;
            while Instant::now() < end {
                timer.tick().await;
                let at = now_ms();
                let body: Vec<String> = (0..batch)
                    .map(|i| {
                        n += 1;
                        format!(
                            r#"{{"asset":"{}","price":"1.{:05}","timestamp":{at}}}"#,
                            ASSETS[i % ASSETS.len()],
                            n % 100_000
                        )
                    })
                    .collect();
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .body(format!("[{}]", body.join(",")))
                    .send()
                    .await;
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                match answer {
                    Ok(r) if r.status().is_success() => {
                        samples.push((phase_at(started.elapsed()), ms));
                    }
                    _ => failed += 1,
                }
            }
            anyhow::Ok((samples, failed))
        })
    };

    // Memory, every half second.
    let memory = tokio::spawn(async move {
        let mut samples: Vec<(Duration, f64)> = Vec::new();
        while Instant::now() < end {
            samples.push((started.elapsed(), vm_rss_mb(pid)));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        samples
    });

    tokio::time::sleep(quiet).await;
    let stop_at = Instant::now() + attack;
    let tally = Arc::new(Tally::default());
    let runs = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let mut attackers = Vec::new();
    if runs("start-stream") {
        attackers.push(tokio::spawn(start_stream_flood(
            ws.clone(),
            stop_at,
            tally.clone(),
        )));
    }
    if runs("resubscribe") {
        for _ in 0..20 {
            attackers.push(tokio::spawn(resubscriber(
                ws.clone(),
                stop_at,
                tally.clone(),
            )));
        }
    }
    if runs("made-up") {
        for i in 0..4 {
            attackers.push(tokio::spawn(made_up_assets(
                ws.clone(),
                i,
                stop_at,
                tally.clone(),
            )));
        }
    }
    if runs("frames") {
        for _ in 0..5 {
            attackers.push(tokio::spawn(frame_flood(
                ws.clone(),
                stop_at,
                tally.clone(),
            )));
        }
    }
    if runs("idle") {
        attackers.push(tokio::spawn(idle_sockets(
            addr,
            300,
            stop_at,
            tally.clone(),
        )));
    }
    if runs("history") {
        for _ in 0..12 {
            attackers.push(tokio::spawn(wide_history(
                base.clone(),
                stop_at,
                tally.clone(),
            )));
        }
    }
    if runs("tokens") {
        for _ in 0..2 {
            attackers.push(tokio::spawn(token_guesses(
                base.clone(),
                ws.clone(),
                stop_at,
                tally.clone(),
            )));
        }
    }
    for a in attackers {
        let _ = a.await;
    }

    let (samples, failed) = feed.await??;
    let memory = memory.await?;
    let figures = |phase: Phase| {
        let mut v: Vec<f64> = samples
            .iter()
            .filter(|(p, _)| *p == phase)
            .map(|(_, ms)| *ms)
            .collect();
        v.sort_by(f64::total_cmp);
        (percentile(&v, 0.5), percentile(&v, 0.99), v.len())
    };
    let (q50, q99, qn) = figures(Phase::Quiet);
    let (a50, a99, an) = figures(Phase::Attack);
    let (f50, f99, fn_) = figures(Phase::After);
    let rss_quiet = memory
        .iter()
        .filter(|(t, _)| phase_at(*t) == Phase::Quiet)
        .map(|(_, m)| *m)
        .fold(0.0, f64::max);
    let rss_peak = memory
        .iter()
        .filter(|(t, _)| phase_at(*t) == Phase::Attack)
        .map(|(_, m)| *m)
        .fold(0.0, f64::max);
    let rss_end = memory.last().map_or(0.0, |(_, m)| *m);
    // When memory came back within 10% (or 5 MB) of the quiet figure.
    let back = memory
        .iter()
        .filter(|(t, _)| phase_at(*t) == Phase::After)
        .find(|(_, m)| *m <= (rss_quiet * 1.1).max(rss_quiet + 5.0))
        .map(|(t, _)| t.saturating_sub(quiet + attack).as_secs_f64());
    println!(
        "abuse: ingest quiet p50 {q50:.1} ms, p99 {q99:.1} ms ({qn} requests); under attack p50 {a50:.1} ms, p99 {a99:.1} ms ({an}); after p50 {f50:.1} ms, p99 {f99:.1} ms ({fn_}); p99 under attack / quiet: {:.2}; failed ingest requests: {failed}",
        a99 / q99
    );
    println!(
        "abuse: RSS quiet {rss_quiet:.1} MB, peak under attack {rss_peak:.1} MB, at the end {rss_end:.1} MB; back within 10% of quiet {}",
        back.map_or_else(
            || "never".to_owned(),
            |s| format!("{s:.1} s after the attack")
        )
    );
    println!(
        "abuse: attackers opened {} sessions ({} refused), sent {} HTTP requests ({} answered 429, {} answered 503)",
        tally.sessions.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.requests.load(Ordering::Relaxed),
        tally.answered_429.load(Ordering::Relaxed),
        tally.answered_503.load(Ordering::Relaxed),
    );
    drop(server);
    cleanup(redis, &prefix).await
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn open(ws: &str, tally: &Tally) -> Option<Socket> {
    let connect = tokio_tungstenite::connect_async(ws);
    match tokio::time::timeout(Duration::from_secs(2), connect).await {
        Ok(Ok((socket, _))) => {
            tally.sessions.fetch_add(1, Ordering::Relaxed);
            Some(socket)
        }
        _ => {
            tally.refused.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn event(name: &str, data: &str) -> Message {
    Message::text(format!(r#"{{"event":"{name}","data":{data}}}"#))
}

/// Sessions that start a stream for a real asset and a made-up one, stop
/// it and leave, as fast as they can.
async fn start_stream_flood(ws: String, stop_at: Instant, tally: Arc<Tally>) {
    let mut n = 0u64;
    while Instant::now() < stop_at {
        n += 1;
        let Some(mut socket) = open(&ws, &tally).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let fake = format!("FLOOD{n}");
        let _ = socket
            .send(event(
                "start_stream",
                &format!(r#"{{"asset":"{}"}}"#, ASSETS[0]),
            ))
            .await;
        let _ = socket
            .send(event("start_stream", &format!(r#"{{"asset":"{fake}"}}"#)))
            .await;
        let _ = socket.send(event("stop_stream", "{}")).await;
        let _ = socket.close(None).await;
    }
}

/// A session that never reads and re-subscribes to every timeframe of a
/// busy asset, just under the message rate limit.
async fn resubscriber(ws: String, stop_at: Instant, tally: Arc<Tally>) {
    let Some(mut socket) = open(&ws, &tally).await else {
        return;
    };
    let frame = format!(r#"{{"asset":"{}"}}"#, ASSETS[0]);
    while Instant::now() < stop_at {
        if socket
            .send(event("subscribe_redis_updates", &frame))
            .await
            .is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Sessions that subscribe to made-up assets, then leave and come back with
/// new names.
async fn made_up_assets(ws: String, worker: usize, stop_at: Instant, tally: Arc<Tally>) {
    let mut n = 0u64;
    while Instant::now() < stop_at {
        let Some(mut socket) = open(&ws, &tally).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        for _ in 0..64 {
            n += 1;
            let frame = format!(r#"{{"asset":"FAKE{worker}x{n}"}}"#);
            if socket
                .send(event("subscribe_redis_updates", &frame))
                .await
                .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(22)).await;
        }
        let _ = socket.close(None).await;
    }
}

/// Sessions sending binary and ping frames as fast as the socket takes
/// them, and coming back when closed.
async fn frame_flood(ws: String, stop_at: Instant, tally: Arc<Tally>) {
    while Instant::now() < stop_at {
        let Some(mut socket) = open(&ws, &tally).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        while Instant::now() < stop_at {
            let sent = socket.send(Message::binary(vec![0u8; 512])).await;
            let pinged = socket.send(Message::Ping(vec![1u8; 64].into())).await;
            if sent.is_err() || pinged.is_err() {
                break;
            }
        }
    }
}

/// Sockets that never send a byte, and sockets that send half a request.
async fn idle_sockets(addr: SocketAddr, count: usize, stop_at: Instant, tally: Arc<Tally>) {
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        let Ok(Ok(mut tcp)) =
            tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await
        else {
            tally.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        if i % 2 == 1 {
            let _ = tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        }
        tally.sessions.fetch_add(1, Ordering::Relaxed);
        held.push(tcp);
    }
    tokio::time::sleep(stop_at.saturating_duration_since(Instant::now())).await;
    drop(held);
}

/// Candle history over the widest range, as many as allowed.
async fn wide_history(base: String, stop_at: Instant, tally: Arc<Tally>) {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return;
    };
    let url = format!(
        "{base}/api/candles?asset={}&timeframe=1D&from=0&to=4102444800&limit=5000",
        ASSETS[0]
    );
    while Instant::now() < stop_at {
        match client.get(&url).send().await {
            Ok(r) => tally.status(r.status().as_u16()),
            Err(_) => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Wrong ingest and admin tokens, as fast as answers come.
async fn token_guesses(base: String, ws: String, stop_at: Instant, tally: Arc<Tally>) {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return;
    };
    let url = format!("{base}/api/ticks");
    let mut n = 0u64;
    while Instant::now() < stop_at {
        n += 1;
        match client
            .post(&url)
            .bearer_auth(format!("guess-{n:012}-guess"))
            .body("[]")
            .send()
            .await
        {
            Ok(r) => tally.status(r.status().as_u16()),
            Err(_) => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        let guess = format!("{ws}?token=guess-{n:012}-guess");
        let attempt = tokio_tungstenite::connect_async(guess.as_str());
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(r))) => {
                tally.status(r.status().as_u16());
            }
            Ok(Ok(_)) => {
                tally.sessions.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
