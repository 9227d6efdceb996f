//! Server memory: many simulated assets and many idle subscribers, then the
//! server's resident set size from /proc.

use std::path::PathBuf;
use std::time::Duration;

use crate::subscriber::{connect, raw_frames};
use crate::{cleanup, start_server};

/// Options of the memory scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Simulated assets.
    #[arg(long, default_value_t = 100)]
    assets: usize,
    /// Idle WebSocket clients, each subscribed to one asset's 1M candles.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Seconds to let it run before reading memory.
    #[arg(long, default_value_t = 30)]
    settle: u64,
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub async fn run(bin: Option<&PathBuf>, redis: &str, args: Args) -> anyhow::Result<()> {
    let assets: Vec<String> = (0..args.assets).map(|i| format!("SIM{i:03}_otc")).collect();
    let list = assets.join(",");
    let (server, prefix) = start_server(bin, redis, &[("SIMULATE", list.as_str())])?;
    for i in 0..args.clients {
        let socket = connect(&server.ws(), &assets[i % assets.len()], Some("1M")).await?;
        tokio::spawn(raw_frames(socket, |_| {}));
    }
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let pid = server.pid();
    println!(
        "rss with {} simulated assets and {} clients after {} s: VmRSS {:.1} MB, VmHWM {:.1} MB",
        args.assets,
        args.clients,
        args.settle,
        status_kb(pid, "VmRSS:") as f64 / 1024.0,
        status_kb(pid, "VmHWM:") as f64 / 1024.0
    );
    drop(server);
    cleanup(redis, &prefix).await
}
