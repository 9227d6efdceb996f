//! `DAY_START` against the real Redis and PostgreSQL: with `17:00
//! America/New_York`, daily and weekly candles open at the session opens
//! across the 2026-03-08 US daylight-saving change (worked by hand: 17:00
//! EST is 22:00 UTC, 17:00 EDT 21:00 UTC) and agree in the live stream, the
//! cache and the database; a `1D` cached under another `DAY_START` is
//! dropped, not served; a wrong `DAY_START` stops start-up with its grammar.

mod common;

use std::time::{Duration, Instant};

use common::{Client, cleanup, drop_database, fresh_database, ticks_json, unique_prefix};
use server::config::ServeConfig;
use shared::{Candle, Timeframe};

/// Thursday 2026-03-05T00:00:00Z.
const T0: i64 = 1_772_668_800_000;
/// A tick every 20 minutes for six and a half days, to Wednesday noon.
const GAP: i64 = 20 * 60_000;
const N: i64 = 6 * 72 + 36;
const NY: &str = "17:00 America/New_York";
const HOUR: i64 = 3600;

/// Session opens, Unix seconds: Wednesday 4 March to Tuesday 10 March.
/// 2026-03-04T22:00Z = 1,772,661,600; before the change a session is 24 h,
/// the one opening Saturday 7 March (22:00Z) 23 h, then 24 h from 21:00Z.
fn session_opens() -> Vec<i64> {
    let wed = 1_772_661_600;
    let sat = wed + 3 * 86_400;
    let sun = sat + 23 * HOUR;
    vec![
        wed,
        wed + 86_400,
        wed + 2 * 86_400,
        sat,
        sun,
        sun + 86_400,
        sun + 2 * 86_400,
    ]
}

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

fn ticks() -> String {
    let ticks: Vec<(String, i64)> = (0..N)
        .map(|i| (format!("1.{:04}", 1000 + (i * 53) % 900), T0 + i * GAP))
        .collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    ticks_json("SESS", &refs)
}

async fn stored(base: &str, n: i64) {
    let started = Instant::now();
    while common::status(base).await["batch_status"]["rows_written"] != n {
        assert!(started.elapsed() < Duration::from_secs(20), "not stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn same(a: &[Candle], b: &[Candle]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_data(y))
}

#[test]
fn a_wrong_day_start_names_its_grammar() {
    let c = ServeConfig::parse_from(["--database-url", "none"]).unwrap();
    assert_eq!(c.day_start.to_string(), "00:00 UTC");
    let c = ServeConfig::parse_from(["--day-start", NY]).unwrap();
    assert_eq!(c.day_start.to_string(), NY);
    for bad in ["17:00", "17:00 Nowhere/Land", "7pm America/New_York"] {
        let err = ServeConfig::parse_from(["--day-start", bad])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(r#"DAY_START must look like "17:00 America/New_York""#),
            "{bad}: {err}"
        );
    }
}

#[tokio::test]
async fn sessions_agree_live_cached_and_stored_across_the_march_change() {
    let (db_url, db) = fresh_database("day_start").await;
    let prefix = unique_prefix("day_start");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &db_url, &["--day-start", NY]).await;
    server.ingest(&ticks()).await;
    stored(&server.base, N).await;

    let mut client = Client::connect(&server.ws).await;
    client.subscribe("SESS", Some(Timeframe::D1)).await;
    let live = client.snapshot().await.data;
    let opens: Vec<i64> = live.iter().map(Candle::open_time).collect();
    // Thursday 00:00Z lies in the session opening Wednesday 22:00Z.
    assert_eq!(opens, session_opens()[..7]);
    assert_eq!(live.iter().map(Candle::volume).sum::<u64>(), N as u64);

    // The cache, filled from the live candles as they closed.
    let started = Instant::now();
    let cached = loop {
        let (source, candles) = api(&server.base, "asset=SESS&timeframe=1D").await;
        if source == "redis_cache" && candles.len() == live.len() {
            break candles;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{source}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(same(&cached, &live), "cache {cached:?}\nlive {live:?}");

    // The database, rolled up from 15M candles.
    let mut redis = common::redis().await;
    let () = redis::cmd("DEL")
        .arg(format!("{prefix}historical:SESS:1D"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let (source, from_db) = api(&server.base, "asset=SESS&timeframe=1D").await;
    assert_eq!(source, "database");
    assert!(same(&from_db, &live), "db {from_db:?}\nlive {live:?}");

    // Weeks open on Sunday at 17:00 New York: 1 March (EST, 22:00Z) and
    // 8 March (EDT, 21:00Z), live and stored alike.
    let week_opens = [1_772_402_400, session_opens()[4]];
    let (_, weeks) = api(&server.base, "asset=SESS&timeframe=1W").await;
    assert_eq!(
        weeks.iter().map(Candle::open_time).collect::<Vec<_>>(),
        week_opens
    );
    let mut weekly = Client::connect(&server.ws).await;
    weekly.subscribe("SESS", Some(Timeframe::W1)).await;
    let live_weeks = weekly.snapshot().await.data;
    assert!(same(&live_weeks, &weeks[1..]), "{live_weeks:?} {weeks:?}");
    // The database read filled the cache again.
    let (source, _) = api(&server.base, "asset=SESS&timeframe=1D").await;
    assert_eq!(source, "redis_cache");
    server.stop().await;

    // Back to midnight UTC on the same Redis: the session-aligned 1D cached
    // above is dropped, and days are UTC days again.
    let utc = common::start_with_db(dist.path(), &prefix, &db_url, &[]).await;
    // Start-up records the DAY_START in use (and drops first).
    let started = Instant::now();
    loop {
        let recorded: Option<String> = redis::cmd("GET")
            .arg(format!("{prefix}day_start"))
            .query_async(&mut redis)
            .await
            .unwrap();
        if recorded.as_deref() == Some("00:00 UTC") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{recorded:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The store answers, or the cache this process filled since it started
    // (its own UTC days): never the sessions cached above.
    let (source, days) = api(&utc.base, "asset=SESS&timeframe=1D").await;
    assert!(source == "database" || source == "redis_cache", "{source}");
    assert_eq!(days[0].open_time(), T0 / 1000);
    assert!(
        days.iter().all(|c| c.open_time() % 86_400 == 0),
        "a cached 1D of another DAY_START was served ({source}): {days:?}"
    );
    assert_eq!(days.iter().map(Candle::volume).sum::<u64>(), N as u64);
    utc.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
}
