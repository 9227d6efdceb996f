//! `tickstream health` and `tickstream monitor`, run as the real binary
//! against the real Redis, PostgreSQL and a running server.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tickstream");

/// Runs the binary with `args`, no settings from the environment or `.env`.
fn tickstream(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("tickstream runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn health_is_ok_against_a_server_with_redis_and_a_database() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("health");
    let (db_url, db) = common::fresh_database("health").await;
    let server = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;
    // The persister reports running once it has joined the journal's group.
    let started = Instant::now();
    while !server
        .get("/api/status")
        .await
        .1
        .contains(r#""running":true"#)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "persister never ran"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (base, url) = (server.base.clone(), db_url.clone());
    let out = tokio::task::spawn_blocking(move || {
        tickstream(&[
            "health",
            "--server",
            &base,
            "--database-url",
            &url,
            "--redis-url",
            common::REDIS,
            "--redis-key-prefix",
            "test:health:",
        ])
    })
    .await
    .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    for name in [
        "redis_connection",
        "pubsub_round_trip",
        "cache_set_get",
        "persister",
        "database",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("OK") && l.contains(name)),
            "{name} not OK:\n{text}"
        );
    }
    // The machine's Redis keeps nothing on disk: a warning, not a failure.
    assert!(
        text.lines()
            .any(|l| l.contains("redis_fit") && (l.starts_with("OK") || l.starts_with("WARNING"))),
        "{text}"
    );
    assert!(text.ends_with("healthy\n"), "{text}");
    server.stop().await;
    common::cleanup(&prefix).await;
    common::drop_database(&db).await;
}

#[test]
fn health_fails_with_reasons_and_exit_code_one() {
    let out = tickstream(&[
        "health",
        "--json",
        "--server",
        "http://127.0.0.1:9",
        "--redis-url",
        "redis://127.0.0.1:9/0",
        "--redis-socket-timeout",
        "2",
        "--database-url",
        "postgres://nobody@127.0.0.1:9/none",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["healthy"], false);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 6);
    for c in checks {
        assert_eq!(c["status"], "FAILED", "{c}");
        assert!(!c["detail"].as_str().unwrap().is_empty(), "{c}");
    }
    assert!(
        checks[0]["detail"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:9")
    );
    assert!(
        checks[4]["detail"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );

    // The same as text: a FAILED line per check, and the verdict.
    let out = tickstream(&[
        "health",
        "--server",
        "http://127.0.0.1:9",
        "--redis-url",
        "redis://127.0.0.1:9/0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("FAILED")).count(),
        5,
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("SKIPPED") && l.contains("database"))
    );
    assert!(text.contains("UNHEALTHY: 5 of 6 checks failed"), "{text}");
}

#[test]
fn monitor_samples_and_exports_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("samples.json");
    let out = tickstream(&[
        "monitor",
        "--interval",
        "1",
        "--count",
        "2",
        "--export",
        file.to_str().unwrap(),
        "--redis-url",
        common::REDIS,
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains("  ping ")).count(),
        2,
        "{text}"
    );
    let export: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let samples = export["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    for s in samples {
        assert!(s["ping_ms"].as_f64().unwrap() > 0.0);
        assert!(s["cache_ms"].as_f64().unwrap() > 0.0);
        assert!(s["used_memory"].as_u64().unwrap() > 0);
        assert!(s["connected_clients"].as_u64().unwrap() >= 1);
        assert!(s["total_commands_processed"].as_u64().unwrap() > 0);
        assert!(s["warnings"].is_array());
    }
    // The second sample saw the first one's commands.
    assert!(
        samples[1]["total_commands_processed"].as_u64()
            > samples[0]["total_commands_processed"].as_u64()
    );
}

#[test]
fn monitor_stops_cleanly_on_ctrl_c_and_still_exports() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("samples.json");
    let mut child = Command::new(BIN)
        .args([
            "monitor",
            "--interval",
            "1",
            "--redis-url",
            common::REDIS,
            "--export",
        ])
        .arg(&file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait for the first sample, then interrupt.
    loop {
        let line = lines.next().expect("a sample line").unwrap();
        if line.contains("  ping ") {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?} {rest:?}");
    assert!(
        rest.iter().any(|l| l.starts_with("stopped after")),
        "{rest:?}"
    );
    let export: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(!export["samples"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn health_checks_the_embedded_store_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let url = format!("sqlite:{}", file.display());
    let database_line = |url: &str| {
        let out = tickstream(&[
            "health",
            "--server",
            "http://127.0.0.1:9",
            "--redis-url",
            "none",
            "--database-url",
            url,
        ]);
        let text = stdout(&out);
        text.lines()
            .find(|l| l.contains("database"))
            .unwrap_or_else(|| panic!("no database line: {text}"))
            .to_owned()
    };
    // Missing: FAILED, and the check did not create the file.
    let line = database_line(&url);
    assert!(line.starts_with("FAILED"), "{line}");
    assert!(!file.exists());
    // An embedded store that exists answers.
    let store = server::store::TickStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    let line = database_line(&url);
    assert!(line.starts_with("OK"), "{line}");
    assert!(database_line("none").starts_with("SKIPPED"));
    // Without Redis (a setup the server supports) the Redis checks are
    // skipped, not failed.
    let out = tickstream(&[
        "health",
        "--server",
        "http://127.0.0.1:9",
        "--redis-url",
        "none",
        "--database-url",
        &url,
    ]);
    let text = stdout(&out);
    for name in [
        "redis_connection",
        "redis_fit",
        "pubsub_round_trip",
        "cache_set_get",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("SKIPPED") && l.contains(name)),
            "{text}"
        );
    }
}

#[tokio::test]
async fn health_finds_the_default_embedded_store_in_its_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let out = Command::new(BIN)
            .args([
                "health",
                "--server",
                "http://127.0.0.1:9",
                "--redis-url",
                "none",
            ])
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = stdout(&out);
        text.lines()
            .find(|l| l.contains("database"))
            .unwrap_or_else(|| panic!("no database line: {text}"))
            .to_owned()
    };
    let line = run();
    assert!(
        line.starts_with("SKIPPED") && line.contains("data/tickstream.db"),
        "{line}"
    );
    let url = format!("sqlite:{}", dir.path().join("data/tickstream.db").display());
    let store = server::store::TickStore::connect_lazy(&url, Duration::from_secs(5)).unwrap();
    store.migrate().await.unwrap();
    let line = run();
    assert!(line.starts_with("OK"), "{line}");
}
