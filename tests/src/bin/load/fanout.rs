//! Fan-out figures: tick-to-socket latency with many subscribers at a steady
//! rate, and frames delivered per second at full ingest speed. Both drive a
//! [`Target`]: the tickstream server, or the bare broadcaster of
//! [`crate::limit`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::subscriber::{connect, raw_frames, tick_number};
use crate::{TOKEN, cleanup, now_ms, start_server};

/// Options of the latency scenario.
#[derive(clap::Args, Clone)]
pub struct LatencyArgs {
    /// WebSocket subscribers.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Ticks a second.
    #[arg(long, default_value_t = 100)]
    pub rate: u64,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
}

/// Options of the deliveries scenario.
#[derive(clap::Args, Clone)]
pub struct DeliveryArgs {
    /// WebSocket subscribers, each following every timeframe.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Ticks per request.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Concurrent posting clients.
    #[arg(long, default_value_t = 4)]
    pub posters: usize,
}

/// Where the generator posts ticks and the subscribers connect.
pub struct Target {
    /// The WebSocket URL.
    pub ws: String,
    /// The URL of `POST /api/ticks`.
    pub ticks: String,
}

/// A latency run's result.
pub struct Latency {
    subscribers: usize,
    rate: u64,
    /// Tick-to-socket times in microseconds, sorted.
    samples: Vec<u64>,
    /// Frames received a second, all subscribers together.
    pub frames_per_second: f64,
}

impl Latency {
    /// The `p`-quantile in milliseconds.
    pub fn quantile_ms(&self, p: f64) -> f64 {
        percentile(&self.samples, p)
    }

    /// The figure as `load latency` prints it.
    pub fn line(&self) -> String {
        format!(
            "latency, {} subscribers, {} ticks/s, {} samples: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            self.subscribers,
            self.rate,
            self.samples.len(),
            self.quantile_ms(0.50),
            self.quantile_ms(0.99),
            self.quantile_ms(0.999),
            self.quantile_ms(1.0),
        )
    }
}

/// A deliveries run's result.
pub struct Deliveries {
    subscribers: usize,
    frames: u64,
    ticks: u64,
    elapsed: f64,
}

impl Deliveries {
    /// Frames received a second.
    pub fn per_second(&self) -> f64 {
        self.frames as f64 / self.elapsed
    }

