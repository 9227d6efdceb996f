//! `tickstream health`: checks the Redis connection, that the Redis fits a
//! journal (version, eviction policy, append-only), a pub/sub round trip,
//! a cache set and get, that the running server's persister runs (read from
//! its `/api/status`), and that the database answers. Prints each as OK,
//! WARNING or FAILED with the reason (SKIPPED when not configured); exits 0
//! when healthy (warnings allowed), 1 otherwise; `--json` for machines.

use std::time::Instant;

use clap::Args;
use futures_util::StreamExt;
use serde::Serialize;
use sqlx::Connection;

use super::redis_fit;
use super::{STEP_TIMEOUT, cache_round_trip, connect, ms_since, unique_suffix};
use crate::config::RedisConfig;
use crate::redis::{Link, Target};
use crate::store::{DEFAULT_SQLITE_PATH, StoreTarget};

/// Options of `tickstream health`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The running server whose persister is checked (its `/api/status`).
    #[arg(long, env = "TICKSTREAM_URL", default_value = "http://127.0.0.1:3001")]
    pub server: String,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
    /// The tick store to check: `postgres://...` or `sqlite:PATH` (unset,
    /// empty or `none`: skipped).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Redis to check.
    #[command(flatten)]
    pub redis: RedisConfig,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// It works.
    Ok,
    /// It works, with a risk the detail names; does not make the report
    /// unhealthy.
    Warning,
    /// It does not; the detail says why.
    Failed,
    /// Not configured, so not checked; does not make the report unhealthy.
    Skipped,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Short name (`redis_connection`, ...).
    pub name: &'static str,
    /// How it came out.
    pub status: Outcome,
    /// What was found, or why it failed.
    pub detail: String,
    /// How long it took, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>, ms: f64) -> Self {
        Self {
            name,
            status: Outcome::Ok,
            detail: detail.into(),
            ms: Some(ms),
        }
    }

    fn failed(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Outcome::Failed,
            detail: detail.into(),
            ms: None,
        }
    }
}

/// Every check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// No check failed.
    pub healthy: bool,
    /// The checks, in the order run.
    pub checks: Vec<Check>,
}

impl Report {
    /// The report as lines for a terminal.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let status = match c.status {
                Outcome::Ok => "OK",
                Outcome::Warning => "WARNING",
                Outcome::Failed => "FAILED",
                Outcome::Skipped => "SKIPPED",
            };
            let ms = c.ms.map(|ms| format!(" ({ms:.2} ms)")).unwrap_or_default();
            out.push_str(&format!("{status:<8}{:<20}{}{ms}\n", c.name, c.detail));
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Outcome::Failed)
            .count();
        if failed == 0 {
            out.push_str("healthy\n");
        } else {
            out.push_str(&format!(
                "UNHEALTHY: {failed} of {} checks failed\n",
                self.checks.len()
            ));
        }
        out
    }
}

/// Runs every check.
pub async fn check(args: &HealthArgs) -> Report {
    let mut checks = redis_checks(&args.redis).await;
    checks.push(persister(&args.server).await);
    checks.push(database(args.database_url.as_deref()).await);
    Report {
        healthy: checks.iter().all(|c| c.status != Outcome::Failed),
        checks,
    }
}

/// Runs the checks, prints them, and returns whether all passed.
pub async fn run(args: HealthArgs) -> bool {
    let report = check(&args).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", report.to_text());
    }
    report.healthy
}

async fn redis_checks(config: &RedisConfig) -> Vec<Check> {
    if config.url().is_none() && !config.is_cluster() {
        // `REDIS_URL=none`: a server runs in-process, which is a setup it
        // supports, not a failure.
        return [
            "redis_connection",
            "redis_fit",
            "pubsub_round_trip",
            "cache_set_get",
        ]
        .into_iter()
        .map(|name| Check {
            name,
            status: Outcome::Skipped,
            detail: "REDIS_URL is none: no Redis to check".to_owned(),
            ms: None,
        })
        .collect();
    }
    let shown = super::shown(config);
    let started = Instant::now();
    let (target, mut conn) = match connect(config).await {
        Ok(c) => c,
        Err(e) => {
            return vec![
                Check::failed("redis_connection", format!("{shown}: {e}")),
                Check::failed("redis_fit", "no Redis connection"),
                Check::failed("pubsub_round_trip", "no Redis connection"),
                Check::failed("cache_set_get", "no Redis connection"),
            ];
        }
    };
    let ping: redis::RedisResult<String> = conn.on_one_node(&redis::cmd("PING")).await;
    let connection = match ping {
        Ok(_) => Check::ok(
            "redis_connection",
            format!("PING answered by {shown}"),
            ms_since(started),
        ),
        Err(e) => Check::failed("redis_connection", format!("{shown}: PING failed: {e}")),
    };
    let fit = fit(&mut conn).await;
    let suffix = unique_suffix();
    let pubsub = match &target {
        Target::Single(client) => {
            pubsub_round_trip(client, &mut conn, &config.key(&format!("health:{suffix}"))).await
        }
        Target::Cluster(_) => Check {
            name: "pubsub_round_trip",
            status: Outcome::Skipped,
            detail: "on a cluster, live fan-out comes from the journal streams, not pub/sub"
                .to_owned(),
            ms: None,
        },
    };
    let cache = match cache_round_trip(&mut conn, &config.key(&format!("health:{suffix}"))).await {
        Ok(ms) => Check::ok("cache_set_get", "SET, GET and DEL of a test key", ms),
        Err(e) => Check::failed("cache_set_get", e),
    };
    vec![connection, fit, pubsub, cache]
}

