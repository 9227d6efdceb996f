//! Timeframes beyond the seven built from ticks, against the real Redis and
//! PostgreSQL: a live `/ws` subscription to `90M` and to `1W` gets the
//! candles `GET /api/candles` answers for the same timeframe, before and
//! after more ticks arrive, both rolled up from the base timeframe.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Client, cleanup, drop_database, fresh_database, ticks_json, unique_prefix};
use shared::indicators::compute;
use shared::{Candle, ServerMessage, Study, Timeframe};

/// Thursday 2024-01-11T00:00:00Z.
const T0: i64 = 1_704_931_200_000;
/// Gap between ticks: 47 minutes, so 90M and weekly buckets hold a few.
const GAP: i64 = 47 * 60_000;

async fn api(base: &str, query: &str) -> (String, Vec<Candle>) {
    #[derive(serde::Deserialize)]
    struct Body {
        source: String,
        candles: Vec<Candle>,
    }
    let text = reqwest::get(format!("{base}/api/candles?{query}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body: Body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (body.source, body.candles)
}

fn price(i: i64) -> String {
    format!("1.{:04}", 2000 + (i * 37) % 500)
}

/// Every live candle equals the API's candle of its open time.
fn agree(tf: Timeframe, live: &[Candle], api: &[Candle]) {
    let by_time: BTreeMap<i64, &Candle> = api.iter().map(|c| (c.open_time(), c)).collect();
    assert!(!live.is_empty(), "{tf}: no live candles");
    for l in live {
        assert_eq!(l.timeframe(), tf);
        let a = by_time
            .get(&l.open_time())
            .unwrap_or_else(|| panic!("{tf}: {l:?} not in the API's answer"));
        assert!(l.same_data(a), "{tf}: live {l:?} != api {a:?}");
    }
}

#[tokio::test]
async fn live_90m_and_1w_equal_the_history_answer() {
    let (db_url, db) = fresh_database("intervals").await;
    let prefix = unique_prefix("intervals");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;
    // Sixteen days of ticks from a Thursday: three weeks (from Monday) are
    // touched, the first and last in part.
    let n = 16 * 1440 * 60_000 / GAP;
    let ticks: Vec<(String, i64)> = (0..n).map(|i| (price(i), T0 + i * GAP)).collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    server.ingest(&ticks_json("IVAL", &refs)).await;
    let started = Instant::now();
    while common::status(&server.base).await["batch_status"]["rows_written"] != n {
        assert!(started.elapsed() < Duration::from_secs(20), "not stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let ninety: Timeframe = "90m".parse().unwrap();
    let mut clients = Vec::new();
    for tf in [ninety, Timeframe::W1] {
        let mut client = Client::connect(&server.ws).await;
        client.subscribe("IVAL", Some(tf)).await;
        let snapshot = client.snapshot().await;
        assert_eq!(snapshot.timeframe, tf);
        let (source, history) = api(
            &server.base,
            &format!("asset=IVAL&timeframe={tf}&limit=5000"),
        )
        .await;
        assert_eq!(source, "database");
        agree(tf, &snapshot.data, &history);
        // Indicators over the same candles, computed by `shared` as the
        // page computes them.
        let text = reqwest::get(format!(
            "{}/api/indicators?asset=IVAL&timeframe={tf}&name=sma&period=2",
            server.base
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        let study: Study = "sma:2".parse().unwrap();
        let want = serde_json::to_value(compute(study, &history)).unwrap();
        assert_eq!(body["timeframe"], tf.to_string());
        // The newest `limit` (200 by default) points.
        let (got, want) = (body["points"].as_array().unwrap(), want.as_array().unwrap());
        assert!(!got.is_empty() && got.len() <= want.len(), "{tf}");
        assert!(
            got[..] == want[want.len() - got.len()..],
            "{tf}: indicator points differ"
        );
        // The history covers every tick, in whole buckets of `tf`.
        assert_eq!(history.iter().map(Candle::volume).sum::<u64>(), n as u64);
        for c in &history {
            assert_eq!(tf.bucket_start(c.open_time()), c.open_time());
        }
        clients.push((tf, client));
    }
    // Weeks open on Monday: 2024-01-08 (from Thursday on), 01-15, 01-22.
    let (_, weeks) = api(&server.base, "asset=IVAL&timeframe=1W").await;
    let mondays: Vec<i64> = weeks.iter().map(Candle::open_time).collect();
    assert_eq!(mondays, [1_704_672_000, 1_705_276_800, 1_705_881_600]);

    // More ticks: the derived live candles follow and still agree.
    let more: Vec<(String, i64)> = (n..n + 5).map(|i| (price(i * 3), T0 + i * GAP)).collect();
    let refs: Vec<(&str, i64)> = more.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    server.ingest(&ticks_json("IVAL", &refs)).await;
    let newest = T0 / 1000 + (n + 4) * GAP / 1000;
    for (tf, client) in &mut clients {
        let bucket = tf.bucket_start(newest);
        let last = client
            .until(|m| match m {
                ServerMessage::RedisUpdate(u)
                    if u.data.open_time() == bucket
                        && u.data.close().to_string() == price((n + 4) * 3) =>
                {
                    Some(u.data)
                }
                _ => None,
            })
            .await;
        let (_, history) = api(&server.base, &format!("asset=IVAL&timeframe={tf}")).await;
        agree(*tf, &[last], &history);
    }
    // Derived series live only while followed: the two go with their
    // sessions.
    let held = server.metric("tickstream_live_series").await;
    drop(clients);
    let started = Instant::now();
    while server.metric("tickstream_live_series").await != held - 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "derived series stay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
}

/// One socket follows `1M` and the derived `90M` of one asset: each gets its
/// own snapshot and live updates; ending the `90M` subscription alone stops
/// its updates and its derived series, and `1M` goes on.
#[tokio::test]
async fn one_socket_follows_two_timeframes_of_an_asset_and_ends_one() {
    // With a store, a derived series starts from the stored window, so the
    // current 90M bucket is whole from the first tick.
    let (db_url, db) = fresh_database("twotf").await;
    let prefix = unique_prefix("twotf");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;
    let ninety: Timeframe = "90M".parse().unwrap();
    let now = common::future_minute();
    server
        .ingest(&ticks_json("TWOTF", &[("1.5001", now)]))
        .await;
    let held = server.metric("tickstream_live_series").await;

    let mut client = Client::connect(&server.ws).await;
    for tf in [Timeframe::M1, ninety] {
        client.subscribe("TWOTF", Some(tf)).await;
        let snapshot = client.snapshot().await;
        assert_eq!(snapshot.timeframe, tf);
        assert_eq!(snapshot.data.last().map(Candle::timeframe), Some(tf));
    }
    assert_eq!(
        server.metric("tickstream_live_series").await,
        held + 1,
        "90M is derived"
    );
    server
        .ingest(&ticks_json("TWOTF", &[("1.6001", now + 1)]))
        .await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let u = client
            .until(|m| match m {
                ServerMessage::RedisUpdate(u) => Some(u.data),
                _ => None,
            })
            .await;
        assert_eq!(u.close().to_string(), "1.6001");
        assert!(!seen.contains(&u.timeframe()), "{u:?} twice");
        seen.push(u.timeframe());
    }
    seen.sort();
    assert_eq!(seen, [Timeframe::M1, ninety]);

    client
        .send(&shared::ClientMessage::UnsubscribeRedisUpdates(
            shared::Unsubscribe {
                asset: shared::Asset::new("TWOTF"),
                timeframe: Some(ninety),
            },
        ))
        .await;
    let ended = client
        .until(|m| match m {
            ServerMessage::RedisUnsubscribed(u) => Some(u),
            _ => None,
        })
        .await;
    assert_eq!(ended.timeframe, Some(ninety));
    assert_eq!(
        server.metric("tickstream_live_series").await,
        held,
        "90M dropped"
    );
    server
        .ingest(&ticks_json("TWOTF", &[("1.7001", now + 2)]))
        .await;
    let mut updates = Vec::new();
    while let Some(m) = client.try_recv(Duration::from_millis(500)).await {
        if let ServerMessage::RedisUpdate(u) = m {
            updates.push(u.data);
        }
    }
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].timeframe(), Timeframe::M1);
    assert_eq!(updates[0].close().to_string(), "1.7001");
    server.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
}
