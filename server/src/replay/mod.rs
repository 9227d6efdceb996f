//! `tickstream replay FILE`: feeds a tick file into a running server
//! (`--server URL`, through `POST /api/ticks`) or straight into the Redis
//! journal that running servers tail. The whole file is checked first: a bad
//! line stops the replay before anything is sent.

mod format;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use shared::{Asset, Tick};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RedisConfig;
use crate::journal::{Durability, Journal};
pub use format::{Layout, LineError, detect, parse_line};

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// `N` times real time (1 is real time).
    Times(f64),
    /// As fast as the sink takes them.
    Max,
}

fn parse_speed(text: &str) -> Result<Speed, String> {
    if text.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match text.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(Speed::Times(n)),
        _ => Err("expected a positive number (1 is real time) or `max`".to_owned()),
    }
}

/// Arguments of `tickstream replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The tick file: `asset,price,timestamp_ms` CSV or HistData ASCII ticks.
    pub file: PathBuf,
    /// 1 for real time, N for N times faster, `max` for no pauses.
    #[arg(long, default_value = "max", value_parser = parse_speed)]
    pub speed: Speed,
    /// The asset of a HistData file (default: taken from its name).
    #[arg(long)]
    pub asset: Option<Asset>,
    /// Base URL of a running server; without it, ticks go straight to the
    /// Redis journal.
    #[arg(long, env = "TICKSTREAM_URL")]
    pub server: Option<String>,
    /// Ingest token for `--server`.
    #[arg(long, env = "INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<String>,
    /// Most ticks per request or journal write.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch: u64,
    /// Milliseconds a tick may be stamped ahead of this machine's clock; a
    /// file holding one further ahead is refused, naming the line.
    #[arg(long, env = "MAX_FUTURE_SKEW_MS", default_value_t = shared::batch::DEFAULT_MAX_FUTURE_SKEW_MS,
          value_parser = clap::value_parser!(i64).range(0..=shared::batch::MAX_FUTURE_SKEW_LIMIT_MS))]
    pub max_future_skew_ms: i64,
    /// Redis settings, for replaying straight into the journal.
    #[command(flatten)]
    pub redis: RedisConfig,
}

/// Where ticks go.
enum Sink {
    Http {
        client: reqwest::Client,
        url: String,
        token: String,
    },
    Journal(Journal),
}

impl Sink {
    async fn send(&self, ticks: &[Tick]) -> anyhow::Result<()> {
        match self {
            Self::Http { client, url, token } => {
                let response = client
                    .post(url)
                    .bearer_auth(token)
                    .json(ticks)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach {url}"))?;
                let status = response.status();
                if !status.is_success() {
                    let body = response.text().await.unwrap_or_default();
                    bail!("{url} refused a batch ({status}): {body}");
                }
                Ok(())
            }
            Self::Journal(journal) => match journal.append(ticks).await? {
                Durability::Redis => Ok(()),
                Durability::Local | Durability::Store => bail!("Redis went away during the replay"),
            },
        }
    }
}

/// Checks the whole file (no tick further ahead of the clock than
/// `MAX_FUTURE_SKEW_MS`); returns its layout and tick count.
fn check(args: &ReplayArgs) -> anyhow::Result<(Layout, u64)> {
    let now = crate::clock::now_millis();
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let mut layout = None;
    let mut count = 0;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", args.file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let l = match layout {
            Some(l) => l,
            None => *layout.insert(
                detect(&line, args.asset, &args.file.to_string_lossy())
                    .map_err(anyhow::Error::msg)?,
            ),
        };
        if let Some(tick) = parse_line(l, i + 1, &line)? {
            if let Some(reason) =
                shared::batch::too_far_ahead(tick.timestamp.millis(), now, args.max_future_skew_ms)
            {
                bail!(
                    "{}: line {}: {reason}; nothing was sent",
                    args.file.display(),
                    i + 1
                );
            }
            count += 1;
        }
    }
    match layout {
        Some(l) if count > 0 => Ok((l, count)),
        _ => bail!("{} holds no ticks", args.file.display()),
    }
}

/// Runs the replay.
///
/// # Errors
///
/// A bad line (nothing is sent then), an unreachable sink, or a refused batch.
pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let (layout, total) = check(&args)?;
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    let sink = match &args.server {
        Some(base) => Sink::Http {
            client: reqwest::Client::new(),
            url: format!("{}/api/ticks", base.trim_end_matches('/')),
            token: args
                .ingest_token
                .clone()
                .context("--server needs the ingest token (--ingest-token or INGEST_TOKEN)")?,
        },
        None => {
            let journal = Journal::writer(&args.redis, stop.clone(), tasks.clone()).await?;
            if !journal.connected() {
                bail!("replaying without --server needs Redis, and Redis does not answer");
            }
            Sink::Journal(journal)
        }
    };
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} ticks  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let file = std::fs::File::open(&args.file)?;
    let batch_max = usize::try_from(args.batch).unwrap_or(1000);
    let mut batch: Vec<Tick> = Vec::with_capacity(batch_max);
    let mut clock: Option<(i64, Instant)> = None;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let Some(tick) = parse_line(layout, i + 1, &line?)? else {
            continue;
        };
        if let Speed::Times(factor) = args.speed {
            let (first, started) = *clock.get_or_insert((tick.timestamp.millis(), Instant::now()));
            let due = started
                + Duration::from_secs_f64(
                    (tick.timestamp.millis() - first).max(0) as f64 / 1000.0 / factor,
                );
            if due > Instant::now() {
                // Send what is due before waiting for this tick's time.
                flush(&sink, &mut batch, &bar).await?;
                tokio::time::sleep_until(due.into()).await;
            }
        }
        batch.push(tick);
        if batch.len() >= batch_max {
            flush(&sink, &mut batch, &bar).await?;
        }
    }
    flush(&sink, &mut batch, &bar).await?;
    bar.finish();
    stop.cancel();
    tasks.close();
    tasks.wait().await;
    println!("replayed {total} ticks from {}", args.file.display());
    Ok(())
}

async fn flush(sink: &Sink, batch: &mut Vec<Tick>, bar: &ProgressBar) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    sink.send(batch).await?;
    bar.inc(batch.len() as u64);
    batch.clear();
    Ok(())
}
