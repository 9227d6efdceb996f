//! Producers through Redis, against the real Redis: entries `XADD`ed to
//! `{prefix}ingest` are checked as `POST /api/ticks` checks a request,
//! journaled, stored and shown once, refused ones recorded with their reason
//! in `{prefix}ingest:rejected`; processes on one Redis share the entries,
//! claim those of a stopped one, and wait out a Redis that is away; the
//! README's Python producer works as written.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Proxy, cleanup, future_minute, journal_ticks, unique_prefix};
use server::store::TickStore;

type Fields = HashMap<String, String>;

/// `XADD stream * fields...`; the new entry's id.
async fn xadd(stream: &str, fields: &[(&str, &str)]) -> String {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(stream).arg("*");
    for (k, v) in fields {
        cmd.arg(*k).arg(*v);
    }
    cmd.query_async(&mut common::redis().await).await.unwrap()
}

async fn xlen(stream: &str) -> u64 {
    redis::cmd("XLEN")
        .arg(stream)
        .query_async(&mut common::redis().await)
        .await
        .unwrap()
}

/// The entries of `stream` as ids and text fields.
async fn entries(stream: &str) -> Vec<(String, Fields)> {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut common::redis().await)
        .await
        .unwrap();
    reply
        .ids
        .into_iter()
        .map(|e| {
            let fields = e
                .map
                .iter()
                .map(|(k, v)| (k.clone(), redis::from_redis_value_ref(v).unwrap()))
                .collect();
            (e.id, fields)
        })
        .collect()
}

/// Waits up to 20 s for `done`.
async fn until<F: AsyncFn() -> bool>(what: &str, done: F) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The group's entries read and not acknowledged.
async fn pending(stream: &str) -> u64 {
    let reply: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg("tickstream")
        .query_async(&mut common::redis().await)
        .await
        .unwrap();
    match reply {
        redis::Value::Array(parts) => redis::from_redis_value_ref(&parts[0]).unwrap(),
        other => panic!("XPENDING answered {other:?}"),
    }
}