    /// The figure as `load deliveries` prints it.
    pub fn line(&self) -> String {
        format!(
            "deliveries: {} frames to {} subscribers in {:.1} s = {:.0} frames/s ({} ticks ingested, {:.0} ticks/s)",
            self.frames,
            self.subscribers,
            self.elapsed,
            self.per_second(),
            self.ticks,
            self.ticks as f64 / self.elapsed
        )
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// `load latency`: against the tickstream server.
pub async fn latency(bin: Option<&PathBuf>, redis: &str, args: LatencyArgs) -> anyhow::Result<()> {
    let result = server_latency(bin, redis, &args).await?;
    println!("{}", result.line());
    println!("frames received: {:.0}/s", result.frames_per_second);
    Ok(())
}

/// `load deliveries`: against the tickstream server.
pub async fn deliveries(
    bin: Option<&PathBuf>,
    redis: &str,
    args: DeliveryArgs,
) -> anyhow::Result<()> {
    let result = server_deliveries(bin, redis, &args).await?;
    println!("{}", result.line());
    Ok(())
}

/// The latency figure of a tickstream server started for it.
pub async fn server_latency(
    bin: Option<&PathBuf>,
    redis: &str,
    args: &LatencyArgs,
) -> anyhow::Result<Latency> {
    let (server, prefix) = start_server(bin, redis, &[])?;
    let target = Target {
        ws: server.ws(),
        ticks: server.url("/api/ticks"),
    };
    let result = measure_latency(&target, args, move || drop(server)).await?;
    cleanup(redis, &prefix).await?;
    Ok(result)
}

/// The deliveries figure of a tickstream server started for it.
pub async fn server_deliveries(
    bin: Option<&PathBuf>,
    redis: &str,
    args: &DeliveryArgs,
) -> anyhow::Result<Deliveries> {
    let (server, prefix) = start_server(bin, redis, &[])?;
    let target = Target {
        ws: server.ws(),
        ticks: server.url("/api/ticks"),
    };
    let result = measure_deliveries(&target, args, move || drop(server)).await?;
    cleanup(redis, &prefix).await?;
    Ok(result)
}

/// Subscribes `args.subscribers` sessions to the one-minute `LAT` candles,
/// posts one tick at a time at `args.rate`, and times each tick from its
/// post to each frame carrying it; `stop` ends the target, which closes the
/// subscribers' sockets.
pub async fn measure_latency(
    target: &Target,
    args: &LatencyArgs,
    stop: impl FnOnce(),
) -> anyhow::Result<Latency> {
    let ticks = (args.rate * args.seconds) as usize;
    // Send instants of tick k, as micros since `base`; tick k has price 1 + k/10^7.
    let base = Instant::now();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..=ticks).map(|_| AtomicU64::new(0)).collect());
    let samples: Arc<Mutex<Vec<u64>>> = Arc::default();
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        let socket = connect(&target.ws, "LAT", Some("1M")).await?;
        let (sent, samples, received) = (sent.clone(), samples.clone(), received.clone());
        readers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            raw_frames(socket, |frame| {
                received.fetch_add(1, Ordering::Relaxed);
                let now = base.elapsed().as_micros() as u64;
                if let Some(k) = tick_number(frame)
                    && let Some(at) = sent.get(k).map(|a| a.load(Ordering::Relaxed))
                    && at > 0
                {
                    mine.push(now.saturating_sub(at));
                    if mine.len() >= 1000 {
                        samples
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .append(&mut mine);
                    }
                }
            })
            .await;
            samples
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .append(&mut mine);
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let client = reqwest::Client::new();
    let mut timer = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate));
    let started = Instant::now();
    for k in 1..=ticks {
        timer.tick().await;
        let body = format!(
            r#"[{{"asset":"LAT","price":"1.{k:07}","timestamp":{}}}]"#,
            now_ms()
        );
        sent[k].store(base.elapsed().as_micros() as u64, Ordering::Relaxed);
        let response = client
            .post(&target.ticks)
            .bearer_auth(TOKEN)
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "refused");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let elapsed = started.elapsed().as_secs_f64();
    stop();
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    }
    let mut all = std::mem::take(
        &mut *samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    all.sort_unstable();
    Ok(Latency {
        subscribers: args.subscribers,
        rate: args.rate,
        samples: all,
        frames_per_second: received.load(Ordering::Relaxed) as f64 / elapsed,
    })
}

/// Subscribes `args.subscribers` sessions to every timeframe of `DLV`,
/// posts batches from `args.posters` clients as fast as they are answered,
/// and counts the frames received; `stop` ends the target.
pub async fn measure_deliveries(
    target: &Target,
    args: &DeliveryArgs,
    stop: impl FnOnce(),
) -> anyhow::Result<Deliveries> {
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        let socket = connect(&target.ws, "DLV", None).await?;
        let received = received.clone();
        readers.push(tokio::spawn(raw_frames(socket, move |_| {
            received.fetch_add(1, Ordering::Relaxed);
        })));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let before = received.load(Ordering::Relaxed);
    let started = Instant::now();
    let ingested = Arc::new(AtomicU64::new(0));
    let mut posters = Vec::new();
    for p in 0..args.posters {
        let (url, ingested, batch) = (target.ticks.clone(), ingested.clone(), args.batch);
        posters.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut k: u64 = p as u64 * 10_000;
            while Instant::now() < deadline {
                let now = now_ms();
                let body: Vec<String> = (0..batch)
                    .map(|_| {
                        k += 1;
                        format!(
                            r#"{{"asset":"DLV","price":"1.{:05}","timestamp":{now}}}"#,
                            k % 100_000
                        )
                    })
                    .collect();
                let response = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .body(format!("[{}]", body.join(",")))
                    .send()
                    .await?;
                anyhow::ensure!(response.status().is_success(), "refused");
                ingested.fetch_add(batch as u64, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for p in posters {
        p.await??;
    }
    let ticks = ingested.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let frames = received.load(Ordering::Relaxed) - before;
    stop();
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    }
    Ok(Deliveries {
        subscribers: args.subscribers,
        frames,
        ticks,
        elapsed,
    })
}
