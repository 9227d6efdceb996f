//! `load limit`: what this machine can fan out at all, the yardstick for
//! the fan-out figures. The same generator and subscribers as `load latency`
//! and `load deliveries` drive a bare broadcaster: axum's HTTP and
//! WebSocket (the server's own stack, tokio-tungstenite underneath) on a
//! runtime of its own, each tick's frames serialised once and shared, one
//! tokio broadcast channel, no hub, no journal, no Redis. With `--server`
//! the tickstream server is measured right after it, in the same process,
//! and the ratio printed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use shared::protocol::CandleUpdate;
use shared::{Asset, Candle, CandleState, Price, ServerMessage, Timeframe};
use tokio::sync::broadcast;

use crate::fanout::{self, DeliveryArgs, LatencyArgs, Target};

/// Most frames written with one flush, as the server's sessions.
const WRITE_BATCH: usize = 64;
/// Ticks the broadcast channel holds for a subscriber that falls behind
/// (past that it skips, as the server's queues coalesce).
const CHANNEL: usize = 4096;

/// Options of the limit scenario: those of `latency`, or with
/// `--deliveries` those of `deliveries`.
#[derive(clap::Args)]
pub struct Args {
    /// Frames delivered per second at full ingest speed, not latency.
    #[arg(long)]
    deliveries: bool,
    /// Then measure the tickstream server the same way and print the ratio.
    #[arg(long)]
    server: bool,
    /// WebSocket subscribers.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Ticks a second (latency).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds of measurement (default 20 for latency, 10 for deliveries).
    #[arg(long)]
    seconds: Option<u64>,
    /// Ticks per request (deliveries).
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Concurrent posting clients (deliveries).
    #[arg(long, default_value_t = 4)]
    posters: usize,
}

pub async fn run(bin: Option<&PathBuf>, redis: &str, args: Args) -> anyhow::Result<()> {
    let server = args.server;
    if args.deliveries {
        let args = DeliveryArgs {
            subscribers: args.subscribers,
            seconds: args.seconds.unwrap_or(10),
            batch: args.batch,
            posters: args.posters,
        };
        let bare = Broadcaster::start()?;
        let target = bare.target();
        let limit = fanout::measure_deliveries(&target, &args, move || drop(bare)).await?;
        println!("limit: {}", limit.line());
        if server {
            let ours = fanout::server_deliveries(bin, redis, &args).await?;
            println!("tickstream: {}", ours.line());
            println!(
                "tickstream ÷ limit: {:.2} of the frames/s",
                ours.per_second() / limit.per_second()
            );
        }
    } else {
        let args = LatencyArgs {
            subscribers: args.subscribers,
            rate: args.rate,
            seconds: args.seconds.unwrap_or(20),
        };
        let bare = Broadcaster::start()?;
        let target = bare.target();
        let limit = fanout::measure_latency(&target, &args, move || drop(bare)).await?;
        println!("limit: {}", limit.line());
        if server {
            let ours = fanout::server_latency(bin, redis, &args).await?;
            println!("tickstream: {}", ours.line());
            let ratio = |p: f64| limit.quantile_ms(p) / ours.quantile_ms(p);
            println!(
                "limit ÷ tickstream: p50 {:.2}, p99 {:.2}, p99.9 {:.2} (1 = at the limit)",
                ratio(0.50),
                ratio(0.99),
                ratio(0.999)
            );
        }
    }
    Ok(())
}

/// The bare broadcaster, on a runtime (and threads) of its own as the
/// server has in its process; dropping it ends the runtime and closes every
/// socket.
struct Broadcaster {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// One tick's `redis_update` frames, one per timeframe of
/// [`Timeframe::ALL`], the one-minute frame first.
type Frames = Arc<[Utf8Bytes]>;

#[derive(Clone)]
struct Feed {
    frames: broadcast::Sender<Frames>,
    seq: Arc<AtomicU64>,
}

impl Broadcaster {
    fn start() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let feed = Feed {
                frames: broadcast::channel(CHANNEL).0,
                seq: Arc::default(),
            };
            let app = Router::new()
                .route("/api/ticks", post(ticks))
                .route("/ws", get(upgrade))
                .with_state(feed);
            runtime.spawn(async move {
                use axum::serve::ListenerExt;
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                let _ = axum::serve(listener, app).await;
            });
            let _ = runtime.block_on(stopped);
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        });
        Ok(Self {
            addr,
            stop: Some(stop),
        })
    }

    fn target(&self) -> Target {
        Target {
            ws: format!("ws://{}/ws", self.addr),
            ticks: format!("http://{}/api/ticks", self.addr),
        }
    }
}

impl Drop for Broadcaster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `POST /api/ticks`: each tick's frames, serialised once, to every
/// subscriber.
async fn ticks(State(feed): State<Feed>, body: String) -> Result<String, StatusCode> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    for item in &items {
        let seq = feed.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let frames = frames_of(item, seq).ok_or(StatusCode::BAD_REQUEST)?;
        let _ = feed.frames.send(frames);
    }
    Ok(format!(r#"{{"accepted":{}}}"#, items.len()))
}

/// The update frames a one-tick candle of each timeframe makes.
fn frames_of(item: &serde_json::Value, seq: u64) -> Option<Frames> {
    let asset = Asset::new_checked(item.get("asset")?.as_str()?).ok()?;
    let price = match item.get("price")? {
        serde_json::Value::String(s) => Price::new_checked(s).ok()?,
        other => Price::new_checked(&other.to_string()).ok()?,
    };
    let at = item.get("timestamp")?.as_i64()?;
    Timeframe::ALL
        .into_iter()
        .map(|tf| {
            let open = tf.bucket_of_millis(at);
            let candle = Candle::new_checked(
                asset,
                tf,
                open,
                price,
                price,
                price,
                price,
                1,
                CandleState::Forming,
            )
            .ok()?;
            Some(Utf8Bytes::from(
                ServerMessage::RedisUpdate(CandleUpdate { data: candle, seq }).to_json(),
            ))
        })
        .collect()
}

async fn upgrade(State(feed): State<Feed>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(socket, feed))
}

/// Waits for the subscribe frame (one timeframe named: the one-minute
/// frames; none: all), then writes every tick's frames, as many as are
/// waiting (up to [`WRITE_BATCH`]) with one flush.
async fn session(socket: WebSocket, feed: Feed) {
    let (mut sink, mut stream) = socket.split();
    let all = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => break !text.as_str().contains("\"timeframe\""),
            Some(Ok(_)) => {}
            _ => return,
        }
    };
    let mut frames = feed.frames.subscribe();
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let per_tick = if all { Timeframe::ALL.len() } else { 1 };
    let mut batch: Vec<Frames> = Vec::with_capacity(WRITE_BATCH);
    loop {
        match frames.recv().await {
            Ok(f) => batch.push(f),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        }
        while (batch.len() + 1) * per_tick <= WRITE_BATCH {
            match frames.try_recv() {
                Ok(f) => batch.push(f),
                Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        for tick in batch.drain(..) {
            for frame in &tick[..per_tick] {
                if sink.feed(Message::Text(frame.clone())).await.is_err() {
                    return;
                }
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}
