//! `load`: the figures of BENCHMARKS.md, measured against a real
//! `tickstream serve` (the release build) that it starts on loopback with
//! the real Redis. Run by hand, never in CI:
//!
//! ```sh
//! cargo build --release -p server
//! cargo run --release -p e2e --bin load -- ingest
//! cargo run --release -p e2e --bin load -- latency
//! cargo run --release -p e2e --bin load -- deliveries
//! cargo run --release -p e2e --bin load -- limit --server
//! cargo run --release -p e2e --bin load -- limit --deliveries --server
//! cargo run --release -p e2e --bin load -- rss
//! cargo run --release -p e2e --bin load -- persist
//! cargo run --release -p e2e --bin load -- history
//! cargo run --release -p e2e --bin load -- abuse
//! ```
//!
//! `soak-client`, `soak-proxy` and `soak-check` are the parts of the chaos
//! run `scripts/soak`, which starts the server, Redis and the proxy itself.

mod abuse;
mod fanout;
mod history;
mod ingest;
mod limit;
mod persist;
mod rss;
mod soak;
mod subscriber;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use e2e::{Server, paths};

/// Load scenarios.
#[derive(Parser)]
struct Cli {
    /// The server binary (default: target/release/tickstream).
    #[arg(long, global = true)]
    bin: Option<PathBuf>,
    /// The Redis to use.
    #[arg(long, global = true, default_value = "redis://127.0.0.1:6379/0")]
    redis: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Sustained ingest through POST /api/ticks, beside redis-benchmark XADD.
    Ingest(ingest::Args),
    /// Tick-to-socket latency with many subscribers at a steady tick rate.
    Latency(fanout::LatencyArgs),
    /// Frames delivered per second to many subscribers at full ingest speed.
    Deliveries(fanout::DeliveryArgs),
    /// The same fan-out against a bare broadcaster (no hub, no Redis): what
    /// the machine can do at all; `--server` then measures tickstream too.
    Limit(limit::Args),
    /// Server memory with many simulated assets and idle clients.
    Rss(rss::Args),
    /// Persister rows a second, beside raw `psql \copy`.
    Persist(persist::Args),
    /// Candle history from the cache and from the database.
    History(history::Args),
    /// The attacks of issue 10 against a steady ingest: its latency and the
    /// server's memory before, during and after.
    Abuse(abuse::Args),
    /// The chaos run's retrying ingest client (`scripts/soak`).
    SoakClient(soak::client::Args),
    /// The chaos run's PostgreSQL proxy, cut by SIGUSR1 (`scripts/soak`).
    SoakProxy(soak::proxy::Args),
    /// The chaos run's final check of store and candles (`scripts/soak`).
    SoakCheck(soak::check::Args),
}

/// The token load servers take.
pub const TOKEN: &str = "load-ingest-token-0123";

/// Starts the server under test with a key prefix of its own.
pub fn start_server(
    cli_bin: Option<&PathBuf>,
    redis: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<(Server, String)> {
    let bin = cli_bin
        .cloned()
        .unwrap_or_else(|| paths::target_dir().join("release").join("tickstream"));
    let prefix = format!("load:{}:{}:", std::process::id(), e2e::server::unique());
    let mut env = vec![
        ("REDIS_URL", redis),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("INGEST_TOKEN", TOKEN),
        ("WS_SEND_QUEUE", "4096"),
        // Every client of a scenario comes from 127.0.0.1: room for
        // thousands of subscribers from one address.
        ("MAX_CONNECTIONS", "10000"),
        ("MAX_CONNECTIONS_PER_IP", "10000"),
    ];
    env.extend_from_slice(extra);
    let server = Server::spawn(&bin, &env)?;
    Ok((server, prefix))
}

/// Removes the keys a scenario wrote.
pub use e2e::server::forget_keys as cleanup;

/// Now in Unix milliseconds.
#[must_use]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::Ingest(args) => ingest::run(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::Latency(args) => fanout::latency(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::Deliveries(args) => fanout::deliveries(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::Limit(args) => limit::run(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::Rss(args) => rss::run(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::Persist(args) => persist::run(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::History(args) => history::run(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::Abuse(args) => abuse::run(cli.bin.as_ref(), &cli.redis, args).await,
        Scenario::SoakClient(args) => soak::client::run(args).await,
        Scenario::SoakProxy(args) => soak::proxy::run(args).await,
        Scenario::SoakCheck(args) => soak::check::run(args).await,
    }
}