/// The `volume` of every candle of `asset` in `/api/candles` (1-minute).
async fn volumes(server: &common::Running, asset: &str) -> Vec<u64> {
    let (code, text) = server
        .get(&format!("/api/candles?asset={asset}&timeframe=1M"))
        .await;
    assert_eq!(code, 200, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["candles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["volume"].as_u64().unwrap())
        .collect()
}

/// A metric's value in `GET /metrics`, 0 when absent.
async fn metric(server: &common::Running, line_start: &str) -> u64 {
    let (_, text) = server.get("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .map_or(0, |v| v.trim().parse().unwrap())
}

const ACCEPTED: &str = r#"tickstream_ingest_stream_entries_total{outcome="accepted"}"#;

#[tokio::test]
async fn ticks_from_fields_and_json_arrays_are_shown_and_stored_once() {
    let prefix = unique_prefix("bridge-accept");
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite:{}", dir.path().join("ticks.db").display());
    let server = common::start_with_db(dir.path(), &prefix, &db_url, &[]).await;
    let stream = format!("{prefix}ingest");
    // A closed minute in the past: `/api/candles` reads it from the store.
    let t0: i64 = 1_705_314_600_000;
    let (t1, t2) = ((t0 + 1).to_string(), (t0 + 2).to_string());
    let single = [
        ("asset", "BRIDGE"),
        ("price", "1.0823"),
        ("timestamp", &t0.to_string()),
    ];
    xadd(&stream, &single).await;
    let array = format!(
        r#"[{{"asset":"BRIDGE","price":1.0825,"timestamp":{t1}}},
            {{"asset":"BRIDGE","price":"1.0821","timestamp":{t2}}}]"#
    );
    xadd(&stream, &[("ticks", &array)]).await;
    // The same entry again: the same tick, counted once.
    xadd(&stream, &single).await;

    until("three entries handled", async || {
        metric(&server, ACCEPTED).await == 3
    })
    .await;
    assert_eq!(xlen(&stream).await, 0, "handled entries are deleted");
    assert_eq!(pending(&stream).await, 0);
    let journaled = journal_ticks(&prefix).await;
    assert_eq!(journaled.len(), 4, "every entry journaled");
    let store = TickStore::connect_lazy(&db_url, Duration::from_secs(5)).unwrap();
    until("the ticks stored", async || {
        store.ticks_since(t0, 100).await.unwrap().len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // a further batch
    assert_eq!(volumes(&server, "BRIDGE").await, vec![3]);
    let stored = store.ticks_since(t0, 100).await.unwrap();
    let prices: Vec<String> = stored.iter().map(|t| t.price.to_string()).collect();
    assert_eq!(prices, ["1.0823", "1.0825", "1.0821"]);
    assert_eq!(xlen(&format!("{prefix}ingest:rejected")).await, 0);
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn refused_entries_are_recorded_with_the_reason_and_nothing_is_kept() {
    let prefix = unique_prefix("bridge-refuse");
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_on_redis(dir.path(), &prefix, &["--max-ingest-bytes", "4096"]).await;
    let stream = format!("{prefix}ingest");
    let ts = (future_minute() + 1_000).to_string();
    let ahead = (future_minute() + 3_600_000).to_string();
    let ok = format!(r#"{{"asset":"REFUSED","price":1,"timestamp":{ts}}}"#);
    let huge = format!("[{}]", vec![ok.as_str(); 100].join(","));
    let second_bad = format!(r#"[{ok},{{"asset":"REFUSED"}}]"#);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("asset", "REFUSED"), ("price", "-1"), ("timestamp", &ts)],
            "greater than zero",
        ),
        (
            vec![
                ("asset", "NOT AN ASSET"),
                ("price", "1"),
                ("timestamp", &ts),
            ],
            "invalid asset",
        ),
        (
            vec![("asset", "REFUSED"), ("price", "1"), ("timestamp", &ahead)],
            "MAX_FUTURE_SKEW_MS",
        ),
        (vec![("ticks", "[{\"asset\":")], "JSON array"),
        (
            vec![("asset", "REFUSED"), ("price", "1")],
            "missing field `timestamp`",
        ),
        (vec![("ticks", &second_bad)], "tick 1:"),
        (vec![("ticks", &huge)], "MAX_INGEST_BYTES"),
    ];
    let mut ids = Vec::new();
    for (fields, _) in &cases {
        ids.push(xadd(&stream, fields).await);
    }
    let rejected = format!("{prefix}ingest:rejected");
    until("every entry refused", async || {
        xlen(&rejected).await == cases.len() as u64
    })
    .await;
    let records = entries(&rejected).await;
    for (((fields, expected), id), (_, record)) in cases.iter().zip(&ids).zip(&records) {
        assert_eq!(&record["entry"], id);
        assert!(record["reason"].contains(expected), "{record:?}");
        if *expected == "MAX_INGEST_BYTES" {
            assert_eq!(record["truncated"], "true");
            assert_eq!(record["field:ticks"].len(), 1024);
        } else {
            for (k, v) in fields {
                assert_eq!(&record[&format!("field:{k}")], v, "{record:?}");
            }
        }
    }
    // The reason is the one `POST /api/ticks` gives for the same tick.
    let (code, answer) = server
        .ingest_with(
            Some(common::TOKEN),
            &format!(r#"[{{"asset":"REFUSED","price":"-1","timestamp":{ts}}}]"#),
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(answer["error"], records[0].1["reason"].as_str());

    assert_eq!(xlen(&stream).await, 0);
    assert_eq!(pending(&stream).await, 0);
    // Candles and the store are fed from the journal only.
    assert!(journal_ticks(&prefix).await.is_empty(), "nothing journaled");
    let refused = r#"tickstream_ingest_stream_entries_total{outcome="refused"}"#;
    assert_eq!(metric(&server, refused).await, cases.len() as u64);
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn processes_on_one_redis_take_each_entry_once() {
    let prefix = unique_prefix("bridge-share");
    let dir = tempfile::tempdir().unwrap();
    let a = common::start_on_redis(dir.path(), &prefix, &[]).await;
    let b = common::start_on_redis(dir.path(), &prefix, &[]).await;
    let stream = format!("{prefix}ingest");
    let t0 = future_minute() + 1_000;
    let n = 300;
    let mut conn = common::redis().await;
    for i in 0..n {
        let _: String = redis::cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("asset")
            .arg("SHARED")
            .arg("price")
            .arg(format!("1.{i:04}"))
            .arg("timestamp")
            .arg(t0 + i)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    until("every entry handled", async || {
        metric(&a, ACCEPTED).await + metric(&b, ACCEPTED).await >= n as u64
    })
    .await;
    let (by_a, by_b) = (metric(&a, ACCEPTED).await, metric(&b, ACCEPTED).await);
    assert_eq!(by_a + by_b, n as u64, "a: {by_a}, b: {by_b}");
    eprintln!("entries taken: {by_a} by one process, {by_b} by the other");
    assert_eq!(journal_ticks(&prefix).await.len(), n as usize, "each once");
    assert_eq!(xlen(&stream).await, 0);
    a.stop().await;
    b.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn entries_a_stopped_process_read_are_claimed() {
    let prefix = unique_prefix("bridge-claim");
    let stream = format!("{prefix}ingest");
    let mut conn = common::redis().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("tickstream")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .unwrap();
    let ts = (future_minute() + 1_000).to_string();
    for price in ["2.5", "2.6"] {
        xadd(
            &stream,
            &[("asset", "CLAIMED"), ("price", price), ("timestamp", &ts)],
        )
        .await;
    }
    // A consumer reads both and stops before acknowledging them.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("tickstream")
        .arg("stopped")
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending(&stream).await, 2);
    let dir = tempfile::tempdir().unwrap();
    let server =
        common::start_on_redis(dir.path(), &prefix, &["--redis-ingest-claim-idle", "1"]).await;
    until("the entries claimed and journaled", async || {
        journal_ticks(&prefix).await.len() == 2
    })
    .await;
    until("the entries settled", async || pending(&stream).await == 0).await;
    assert_eq!(xlen(&stream).await, 0);
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn the_bridge_waits_for_redis_and_can_be_switched_off() {
    let prefix = unique_prefix("bridge-away");
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start("127.0.0.1:6379").await;
    let url = format!("redis://127.0.0.1:{}/0", proxy.port);
    let server = common::start(
        dir.path(),
        &["--redis-url", &url, "--redis-key-prefix", &prefix],
    )
    .await;
    let off = common::start_on_redis(dir.path(), &prefix, &["--redis-ingest-stream=false"]).await;
    let stream = format!("{prefix}ingest");
    let ts = (future_minute() + 1_000).to_string();
    let tick = [
        ("asset", "AWAY"),
        ("price", "3"),
        ("timestamp", ts.as_str()),
    ];
    xadd(&stream, &tick).await;
    until("the entry taken", async || {
        journal_ticks(&prefix).await.len() == 1
    })
    .await;
    proxy.down();
    xadd(&stream, &tick).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(xlen(&stream).await, 1, "waiting while Redis is away");
    proxy.up();
    until("the entry taken after Redis returned", async || {
        xlen(&stream).await == 0
    })
    .await;
    until("the entry journaled", async || {
        journal_ticks(&prefix).await.len() == 2
    })
    .await;
    // Deleted (group and all), then made again by a producer.
    let _: () = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut common::redis().await)
        .await
        .unwrap();
    xadd(&stream, &tick).await;
    until("the entry taken from the stream made again", async || {
        journal_ticks(&prefix).await.len() == 3
    })
    .await;
    assert_eq!(metric(&off, ACCEPTED).await, 0, "switched off");
    server.stop().await;
    off.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn the_readme_python_producer_works_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("### Producers through Redis")
        .nth(1)
        .expect("the README section");
    let script = section
        .split("```python\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a python block");
    assert_eq!(script.lines().count(), 5, "five lines:\n{script}");
    let prefix = unique_prefix("bridge-python");
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_on_redis(dir.path(), &prefix, &[]).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let exists: u64 = redis::cmd("EXISTS")
        .arg(format!("{prefix}ingest"))
        .query_async(&mut common::redis().await)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the server makes no key of its own");
    let output = tokio::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("REDIS_URL", common::REDIS)
        .env("REDIS_KEY_PREFIX", &prefix)
        .output()
        .await
        .expect("Debian's python3 (apt: python3-redis)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    until("the producer's ticks journaled", async || {
        journal_ticks(&prefix).await.len() == 2
    })
    .await;
    let mut assets: Vec<String> = journal_ticks(&prefix)
        .await
        .iter()
        .map(|t| t.asset.to_string())
        .collect();
    assets.sort();
    assert_eq!(assets, ["BTCUSD", "EURUSD_otc"]);
    assert_eq!(xlen(&format!("{prefix}ingest:rejected")).await, 0);
    server.stop().await;
    cleanup(&prefix).await;
}
