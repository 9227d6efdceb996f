//! The journal's modes against the real binary: a configured Redis that goes
//! away (batches in the write-ahead file, through a SIGKILL, then in Redis
//! and PostgreSQL exactly once), and default settings with no Redis
//! answering (the tick store is the journal, committed before 200).
//!
//! "Default settings" here: `REDIS_URL` and `REDIS_HOST` unset, `REDIS_PORT`
//! pointing at a closed port (the port alone does not ask for a Redis; the
//! machine's own Redis answers on the real default).

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::Server;
use sqlx::Connection;

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const TOKEN: &str = "journal-modes-ingest-token";
/// This file's private Redis (the tests' own port range).
const PRIVATE_PORT: u16 = 6420;
/// Nothing listens here: the "default" Redis of a fresh machine.
const CLOSED_PORT: &str = "6429";

type Tick = (String, i64, String);

/// A `redis-server` of our own, append-only with `fsync` always, so that
/// what it acknowledged survives its SIGKILL.
struct PrivateRedis {
    child: Child,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    fn start(dir: tempfile::TempDir) -> anyhow::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &PRIVATE_PORT.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", PRIVATE_PORT)).is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { child, dir })
    }

    fn url() -> String {
        format!("redis://127.0.0.1:{PRIVATE_PORT}/0")
    }

    /// SIGKILL; returns its folder for a restart.
    fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir
    }
}

