//! `load soak-client`: posts the run's ticks to `POST /api/ticks` at a set
//! pace from a few workers, and retries each batch until it has a definite
//! answer. 200: accepted, recorded. Any other 4xx than 408 or 429: a bug,
//! the run stops. A connection error, a timeout or a 5xx: the same batch
//! again (the store keys a tick by its identity, so a batch that was in fact
//! accepted before is stored once). Writes to `--out`: `accepted.csv`
//! (`pair,price,timestamp`, for `COPY`), `batches.csv` (first tick number,
//! ticks, accepted at in Unix ms, attempts, and where the answer says the
//! batch was journaled), `progress` (ticks accepted so
//! far, rewritten four times a second) and `summary.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::ticks::{Batch, Generator, MAX_TICKS};
use crate::now_ms;

/// Options of the retrying client.
#[derive(clap::Args)]
pub struct Args {
    /// The server's base URL (`http://127.0.0.1:6448`).
    #[arg(long)]
    url: String,
    /// The ingest token.
    #[arg(long, env = "INGEST_TOKEN", hide_env_values = true)]
    token: String,
    /// Ticks in the run (at most 10,000,000).
    #[arg(long, default_value_t = 1_000_000)]
    ticks: u64,
    /// Ticks per request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Assets the ticks are spread over.
    #[arg(long, default_value_t = 10)]
    assets: usize,
    /// Concurrent posting workers.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Ticks a second at most (0: as fast as the server answers).
    #[arg(long, default_value_t = 4000)]
    rate: u64,
    /// Seconds before one request is abandoned and sent again.
    #[arg(long, default_value_t = 20)]
    request_timeout: u64,
    /// Seconds one batch may go unaccepted before the run fails.
    #[arg(long, default_value_t = 600)]
    give_up: u64,
    /// Folder for the files this run writes.
    #[arg(long)]
    out: PathBuf,
}

/// Counts for `summary.json`, under one lock with the output files.
#[derive(Default)]
struct Tally {
    posts: u64,
    retried_posts: u64,
    resent_ticks: u64,
    answers: BTreeMap<String, u64>,
    last_accept: Option<Instant>,
    longest_pause: Duration,
    longest_pause_ended_ms: i64,
}

struct Shared {
    args: Args,
    started: Instant,
    generator: tokio::sync::Mutex<Generator>,
    accepted: AtomicU64,
    files: Mutex<(
        std::io::BufWriter<std::fs::File>,
        std::io::BufWriter<std::fs::File>,
    )>,
    tally: Mutex<Tally>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn answer(&self, kind: String) {
        *lock(&self.tally).answers.entry(kind).or_default() += 1;
    }

    /// The next batch, when its time has come by the pace, with no
    /// timestamp ahead of the clock.
    async fn next_batch(&self) -> Option<Batch> {
        let mut generator = self.generator.lock().await;
        if self.args.rate > 0 {
            let due = Duration::from_secs_f64(generator.generated() as f64 / self.args.rate as f64);
            tokio::time::sleep_until((self.started + due).into()).await;
        }
        let batch = generator.batch(self.args.batch, now_ms())?;
        let ahead = batch.newest() - now_ms();
        if ahead > 0 {
            tokio::time::sleep(Duration::from_millis(ahead as u64)).await;
        }
        Some(batch)
    }

    fn accepted(&self, batch: &Batch, attempts: u32, journal: &str) -> std::io::Result<()> {
        let at = now_ms();
        {
            let mut files = lock(&self.files);
            for t in &batch.ticks {
                writeln!(files.0, "{},{},{}", t.asset, t.price, t.timestamp)?;
            }
            writeln!(
                files.1,
                "{},{},{at},{attempts},{journal}",
                batch.first,
                batch.ticks.len()
            )?;
        }
        self.accepted
            .fetch_add(batch.ticks.len() as u64, Ordering::SeqCst);
        let mut tally = lock(&self.tally);
        let now = Instant::now();
        let pause = now - tally.last_accept.unwrap_or(self.started);
        if pause > tally.longest_pause {
            tally.longest_pause = pause;
            tally.longest_pause_ended_ms = at;
        }
        tally.last_accept = Some(now);
        Ok(())
    }
}

