//! Sustained ingest: several keep-alive HTTP clients post batches to
//! `/api/ticks` for a while; then `redis-benchmark -P 64` measures raw
//! `XADD` on the same Redis, for the ratio. With `--redis-away` the server's
//! Redis is a closed port, so every batch goes to the write-ahead file
//! (fsynced, under `target/`) instead, and no ratio is printed. With
//! `--cluster NODES` the server runs on that Redis Cluster
//! (`REDIS_CLUSTER_NODES`, 16 journal shards), and the raw figure is
//! `redis-benchmark --cluster`, `XADD` to one stream on every master.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{TOKEN, cleanup, now_ms, start_server};

/// Options of the ingest scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Ticks per request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Assets the ticks are spread over.
    #[arg(long, default_value_t = 10)]
    assets: usize,
    /// Point the server at a Redis that does not answer: measures the
    /// write-ahead file.
    #[arg(long)]
    redis_away: bool,
    /// `REDIS_CLUSTER_NODES` of a Redis Cluster to run on instead (for
    /// example `redis://127.0.0.1:7100/`, from `scripts/redis-cluster`).
    #[arg(long)]
    cluster: Option<String>,
}

/// A closed port: the configured Redis that is away.
const AWAY: &str = "redis://127.0.0.1:6429/0";

pub async fn run(bin: Option<&PathBuf>, redis: &str, args: Args) -> anyhow::Result<()> {
    let wal = e2e::paths::target_dir().join("load-ingest-journal.wal");
    let _ = std::fs::remove_file(&wal);
    let wal_path = wal.display().to_string();
    let away = [("REDIS_URL", AWAY), ("JOURNAL_WAL_PATH", wal_path.as_str())];
    let on_cluster: Vec<(&str, &str)> = args
        .cluster
        .as_deref()
        .map(|nodes| vec![("REDIS_CLUSTER_NODES", nodes)])
        .unwrap_or_default();
    let extra: &[(&str, &str)] = if args.redis_away { &away } else { &on_cluster };
    let (server, prefix) = start_server(bin, redis, extra)?;
    let url = server.url("/api/ticks");
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..args.connections {
        let (url, accepted) = (url.clone(), accepted.clone());
        let (batch, assets) = (args.batch, args.assets);
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n: u64 = 0;
            let mut took = Vec::new();
            while Instant::now() < deadline {
                let base = now_ms();
                let body: Vec<String> = (0..batch)
                    .map(|i| {
                        n += 1;
                        format!(
                            r#"{{"asset":"LOAD{}","price":"1.{:05}","timestamp":{}}}"#,
                            (w + i) % assets,
                            n % 100_000,
                            base
                        )
                    })
                    .collect();
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .body(format!("[{}]", body.join(",")))
                    .send()
                    .await?;
                took.push(sent.elapsed());
                anyhow::ensure!(
                    response.status().is_success(),
                    "refused: {}",
                    response.text().await?
                );
                accepted.fetch_add(batch as u64, Ordering::Relaxed);
            }
            anyhow::Ok(took)
        }));
    }
    let mut took = Vec::new();
    for w in workers {
        took.extend(w.await??);
    }
    took.sort();
    let at = |q: f64| {
        took.get(((took.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    let elapsed = started.elapsed().as_secs_f64();
    let total = accepted.load(Ordering::Relaxed);
    let ours = total as f64 / elapsed;
    drop(server);
    let _ = std::fs::remove_file(&wal);
    println!(
        "ingest: {total} ticks in {elapsed:.1} s = {ours:.0} ticks/s ({} clients, {} ticks a request{})",
        args.connections,
        args.batch,
        if args.redis_away {
            ", Redis away: write-ahead file"
        } else {
            ""
        }
    );
    println!(
        "request latency: p50 {:.2} ms, p99 {:.2} ms",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
    if args.redis_away {
        return cleanup(redis, &prefix).await;
    }

    let raw_key = format!("{prefix}raw");
    let fields = [
        "*",
        "asset",
        "EURUSD_otc",
        "price",
        "1.0823",
        "timestamp",
        "1705314600000",
    ];
    let mut benchmark = std::process::Command::new("redis-benchmark");
    benchmark.args(["-P", "64", "-n", "1000000", "-q"]);
    if let Some(nodes) = &args.cluster {
        // The first node's address; `{tag}` gives each master a stream.
        let first = nodes.split(',').next().unwrap_or_default();
        let address = first.trim_start_matches("redis://").trim_end_matches('/');
        let (host, port) = address.rsplit_once(':').unwrap_or((address, "6379"));
        benchmark.args(["--cluster", "-h", host, "-p", port]);
        benchmark.args(["XADD", &format!("{raw_key}{{tag}}")]);
    } else {
        benchmark.args(["XADD", &raw_key]);
    }
    let output = benchmark.args(fields).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let raw = text
        .rsplit("requests per second")
        .nth(1)
        .and_then(|s| s.rsplit(": ").next())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    println!("redis-benchmark -P 64 XADD: {raw:.0} entries/s");
    println!("ratio: {:.2}", ours / raw);
    if args.cluster.is_some() {
        // A benchmark cluster is private: its keys go with it.
        return Ok(());
    }
    cleanup(redis, &prefix).await
}
