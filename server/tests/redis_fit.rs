//! Redis fit for a journal, for real: a private `redis-server` that may evict
//! keys (`allkeys-lru` with `maxmemory`) stops `tickstream serve` with a
//! message naming the setting and the fix, and fails `tickstream health`;
//! one with `noeviction` but no append-only file serves, with a warning in
//! the log and in `health`, which stays healthy.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::PrivateRedis;

const BIN: &str = env!("CARGO_BIN_EXE_tickstream");

/// How long `serve` may take to start or refuse (a bound, not a speed check).
const LIMIT: Duration = Duration::from_secs(30);

/// A private Redis on a free port with these settings (no snapshots).
fn private_redis(dir: &std::path::Path, settings: &[&str]) -> PrivateRedis {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    PrivateRedis::start_with(dir, port, settings)
}

/// `tickstream` with `args`, no settings from the environment or `.env`.
fn tickstream(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir());
    command
}

fn health(redis: &str, server: &str, database: &str) -> Output {
    tickstream(&[
        "health",
        "--redis-url",
        redis,
        "--server",
        server,
        "--database-url",
        database,
        "--redis-key-prefix",
        "test:redis-fit:",
    ])
    .output()
    .expect("tickstream runs")
}

/// The `redis_fit` line of a health report.
fn fit_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("redis_fit"))
        .unwrap_or_else(|| panic!("no redis_fit line:\n{text}"))
        .to_owned()
}

/// `tickstream serve` on a free port against `redis` and `database`.
fn serve(redis: &str, database: &str, dist: &std::path::Path) -> Child {
    tickstream(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--redis-url",
        redis,
        "--redis-key-prefix",
        &common::unique_prefix("redis-fit"),
        "--database-url",
        database,
        "--redis-batch-processing-interval",
        "1",
    ])
    .env("DIST_DIR", dist)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("tickstream starts")
}

#[test]
fn a_redis_that_may_evict_the_journal_stops_serve_and_fails_health() {
    let dir = tempfile::tempdir().unwrap();
    let redis = private_redis(
        dir.path(),
        &[
            "--maxmemory",
            "100mb",
            "--maxmemory-policy",
            "allkeys-lru",
            "--appendonly",
            "no",
        ],
    );
    let mut child = serve(&redis.url(), "none", dir.path());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not stop within {LIMIT:?} on an allkeys-lru Redis");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "serve started:\n{stdout}\n{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    for needle in [
        "cannot hold the journal",
        "maxmemory-policy is allkeys-lru with maxmemory 100 MB",
        "set maxmemory-policy noeviction",
    ] {
        assert!(stderr.contains(needle), "{needle} not in:\n{stderr}");
    }

    let out = health(&redis.url(), "http://127.0.0.1:9", "none");
    assert_eq!(out.status.code(), Some(1));
    let line = fit_line(&out);
    assert!(line.starts_with("FAILED"), "{line}");
    assert!(line.contains("allkeys-lru"), "{line}");
    assert!(
        line.contains("appendonly yes"),
        "the warning comes along: {line}"
    );
}

#[tokio::test]
async fn noeviction_without_append_only_serves_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let redis = private_redis(
        dir.path(),
        &[
            "--maxmemory",
            "100mb",
            "--maxmemory-policy",
            "noeviction",
            "--appendonly",
            "no",
        ],
    );
    let database = format!("sqlite:{}", dir.path().join("ticks.db").display());
    let mut child = serve(&redis.url(), &database, dir.path());
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (found, listening) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split("listening on ").nth(1) {
                let _ = found.send(url.trim().to_owned());
            }
        }
    });
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let Ok(base) = listening.recv_timeout(LIMIT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve did not start:\n{}", log.join().unwrap());
    };

    // The persister runs once it has joined the journal's group.
    let started = Instant::now();
    loop {
        let status = reqwest::get(format!("{base}/api/status"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if status.contains(r#""running":true"#) {
            break;
        }
        assert!(started.elapsed() < LIMIT, "persister never ran: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (url, server, db) = (redis.url(), base.clone(), database.clone());
    let out = tokio::task::spawn_blocking(move || health(&url, &server, &db))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = fit_line(&out);
    assert!(line.starts_with("WARNING"), "{line}");
    assert!(line.contains("aof_enabled:0"), "{line}");
    assert!(
        out.status.success(),
        "a warning keeps health healthy:\n{text}"
    );
    assert!(text.ends_with("healthy\n"), "{text}");

    let _ = child.kill();
    let _ = child.wait();
    let log = log.join().unwrap();
    assert!(
        log.contains("append-only persistence is off"),
        "no warning in the log:\n{log}"
    );
    drop(redis);
}