/// Posts one batch until it is accepted; an error stops the run.
async fn deliver(shared: &Shared, http: &reqwest::Client, batch: &Batch) -> anyhow::Result<()> {
    let body = batch.body();
    let url = format!("{}/api/ticks", shared.args.url);
    let first_try = Instant::now();
    let mut delay = Duration::from_millis(50);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        {
            let mut tally = lock(&shared.tally);
            tally.posts += 1;
            if attempts > 1 {
                tally.retried_posts += 1;
                tally.resent_ticks += batch.ticks.len() as u64;
            }
        }
        let sent = http
            .post(&url)
            .bearer_auth(&shared.args.token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                // Where the server says it journaled the batch, when it says.
                let text = response.text().await.unwrap_or_default();
                let journal = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["journal"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "-".to_owned());
                shared.answer(format!("200 journal={journal}"));
                shared.accepted(batch, attempts, &journal)?;
                return Ok(());
            }
            Ok(response) => {
                let status = response.status();
                shared.answer(status.as_u16().to_string());
                let text = response.text().await.unwrap_or_default();
                if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
                    anyhow::bail!(
                        "batch from tick {} refused with {status}: {text}",
                        batch.first
                    );
                }
            }
            Err(e) if e.is_timeout() => shared.answer("timeout".to_owned()),
            Err(e) if e.is_connect() => shared.answer("connect error".to_owned()),
            Err(_) => shared.answer("connection lost".to_owned()),
        }
        anyhow::ensure!(
            first_try.elapsed() < Duration::from_secs(shared.args.give_up),
            "batch from tick {} not accepted within {} s",
            batch.first,
            shared.args.give_up
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// Runs the client; the summary is written even when the run fails.
pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.ticks <= MAX_TICKS,
        "at most {MAX_TICKS} ticks in a run"
    );
    std::fs::create_dir_all(&args.out)?;
    let create = |name: &str| -> anyhow::Result<_> {
        let path = args.out.join(name);
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(std::io::BufWriter::with_capacity(1 << 20, file))
    };
    let files = (create("accepted.csv")?, create("batches.csv")?);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.request_timeout))
        .connect_timeout(Duration::from_secs(2))
        .build()?;
    let shared = Arc::new(Shared {
        generator: tokio::sync::Mutex::new(Generator::new(args.assets, args.ticks)),
        started: Instant::now(),
        accepted: AtomicU64::new(0),
        files: Mutex::new(files),
        tally: Mutex::new(Tally::default()),
        args,
    });
    let progress = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let path = shared.args.out.join("progress");
            loop {
                let n = shared.accepted.load(Ordering::SeqCst);
                let _ = write_atomically(&path, &format!("{n}\n"));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let mut workers = Vec::new();
    for _ in 0..shared.args.workers.max(1) {
        let (shared, http) = (shared.clone(), http.clone());
        workers.push(tokio::spawn(async move {
            while let Some(batch) = shared.next_batch().await {
                deliver(&shared, &http, &batch).await?;
            }
            anyhow::Ok(())
        }));
    }
    let mut failure = None;
    for w in workers {
        match w.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(e.into()),
        }
        if failure.is_some() {
            break;
        }
    }
    progress.abort();
    let wall = shared.started.elapsed().as_secs_f64();
    let accepted = shared.accepted.load(Ordering::SeqCst);
    {
        let mut files = lock(&shared.files);
        files.0.flush()?;
        files.1.flush()?;
    }
    write_atomically(&shared.args.out.join("progress"), &format!("{accepted}\n"))?;
    let tally = lock(&shared.tally);
    let summary = serde_json::json!({
        "ticks": shared.args.ticks,
        "accepted": accepted,
        "posts": tally.posts,
        "retried_posts": tally.retried_posts,
        "resent_ticks": tally.resent_ticks,
        "answers": tally.answers,
        "wall_seconds": wall,
        "ticks_per_second": accepted as f64 / wall,
        "longest_pause_ms": tally.longest_pause.as_millis() as u64,
        "longest_pause_ended_ms": tally.longest_pause_ended_ms,
        "error": failure.as_ref().map(|e| format!("{e:#}")),
    });
    write_atomically(
        &shared.args.out.join("summary.json"),
        &serde_json::to_string_pretty(&summary)?,
    )?;
    println!("{summary}");
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