/// Whether the Redis can hold the journal: FAILED on a refusal, WARNING
/// on warnings, each naming the setting and the fix.
async fn fit(conn: &mut Link) -> Check {
    const NAME: &str = "redis_fit";
    let started = Instant::now();
    let facts = match tokio::time::timeout(STEP_TIMEOUT, redis_fit::inspect(conn)).await {
        Ok(Ok(facts)) => facts,
        Ok(Err(e)) => return Check::failed(NAME, format!("INFO failed: {e}")),
        Err(_) => return Check::failed(NAME, "no answer to INFO within 5 s"),
    };
    let ms = ms_since(started);
    let verdict = redis_fit::judge(&facts);
    let version = facts.version.as_deref().unwrap_or("?");
    let policy = facts.policy.as_deref().unwrap_or("?");
    if verdict.findings.is_empty() {
        return Check::ok(
            NAME,
            format!("Redis {version}, maxmemory-policy {policy}, append-only on"),
            ms,
        );
    }
    // Refusals first, then warnings.
    let texts: Vec<&str> = verdict.findings.iter().map(|f| f.text.as_str()).collect();
    Check {
        name: NAME,
        status: if verdict.refused() {
            Outcome::Failed
        } else {
            Outcome::Warning
        },
        detail: format!("Redis {version}: {}", texts.join("; ")),
        ms: Some(ms),
    }
}

/// Subscribes to a fresh channel, publishes to it and waits for the message.
async fn pubsub_round_trip(client: &redis::Client, conn: &mut Link, channel: &str) -> Check {
    const NAME: &str = "pubsub_round_trip";
    let round = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        let started = Instant::now();
        let receivers: u64 = redis::cmd("PUBLISH")
            .arg(channel)
            .arg("ping")
            .query_async(conn)
            .await?;
        let mut messages = pubsub.on_message();
        let got = messages.next().await;
        let ms = ms_since(started);
        Ok::<_, redis::RedisError>((receivers, got.map(|m| m.get_payload_bytes().to_vec()), ms))
    };
    match tokio::time::timeout(STEP_TIMEOUT, round).await {
        Err(_) => Check::failed(NAME, "the published message did not come back within 5 s"),
        Ok(Err(e)) => Check::failed(NAME, e.to_string()),
        Ok(Ok((_, Some(payload), ms))) if payload == b"ping" => {
            Check::ok(NAME, "published and received on a test channel", ms)
        }
        Ok(Ok((receivers, _, _))) => Check::failed(
            NAME,
            format!("the message did not come back ({receivers} receivers)"),
        ),
    }
}

/// The running server's persister, from its `/api/status`.
async fn persister(server: &str) -> Check {
    const NAME: &str = "persister";
    let url = format!("{}/api/status", server.trim_end_matches('/'));
    let started = Instant::now();
    let client = match reqwest::Client::builder().timeout(STEP_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => return Check::failed(NAME, e.to_string()),
    };
    let response = match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => return Check::failed(NAME, format!("{url} answered {}", r.status())),
        Err(e) => {
            return Check::failed(
                NAME,
                format!("server at {server} unreachable: {}", causes(&e)),
            );
        }
    };
    let status: serde_json::Value = match response.json().await {
        Ok(v) => v,
        Err(e) => return Check::failed(NAME, format!("{url} is not a tickstream status: {e}")),
    };
    let batch = &status["batch_status"];
    if batch["running"] == true {
        let mut detail = format!(
            "running on {server}: {} rows written, {} pending",
            batch["rows_written"], batch["pending"]
        );
        if let Some(e) = batch["last_error"].as_str() {
            detail.push_str(&format!(", last error: {e}"));
        }
        Check::ok(NAME, detail, ms_since(started))
    } else {
        let store = batch["store"].as_str().unwrap_or("?");
        Check::failed(
            NAME,
            format!("not running on {server} (store: {store}; is its DATABASE_URL none?)"),
        )
    }
}

/// An error and its causes, `a: b: c`.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The tick store answers `SELECT 1`: PostgreSQL, or an existing SQLite
/// file opened read-only (the check never creates one).
async fn database(url: Option<&str>) -> Check {
    const NAME: &str = "database";
    let skipped = |detail: &str| Check {
        name: NAME,
        status: Outcome::Skipped,
        detail: detail.to_owned(),
        ms: None,
    };
    let url = url.filter(|u| !u.trim().is_empty());
    if url.is_none() && !std::path::Path::new(DEFAULT_SQLITE_PATH).is_file() {
        // Unset means the embedded store, relative to the server's working
        // directory: checked when this is that directory.
        return skipped(&format!(
            "DATABASE_URL is not set and there is no {DEFAULT_SQLITE_PATH} here"
        ));
    }
    let target = match StoreTarget::parse(url) {
        Ok(StoreTarget::Nothing) => return skipped("DATABASE_URL is none: no tick store"),
        Ok(target) => target,
        Err(e) => return Check::failed(NAME, format!("DATABASE_URL: {e}")),
    };
    let started = Instant::now();
    let probe = async {
        match &target {
            StoreTarget::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await?;
                let _ = conn.close().await;
                Ok::<_, sqlx::Error>(one)
            }
            StoreTarget::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .read_only(true);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
                let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await?;
                let _ = conn.close().await;
                Ok(one)
            }
            StoreTarget::Nothing => Ok(1),
        }
    };
    match tokio::time::timeout(STEP_TIMEOUT, probe).await {
        Ok(Ok(1)) => Check::ok(NAME, "SELECT 1 answered", ms_since(started)),
        Ok(Ok(n)) => Check::failed(NAME, format!("SELECT 1 answered {n}")),
        Ok(Err(e)) => Check::failed(NAME, e.to_string()),
        Err(_) => Check::failed(NAME, "no answer within 5 s"),
    }
}
