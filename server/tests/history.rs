//! Candle history against the real Redis and PostgreSQL: the cache first,
//! then the database (which fills the cache), else a miss; candles from the
//! database equal the live aggregator's; the privileged cache events.

mod common;

use std::time::{Duration, Instant};

use common::{Client, cleanup, drop_database, fresh_database, ticks_json, unique_prefix};
use shared::protocol::{CacheRequest, ForSeries, HistorySource};
use shared::{Asset, Candle, CandleState, ClientMessage, Price, ServerMessage, Timeframe};

/// The status and the body, as JSON (with the raw text kept for prices).
async fn candles(base: &str, query: &str) -> (u16, Answer) {
    let r = reqwest::get(format!("{base}/api/candles?{query}"))
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        Answer {
            json: serde_json::from_str(&text).unwrap(),
            text,
        },
    )
}

struct Answer {
    json: serde_json::Value,
    text: String,
}

impl std::ops::Index<&str> for Answer {
    type Output = serde_json::Value;
    fn index(&self, key: &str) -> &serde_json::Value {
        &self.json[key]
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The candles of an answer, parsed from its text: exact prices never pass
/// through a `serde_json::Value`, whose numbers are floats.
fn parse(answer: &Answer) -> Vec<Candle> {
    #[derive(serde::Deserialize)]
    struct Body {
        candles: Vec<Candle>,
    }
    serde_json::from_str::<Body>(&answer.text).unwrap().candles
}

#[tokio::test]
async fn history_comes_from_the_cache_then_postgresql_and_matches_the_live_candles() {
    let (db_url, db) = fresh_database("history").await;
    history_from(&db_url).await;
    drop_database(&db).await;
}

#[tokio::test]
async fn history_comes_from_the_cache_then_the_embedded_store_and_matches_the_live_candles() {
    let dir = tempfile::tempdir().unwrap();
    history_from(&format!("sqlite:{}", dir.path().join("ticks.db").display())).await;
}

/// The history scenario with the tick store at `db_url`.
async fn history_from(db_url: &str) {
    let prefix = unique_prefix("history");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, db_url, &[]).await;
    // Ten minutes of ticks, 7 s apart, in the past: every bucket is closed.
    let t0 = 1_705_314_600_000;
    let ticks: Vec<(String, i64)> = (0..86)
        .map(|i| (format!("1.{:04}", 2000 + (i * 37) % 500), t0 + i * 7_000))
        .collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    server.ingest(&ticks_json("HIST", &refs)).await;

    // Wait until the persister has stored them all.
    let started = Instant::now();
    loop {
        let s: serde_json::Value = reqwest::get(format!("{}/api/status", server.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["batch_status"]["rows_written"] == 86 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What the live aggregator built.
    let mut client = Client::connect(&server.ws).await;
    client.subscribe("HIST", Some(Timeframe::M1)).await;
    let live = client
        .until(|m| match m {
            ServerMessage::CandleSnapshot(s) => Some(s.data),
            _ => None,
        })
        .await;
    assert_eq!(live.len(), 10);

    // Closing candles filled the cache.
    let (status, cached) = candles(&server.base, "asset=HIST&timeframe=1M").await;
    assert_eq!(status, 200);
    assert_eq!(cached["source"], "redis_cache");
    assert_eq!(parse(&cached), live);

    // Without the cache: computed from the stored ticks, equal to the live
    // candles, and the cache is filled again.
    let mut redis = common::redis().await;
    let () = redis::cmd("DEL")
        .arg(format!("{prefix}historical:HIST:1M"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let (_, computed) = candles(&server.base, "asset=HIST&timeframe=1M").await;
    assert_eq!(computed["source"], "database");
    let from_db = parse(&computed);
    assert_eq!(from_db.len(), live.len());
    for (d, l) in from_db.iter().zip(&live) {
        assert!(d.same_data(l), "{d:?} != {l:?}");
    }
    assert_eq!(
        candles(&server.base, "asset=HIST&timeframe=1M").await.1["source"],
        "redis_cache"
    );
    // A range and a limit, and a wider timeframe from the database.
    let (_, range) = candles(
        &server.base,
        &format!(
            "asset=HIST&timeframe=1m&from={}&to={}&limit=3",
            t0 / 1000 + 120,
            t0 / 1000 + 480
        ),
    )
    .await;
    assert_eq!(range["source"], "database");
    let ranged = parse(&range);
    assert_eq!(
        ranged.iter().map(Candle::open_time).collect::<Vec<_>>(),
        [t0 / 1000 + 360, t0 / 1000 + 420, t0 / 1000 + 480]
    );
    let () = redis::cmd("DEL")
        .arg(format!("{prefix}historical:HIST:5M"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let (_, five) = candles(&server.base, "asset=HIST&timeframe=5M").await;
    assert_eq!(parse(&five).iter().map(Candle::volume).sum::<u64>(), 86);

    // Open-ended ranges, and ends far outside the years a tick may have.
    for query in [
        format!("asset=HIST&timeframe=1M&to={}", t0 / 1000 + 480),
        format!("asset=HIST&timeframe=1M&from={}", t0 / 1000 + 120),
        "asset=HIST&timeframe=1M&from=-9000000000000000000&to=9000000000000000000".to_owned(),
    ] {
        let (status, body) = candles(&server.base, &query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["source"], "database", "{query}: {body}");
    }

    // Nothing anywhere: a miss, with null data on the socket.
    assert_eq!(
        candles(&server.base, "asset=NOPE&timeframe=1M").await.1["source"],
        "cache_miss"
    );
    client
        .send(&ClientMessage::GetCachedHistoricalData(ForSeries {
            asset: Asset::new("NOPE"),
            timeframe: Timeframe::M1,
        }))
        .await;
    let miss = client
        .until(|m| match m {
            ServerMessage::CachedHistoricalData(h) => Some(h),
            _ => None,
        })
        .await;
    assert_eq!((miss.source, miss.data), (HistorySource::CacheMiss, None));

    for (query, needle) in [
        ("asset=BAD%20NAME", "asset"),
        ("asset=A&timeframe=1441M", "timeframe"),
        ("asset=A&limit=0", "limit"),
        ("asset=A&from=10&to=5", "from"),
        ("timeframe=1M", "asset"),
    ] {
        let (status, body) = candles(&server.base, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.text.contains(needle), "{query}: {body}");
    }
    server.stop().await;
    cleanup(&prefix).await;
}

fn candle(asset: &str, t: i64, o: &str, h: &str, l: &str, c: &str) -> Candle {
    let p = Price::new;
    Candle::new_checked(
        Asset::new(asset),
        Timeframe::M1,
        t,
        p(o),
        p(h),
        p(l),
        p(c),
        5,
        CandleState::Closed,
    )
    .unwrap()
}

#[tokio::test]
async fn only_the_admin_writes_the_cache_and_bad_candles_change_nothing() {
    let prefix = unique_prefix("admin");
    let dist = tempfile::tempdir().unwrap();
    let server =
        common::start_on_redis(dist.path(), &prefix, &["--admin-token", common::ADMIN]).await;
    let good = vec![
        candle("ADM", 1_705_314_600, "1.1", "1.3", "1.0", "1.2"),
        candle("ADM", 1_705_314_660, "1.2", "1.2", "1.1", "1.15"),
    ];
    let request = ClientMessage::CacheHistoricalData(CacheRequest {
        asset: Asset::new("ADM"),
        timeframe: Timeframe::M1,
        data: good.clone(),
    });

    let mut anyone = Client::connect(&server.ws).await;
    anyone.send(&request).await;
    match anyone.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("admin token"), "{}", e.message),
        other => panic!("{other:?}"),
    }
    let wrong = tokio_tungstenite::connect_async(format!("{}?token=guess", server.ws)).await;
    assert!(wrong.is_err(), "a wrong token is refused at the upgrade");

    let mut admin = Client::connect(&format!("{}?token={}", server.ws, common::ADMIN)).await;
    admin.send(&request).await;
    match admin.recv().await {
        ServerMessage::HistoricalDataCached(c) => assert_eq!(c.count, 2),
        other => panic!("{other:?}"),
    }
    let (_, cached) = candles(&server.base, "asset=ADM&timeframe=1M").await;
    assert_eq!(cached["source"], "redis_cache");
    assert_eq!(parse(&cached), good);

    // Another asset's candle, high below low, malformed: refused, cache as it was.
    let other = ClientMessage::CacheHistoricalData(CacheRequest {
        asset: Asset::new("ADM"),
        timeframe: Timeframe::M1,
        data: vec![
            candle("ADM", 1_705_314_720, "1", "1", "1", "1"),
            candle("OTHER", 1_705_314_780, "1", "1", "1", "1"),
        ],
    });
    admin.send(&other).await;
    let inverted = r#"{"event":"cache_historical_data","data":{"asset":"ADM","timeframe":"1M","data":[{"asset":"ADM","timeframe":"1M","timestamp":1705314720,"open":1,"high":1,"low":2,"close":1,"volume":1}]}}"#;
    admin.send_text(inverted).await;
    admin
        .send_text(
            r#"{"event":"cache_historical_data","data":{"asset":"ADM","data":[{"open":"x"}]}}"#,
        )
        .await;
    for needle in ["candle 1 is for OTHER", "inconsistent", "invalid data"] {
        match admin.recv().await {
            ServerMessage::Error(e) => {
                assert!(e.message.contains(needle), "{needle}: {}", e.message)
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        parse(&candles(&server.base, "asset=ADM&timeframe=1M").await.1),
        good,
        "unchanged"
    );

    admin
        .send(&ClientMessage::ClearCachedHistoricalData(ForSeries {
            asset: Asset::new("ADM"),
            timeframe: Timeframe::M1,
        }))
        .await;
    assert!(matches!(
        admin.recv().await,
        ServerMessage::HistoricalDataCacheCleared(_)
    ));
    assert_eq!(
        candles(&server.base, "asset=ADM&timeframe=1M").await.1["source"],
        "cache_miss"
    );
    server.stop().await;
    cleanup(&prefix).await;
}
