//! `tickstream monitor`: every `--interval` seconds, Redis's ping and cache
//! latency, used memory, connected clients, keyspace hits and misses, total
//! commands and the hit ratio; a warning when a latency passes 1 ms or the
//! hit ratio falls below 80%. The last [`KEEP`] samples are kept and
//! `--export FILE` writes them as JSON on exit. Ctrl-C (or SIGTERM) stops
//! cleanly; `--count N` stops after N samples.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{cache_round_trip, connect, ms_since, unique_suffix};
use crate::clock::now_millis;
use crate::config::RedisConfig;
use crate::shutdown;
use shared::protocol::wire_time;

/// Samples kept in memory.
pub const KEEP: usize = 1000;
/// A latency above this (ms) warns.
pub const LATENCY_WARN_MS: f64 = 1.0;
/// A hit ratio below this warns.
pub const HIT_RATIO_WARN: f64 = 0.8;

/// Options of `tickstream monitor`.
#[derive(Debug, Clone, Args)]
pub struct MonitorArgs {
    /// Seconds between samples.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Stop after this many samples (default: until Ctrl-C).
    #[arg(long)]
    pub count: Option<u64>,
    /// Write the kept samples to this file as JSON on exit.
    #[arg(long)]
    pub export: Option<PathBuf>,
    /// Redis to watch.
    #[command(flatten)]
    pub redis: RedisConfig,
}

/// One sample.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// When, ISO 8601 UTC.
    pub timestamp: String,
    /// `PING` round trip, ms.
    pub ping_ms: f64,
    /// `SET` and `GET` of a test key, ms.
    pub cache_ms: f64,
    /// `used_memory`, bytes.
    pub used_memory: u64,
    /// `used_memory_human`.
    pub used_memory_human: String,
    /// `connected_clients`.
    pub connected_clients: u64,
    /// `keyspace_hits` since Redis started.
    pub keyspace_hits: u64,
    /// `keyspace_misses` since Redis started.
    pub keyspace_misses: u64,
    /// `total_commands_processed` since Redis started.
    pub total_commands_processed: u64,
    /// hits / (hits + misses); `null` before any lookup.
    pub hit_ratio: Option<f64>,
    /// What is out of bounds.
    pub warnings: Vec<String>,
}

impl Sample {
    /// The sample as one line for a terminal.
    #[must_use]
    pub fn to_line(&self) -> String {
        let ratio = self
            .hit_ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
        let mut line = format!(
            "{}  ping {:.3} ms  cache {:.3} ms  memory {}  clients {}  hits {}  misses {}  hit ratio {}  commands {}",
            self.timestamp,
            self.ping_ms,
            self.cache_ms,
            self.used_memory_human,
            self.connected_clients,
            self.keyspace_hits,
            self.keyspace_misses,
            ratio,
            self.total_commands_processed,
        );
        for w in &self.warnings {
            line.push_str(&format!("\n  WARNING: {w}"));
        }
        line
    }
}

