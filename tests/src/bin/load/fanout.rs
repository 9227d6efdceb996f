//! Fan-out figures: tick-to-socket latency with many subscribers at a steady
//! rate, and frames delivered per second at full ingest speed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::subscriber::{connect, raw_frames, tick_number};
use crate::{TOKEN, cleanup, now_ms, start_server};

/// Options of the latency scenario.
#[derive(clap::Args)]
pub struct LatencyArgs {
    /// WebSocket subscribers.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Ticks a second.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

/// Options of the deliveries scenario.
#[derive(clap::Args)]
pub struct DeliveryArgs {
    /// WebSocket subscribers, each following every timeframe.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Ticks per request.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Concurrent posting clients.
    #[arg(long, default_value_t = 4)]
    posters: usize,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

pub async fn latency(bin: Option<&PathBuf>, redis: &str, args: LatencyArgs) -> anyhow::Result<()> {
    let (server, prefix) = start_server(bin, redis, &[])?;
    let ticks = (args.rate * args.seconds) as usize;
    // Send instants of tick k, as micros since `base`; tick k has price 1 + k/10^7.
    let base = Instant::now();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..=ticks).map(|_| AtomicU64::new(0)).collect());
    let samples: Arc<Mutex<Vec<u64>>> = Arc::default();
    let received = Arc::new(AtomicU64::new(0));
    for _ in 0..args.subscribers {
        let socket = connect(&server.ws(), "LAT", Some("1M")).await?;
        let (sent, samples, received) = (sent.clone(), samples.clone(), received.clone());
        tokio::spawn(async move {
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
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let client = reqwest::Client::new();
    let url = server.url("/api/ticks");
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
            .post(&url)
            .bearer_auth(TOKEN)
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "refused");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let elapsed = started.elapsed().as_secs_f64();
    drop(server);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut all = std::mem::take(
        &mut *samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    all.sort_unstable();
    println!(
        "latency, {} subscribers, {} ticks/s, {} samples: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        args.subscribers,
        args.rate,
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        percentile(&all, 0.999),
        percentile(&all, 1.0),
    );
    println!(
        "frames received: {:.0}/s",
        received.load(Ordering::Relaxed) as f64 / elapsed
    );
    cleanup(redis, &prefix).await
}

pub async fn deliveries(
    bin: Option<&PathBuf>,
    redis: &str,
    args: DeliveryArgs,
) -> anyhow::Result<()> {
    let (server, prefix) = start_server(bin, redis, &[])?;
    let received = Arc::new(AtomicU64::new(0));
    for _ in 0..args.subscribers {
        let socket = connect(&server.ws(), "DLV", None).await?;
        let received = received.clone();
        tokio::spawn(raw_frames(socket, move |_| {
            received.fetch_add(1, Ordering::Relaxed);
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let url = server.url("/api/ticks");
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let before = received.load(Ordering::Relaxed);
    let started = Instant::now();
    let ingested = Arc::new(AtomicU64::new(0));
    let mut posters = Vec::new();
    for p in 0..args.posters {
        let (url, ingested, batch) = (url.clone(), ingested.clone(), args.batch);
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
    drop(server);
    println!(
        "deliveries: {frames} frames to {} subscribers in {elapsed:.1} s = {:.0} frames/s ({ticks} ticks ingested, {:.0} ticks/s)",
        args.subscribers,
        frames as f64 / elapsed,
        ticks as f64 / elapsed
    );
    cleanup(redis, &prefix).await
}
