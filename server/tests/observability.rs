//! What operators watch: `GET /metrics` scraped after real ingest,
//! WebSocket delivery and a persister batch, parsed with a Prometheus text
//! parser, its figures moving as they should; and feed staleness through
//! the real server (`/api/status`, `redis_status`, `/metrics`).

mod common;

use std::time::{Duration, Instant};

use common::{Client, Running};
use prometheus_parse::{Scrape, Value};
use shared::protocol::FeedHealth;
use shared::{Asset, ClientMessage, ServerMessage};

/// One scrape, parsed.
async fn scrape(server: &Running) -> Scrape {
    let response = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("a valid Prometheus scrape")
}

/// The value of `metric` whose labels include `labels` (0 when absent).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => f64::NAN,
        })
        .sum()
}

/// Scrapes until `done` holds, for at most 20 s.
async fn scrape_until(server: &Running, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let started = Instant::now();
    loop {
        let s = scrape(server).await;
        if done(&s) || started.elapsed() > Duration::from_secs(20) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn a_scrape_parses_and_its_figures_follow_ingest_delivery_and_storage() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("metrics");
    let (db_url, db) = common::fresh_database("metrics").await;
    let server = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;

    let before = scrape(&server).await;
    assert_eq!(value(&before, "tickstream_ticks_accepted_total", &[]), 0.0);
    assert_eq!(value(&before, "tickstream_ws_clients", &[]), 0.0);
    assert_eq!(value(&before, "tickstream_redis_connected", &[]), 1.0);
    for name in [
        "tickstream_journal_length",
        "tickstream_candle_cache_hits_total",
        "tickstream_persister_running",
        "tickstream_tick_to_journal_seconds",
    ] {
        assert!(
            before.samples.iter().any(|s| s.metric == name),
            "{name} missing"
        );
    }

    let mut client = Client::connect(&server.ws).await;
    client
        .subscribe("MetricsA", Some(shared::Timeframe::M1))
        .await;
    client.snapshot().await;

    // Two refused requests, then three ticks accepted.
    let t = now_ms() - 500;
    let body = common::ticks_json(
        "MetricsA",
        &[("1.1", t), ("1.2", t + 100), ("1.3", t + 200)],
    );
    assert_eq!(server.ingest_with(Some("wrong"), &body).await.0, 401);
    assert_eq!(server.ingest_with(Some(common::TOKEN), "[{").await.0, 400);
    server.ingest(&body).await;
    client.update().await;
    client.send_text("not json").await;

    let after = scrape_until(&server, |s| {
        value(s, "tickstream_persister_batch_ticks", &[]) >= 1.0
            && value(s, "tickstream_tick_to_socket_seconds", &[]) >= 1.0
    })
    .await;
    assert_eq!(value(&after, "tickstream_ticks_accepted_total", &[]), 3.0);
    assert_eq!(
        value(
            &after,
            "tickstream_ingest_rejected_total",
            &[("reason", "unauthorized")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "tickstream_ingest_rejected_total",
            &[("reason", "malformed")]
        ),
        1.0
    );
    assert_eq!(
        value(&after, "tickstream_tick_to_journal_seconds", &[]),
        3.0
    );
    assert!(value(&after, "tickstream_tick_to_candle_seconds", &[]) >= 3.0);
    assert!(value(&after, "tickstream_tick_to_socket_seconds", &[]) >= 1.0);
    assert_eq!(value(&after, "tickstream_ws_clients", &[]), 1.0);
    assert!(value(&after, "tickstream_ws_deliveries_total", &[]) >= 1.0);
    assert_eq!(
        value(
            &after,
            "tickstream_ws_frames_refused_total",
            &[("reason", "malformed")]
        ),
        1.0
    );
    assert!(value(&after, "tickstream_journal_length", &[]) >= 1.0);
    assert_eq!(
        value(&after, "tickstream_persister_rows_written_total", &[]),
        3.0
    );
    assert_eq!(value(&after, "tickstream_persister_batch_ticks", &[]), 1.0);
    assert_eq!(
        value(&after, "tickstream_persister_pending_ticks", &[]),
        0.0
    );
    assert_eq!(value(&after, "tickstream_journal_consumer_lag", &[]), 0.0);
    assert_eq!(
        value(&after, "tickstream_feed_stale", &[("asset", "MetricsA")]),
        0.0
    );
    assert_eq!(
        value(
            &after,
            "tickstream_feed_usual_interval_seconds",
            &[("asset", "MetricsA")]
        ),
        0.1
    );

    drop(client);
    let gone = scrape_until(&server, |s| value(s, "tickstream_ws_clients", &[]) == 0.0).await;
    assert_eq!(value(&gone, "tickstream_ws_clients", &[]), 0.0);

    server.stop().await;
    common::cleanup(&prefix).await;
    common::drop_database(&db).await;
}

async fn feed(server: &Running, asset: &str) -> Option<FeedHealth> {
    let (status, body) = server.get("/api/status").await;
    assert_eq!(status, 200);
    let status: shared::protocol::RedisStatus = serde_json::from_str(&body).unwrap();
    status.feeds.get(&Asset::new(asset)).copied()
}

/// Polls the status until `wanted` holds, for at most 30 s.
async fn until(server: &Running, asset: &str, wanted: impl Fn(&FeedHealth) -> bool) -> FeedHealth {
    let started = Instant::now();
    loop {
        if let Some(f) = feed(server, asset).await
            && wanted(&f)
        {
            return f;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            feed(server, asset).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_silent_feed_turns_stale_and_two_ticks_bring_it_back() {
    let dist = tempfile::tempdir().unwrap();
    // In-process journal; stale after 2 s of silence at the least.
    let server = common::start(
        dist.path(),
        &["--redis-url", "none", "--feed-stale-floor", "2"],
    )
    .await;
    let t = now_ms() - 1_000;
    let ticks: Vec<(String, i64)> = (0..5).map(|i| ("1.1".to_owned(), t + i * 100)).collect();
    let ticks: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    server.ingest(&common::ticks_json("FeedA", &ticks)).await;

    let live = until(&server, "FeedA", |f| f.last_tick_ms == t + 400).await;
    assert_eq!(live.usual_interval_ms, Some(100));

    // Silence: stale after the floor.
    let stale = until(&server, "FeedA", |f| f.stale).await;
    assert_eq!(stale.last_tick_ms, t + 400);
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("tickstream_feed_stale{asset=\"FeedA\"} 1"),
        "{metrics}"
    );
    // The WebSocket status carries it too.
    let mut client = Client::connect(&server.ws).await;
    client.send(&ClientMessage::GetRedisStatus).await;
    let status = client
        .until(|m| match m {
            ServerMessage::RedisStatus(s) => Some(s),
            _ => None,
        })
        .await;
    assert!(status.feeds[&Asset::new("FeedA")].stale);

    // One tick does not clear it; ticks that keep coming do.
    let t2 = now_ms();
    server
        .ingest(&common::ticks_json("FeedA", &[("1.2", t2)]))
        .await;
    let one = until(&server, "FeedA", |f| f.last_tick_ms == t2).await;
    assert!(one.stale, "one stray tick cleared the flag");
    let mut next = t2;
    let back = loop {
        next += 100;
        server
            .ingest(&common::ticks_json("FeedA", &[("1.3", next)]))
            .await;
        let f = until(&server, "FeedA", |f| f.last_tick_ms == next).await;
        if !f.stale {
            break f;
        }
        assert!(
            next - t2 < 3_000,
            "ticks every 100 ms never cleared the flag"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(back.usual_interval_ms.map(|u| u > 100), Some(true));
    server.stop().await;
}