/// The figures `INFO` gives, by name.
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .filter_map(|l| l.trim().split_once(':'))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn info_u64(info: &str, name: &str) -> u64 {
    info_field(info, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The warnings a sample's figures call for.
#[must_use]
pub fn warnings(ping_ms: f64, cache_ms: f64, hit_ratio: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    if ping_ms > LATENCY_WARN_MS {
        out.push(format!(
            "ping latency {ping_ms:.3} ms is above {LATENCY_WARN_MS} ms"
        ));
    }
    if cache_ms > LATENCY_WARN_MS {
        out.push(format!(
            "cache latency {cache_ms:.3} ms is above {LATENCY_WARN_MS} ms"
        ));
    }
    if let Some(r) = hit_ratio
        && r < HIT_RATIO_WARN
    {
        out.push(format!(
            "hit ratio {:.1}% is below {:.0}%",
            r * 100.0,
            HIT_RATIO_WARN * 100.0
        ));
    }
    out
}

/// Takes one sample.
///
/// # Errors
///
/// The Redis error, as text.
pub async fn sample(conn: &mut crate::redis::Link, cache_key: &str) -> Result<Sample, String> {
    let started = Instant::now();
    conn.on_one_node::<String>(&redis::cmd("PING"))
        .await
        .map_err(|e| e.to_string())?;
    let ping_ms = ms_since(started);
    let cache_ms = cache_round_trip(conn, cache_key).await?;
    let info: String = conn
        .on_one_node(&redis::cmd("INFO"))
        .await
        .map_err(|e| e.to_string())?;
    let hits = info_u64(&info, "keyspace_hits");
    let misses = info_u64(&info, "keyspace_misses");
    let hit_ratio = (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64);
    Ok(Sample {
        timestamp: wire_time(now_millis()),
        ping_ms,
        cache_ms,
        used_memory: info_u64(&info, "used_memory"),
        used_memory_human: info_field(&info, "used_memory_human")
            .unwrap_or("?")
            .to_owned(),
        connected_clients: info_u64(&info, "connected_clients"),
        keyspace_hits: hits,
        keyspace_misses: misses,
        total_commands_processed: info_u64(&info, "total_commands_processed"),
        hit_ratio,
        warnings: warnings(ping_ms, cache_ms, hit_ratio),
    })
}

/// What `--export` writes.
#[derive(Debug, Serialize)]
pub struct Export<'a> {
    /// The Redis watched, password hidden.
    pub redis: String,
    /// Seconds between samples.
    pub interval_s: u64,
    /// The kept samples, oldest first.
    pub samples: &'a VecDeque<Sample>,
}

/// Samples until `--count`, Ctrl-C or SIGTERM, then exports.
///
/// # Errors
///
/// When Redis cannot be reached at start or the export cannot be written.
pub async fn run(args: MonitorArgs) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    tokio::spawn(shutdown::cancel_on_signal(stop.clone()));
    let shown = super::shown(&args.redis);
    let (_target, mut conn) = connect(&args.redis)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach Redis at {shown}: {e}"))?;
    println!(
        "monitoring {shown} every {} s (Ctrl-C stops)",
        args.interval
    );
    let key = args.redis.key(&format!("monitor:{}", unique_suffix()));
    let mut kept: VecDeque<Sample> = VecDeque::with_capacity(KEEP.min(64));
    let mut timer = tokio::time::interval(Duration::from_secs(args.interval));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut taken = 0u64;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = timer.tick() => {}
        }
        match sample(&mut conn, &key).await {
            Ok(s) => {
                println!("{}", s.to_line());
                if kept.len() == KEEP {
                    kept.pop_front();
                }
                kept.push_back(s);
            }
            Err(e) => println!("{}  ERROR: {e}", wire_time(now_millis())),
        }
        taken += 1;
        if args.count.is_some_and(|n| taken >= n) {
            break;
        }
    }
    println!("stopped after {taken} samples");
    if let Some(path) = &args.export {
        let export = Export {
            redis: shown,
            interval_s: args.interval,
            samples: &kept,
        };
        let json = serde_json::to_string_pretty(&export)?;
        std::fs::write(path, json)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        println!("{} samples written to {}", kept.len(), path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_past_one_millisecond_and_under_eighty_percent() {
        assert!(warnings(0.5, 0.9, Some(0.95)).is_empty());
        assert!(warnings(0.5, 0.9, None).is_empty());
        let w = warnings(1.5, 0.2, Some(0.5));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("ping latency 1.500 ms"));
        assert!(w[1].contains("hit ratio 50.0% is below 80%"));
        assert_eq!(warnings(0.1, 2.0, Some(0.8)).len(), 1);
    }

    #[test]
    fn reads_info_fields() {
        let info = "# Memory\r\nused_memory:1024\r\nused_memory_human:1.00K\r\n# Stats\r\nkeyspace_hits:9\r\n";
        assert_eq!(info_u64(info, "used_memory"), 1024);
        assert_eq!(info_field(info, "used_memory_human"), Some("1.00K"));
        assert_eq!(info_u64(info, "keyspace_hits"), 9);
        assert_eq!(info_u64(info, "keyspace_misses"), 0);
    }
}