/// Posts `batches` batches of `size` distinct ticks; returns them with the
/// journal each was answered with.
async fn ingest(
    server: &Server,
    asset: &str,
    from: i64,
    batches: i64,
    size: i64,
) -> anyhow::Result<(BTreeSet<Tick>, Vec<String>)> {
    let client = reqwest::Client::new();
    let (mut accepted, mut journals) = (BTreeSet::new(), Vec::new());
    for b in from..from + batches {
        let ticks: Vec<Tick> = (0..size)
            .map(|i| {
                let n = b * size + i;
                (
                    asset.to_owned(),
                    1_705_314_600_000 + n,
                    format!("1.{:05}", n % 100_000),
                )
            })
            .collect();
        let body: Vec<String> = ticks
            .iter()
            .map(|(a, t, p)| format!(r#"{{"asset":"{a}","price":"{p}","timestamp":{t}}}"#))
            .collect();
        let response = client
            .post(server.url("/api/ticks"))
            .bearer_auth(TOKEN)
            .body(format!("[{}]", body.join(",")))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "refused: {}",
            response.text().await?
        );
        let answer: serde_json::Value = response.json().await?;
        journals.push(answer["journal"].as_str().unwrap_or_default().to_owned());
        accepted.extend(
            ticks
                .into_iter()
                .map(|(a, t, p)| (a, t, shared::Price::new(&p).to_string())),
        );
    }
    Ok((accepted, journals))
}

async fn journal_mode(server: &Server) -> anyhow::Result<String> {
    let status: serde_json::Value = reqwest::get(server.url("/api/status"))
        .await?
        .json()
        .await?;
    Ok(status["batch_status"]["journal"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Reads the stream as another process would (publishing its position, so
/// the persister's trimming waits for it) and counts every tick it holds.
fn witness(
    url: String,
    prefix: String,
) -> (
    Arc<Mutex<BTreeMap<Tick, usize>>>,
    tokio::task::JoinHandle<()>,
) {
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let counts = seen.clone();
    let task = tokio::spawn(async move {
        let (stream, readers) = (
            format!("{prefix}journal"),
            format!("{prefix}journal:readers"),
        );
        let mut last = "0-0".to_owned();
        loop {
            let Ok(client) = redis::Client::open(url.as_str()) else {
                return;
            };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            loop {
                let beat = format!("{last} {}", e2e_now());
                let held: redis::RedisResult<()> = redis::cmd("HSET")
                    .arg(&readers)
                    .arg("witness")
                    .arg(beat)
                    .query_async(&mut conn)
                    .await;
                let read: redis::RedisResult<redis::Value> = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(100)
                    .arg("BLOCK")
                    .arg(200)
                    .arg("STREAMS")
                    .arg(&stream)
                    .arg(&last)
                    .query_async(&mut conn)
                    .await;
                let (Ok(()), Ok(reply)) = (held, read) else {
                    break;
                };
                let (entries, _) = server::journal::entry::parse_xread(&reply);
                if let Some((id, _)) = entries.last() {
                    last.clone_from(id);
                }
                let mut seen = counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for (_, entry) in entries {
                    for t in entry.ticks {
                        let key = (
                            t.asset.to_string(),
                            t.timestamp.millis(),
                            t.price.to_string(),
                        );
                        *seen.entry(key).or_insert(0) += 1;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    (seen, task)
}

fn e2e_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn postgres_ticks(url: &str) -> anyhow::Result<Vec<Tick>> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let rows: Vec<Tick> =
        sqlx::query_as("SELECT pair, timestamp, price::text FROM historical_ticks")
            .fetch_all(&mut conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(a, t, p)| (a, t, shared::Price::new(&p).to_string()))
        .collect())
}

#[tokio::test]
async fn a_redis_away_then_a_killed_server_keeps_every_tick_exactly_once() -> anyhow::Result<()> {
    let id = e2e::server::unique();
    let db = format!("tickstream_wal_{}_{id}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(ADMIN).await?;
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await?;
    let db_url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let files = tempfile::tempdir()?;
    let wal = files.path().join("journal.wal");
    let wal_path = wal.display().to_string();
    let prefix = format!("e2e-wal:{}:{id}:", std::process::id());
    let redis_url = PrivateRedis::url();
    let env = [
        ("REDIS_URL", redis_url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("DATABASE_URL", db_url.as_str()),
        ("JOURNAL_WAL_PATH", wal_path.as_str()),
        ("INGEST_TOKEN", TOKEN),
        ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
        ("REDIS_SOCKET_TIMEOUT", "1"),
        ("REDIS_RETRY_DELAY", "1"),
        ("PERSISTER_CLAIM_IDLE", "2"),
    ];
    let bin = e2e::paths::tickstream_bin();

    let redis = PrivateRedis::start(tempfile::tempdir()?)?;
    let (seen, reader) = witness(redis_url.clone(), prefix.clone());
    let mut doomed = Server::spawn(&bin, &env)?;
    let (mut accepted, journals) = ingest(&doomed, "WAL", 0, 5, 200).await?;
    assert!(journals.iter().all(|j| j == "redis"), "{journals:?}");

    // Redis goes away: batches are answered once in the write-ahead file.
    let dir = redis.kill();
    let (away, journals) = ingest(&doomed, "WAL", 5, 10, 200).await?;
    accepted.extend(away);
    assert!(journals.iter().all(|j| j == "local"), "{journals:?}");
    assert_eq!(journal_mode(&doomed).await?, "write-ahead");
    assert!(std::fs::metadata(&wal)?.len() > 16 + 10 * 200 * 20);
    doomed.kill();

    // Redis returns, then the server: the file goes to Redis, once.
    let redis = PrivateRedis::start(dir)?;
    let survivor = Server::spawn(&bin, &env)?;
    let started = Instant::now();
    loop {
        let stored = postgres_ticks(&db_url).await?;
        let streamed = seen.lock().map(|s| s.len()).unwrap_or(0);
        if (stored.len() >= accepted.len() && streamed >= accepted.len())
            || started.elapsed() > Duration::from_secs(60)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(journal_mode(&survivor).await?, "redis");
    drop(survivor);
    reader.abort();

    let stored = postgres_ticks(&db_url).await?;
    let n = stored.len();
    let stored: BTreeSet<Tick> = stored.into_iter().collect();
    assert_eq!(n, stored.len(), "a tick stored twice");
    assert_eq!(stored.len(), accepted.len(), "stored count");
    assert!(stored == accepted, "every accepted tick is stored");
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(3).collect();
    assert!(twice.is_empty(), "ticks in the stream twice: {twice:?}");
    let streamed: BTreeSet<Tick> = seen.into_keys().collect();
    assert!(streamed == accepted, "the stream holds every accepted tick");
    assert_eq!(
        std::fs::metadata(&wal)?.len(),
        16,
        "the flushed file is emptied"
    );

    drop(redis.kill());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

#[tokio::test]
async fn with_default_settings_and_no_redis_the_store_is_the_journal() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("ticks.db");
    let db_url = format!("sqlite:{}", file.display());
    let mut server = Server::spawn_unset(
        &e2e::paths::tickstream_bin(),
        &[
            ("REDIS_PORT", CLOSED_PORT),
            ("DATABASE_URL", db_url.as_str()),
            ("INGEST_TOKEN", TOKEN),
        ],
        &["REDIS_URL", "REDIS_HOST"],
    )?;
    assert_eq!(journal_mode(&server).await?, "store");
    let (accepted, journals) = ingest(&server, "SOLO", 0, 10, 500).await?;
    assert!(journals.iter().all(|j| j == "store"), "{journals:?}");
    // Killed at once: every answered batch is already in the file.
    server.kill();

    let lite = server::store::SqliteStore::open(&file, Duration::from_secs(5))?;
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT pair, timestamp, price FROM historical_ticks")
            .fetch_all(lite.pool())
            .await?;
    lite.pool().close().await;
    let n = rows.len();
    let stored: BTreeSet<Tick> = rows
        .into_iter()
        .map(|(a, t, p)| {
            let price = server::store::sqlite::parse_price_text(&p).map_or(p, |p| p.to_string());
            (a, t, shared::Price::new(&price).to_string())
        })
        .collect();
    assert_eq!(n, stored.len(), "a tick stored twice");
    assert!(
        stored == accepted,
        "every accepted tick, committed before 200"
    );
    Ok(())
}
