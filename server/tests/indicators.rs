//! `GET /api/indicators` against the real server: the values equal
//! `shared`'s own computation over the same stored candles, whatever the
//! window asked for; a case worked by hand; and every refusal names its
//! parameter.

mod common;

use std::time::{Duration, Instant};

use common::{cleanup, ticks_json, unique_prefix};
use shared::Candle;
use shared::indicators::{Study, compute};

/// The status and the body of `GET /api/indicators?{query}`.
async fn get(base: &str, query: &str) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{base}/api/indicators?{query}"))
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap(),
    )
}

/// Every candle of a series as `/api/candles` reads it from the database.
async fn stored(base: &str, asset: &str, timeframe: &str) -> Vec<Candle> {
    #[derive(serde::Deserialize)]
    struct Body {
        source: String,
        candles: Vec<Candle>,
    }
    let text = reqwest::get(format!(
        "{base}/api/candles?asset={asset}&timeframe={timeframe}&from=0&limit=5000"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let body: Body = serde_json::from_str(&text).unwrap();
    assert_eq!(body.source, "database", "{text}");
    body.candles
}

/// Waits until the persister has written `rows` ticks.
async fn persisted(base: &str, rows: u64) {
    let started = Instant::now();
    loop {
        let s = common::status(base).await;
        if s["batch_status"]["rows_written"] == rows {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn studies_over_the_stored_history_equal_shared_and_do_not_depend_on_the_window() {
    let prefix = unique_prefix("indicators");
    let dist = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("ticks.db").display());
    let server = common::start_with_db(dist.path(), &prefix, &db, &[]).await;
    // Two hours of ticks, 30 s apart, in the past.
    let t0 = 1_705_314_600_000;
    let ticks: Vec<(String, i64)> = (0..240)
        .map(|i| (format!("1.{:04}", 2000 + (i * 7919) % 600), t0 + i * 30_000))
        .collect();
    let refs: Vec<(&str, i64)> = ticks.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    server.ingest(&ticks_json("INDX", &refs)).await;
    persisted(&server.base, 240).await;

    for timeframe in ["1M", "5M"] {
        let candles = stored(&server.base, "INDX", timeframe).await;
        for (query, study) in [
            ("name=sma&period=20", "sma:20"),
            ("name=ema&period=10", "ema:10"),
            ("name=rsi&period=14", "rsi:14"),
            ("name=bb&period=20&mult=2", "bb:20:2"),
            ("name=macd", "macd:12:26:9"),
        ] {
            let study: Study = study.parse().unwrap();
            let want = serde_json::to_value(compute(study, &candles)).unwrap();
            let (status, body) = get(
                &server.base,
                &format!("asset=INDX&timeframe={timeframe}&{query}"),
            )
            .await;
            assert_eq!(status, 200, "{query}: {body}");
            assert_eq!(body["asset"], "INDX");
            assert_eq!(body["timeframe"], timeframe);
            assert_eq!(body["name"], study.name());
            assert_eq!(body["study"], study.to_string());
            assert!(!want.as_array().unwrap().is_empty(), "{study}");
            assert_eq!(body["points"], want, "{timeframe} {study}");
        }
    }

    // A window cuts the points computed over everything: the EMA at a
    // minute is the same however little is asked for.
    let (_, all) = get(&server.base, "asset=INDX&name=ema&period=10").await;
    let all = all["points"].as_array().unwrap().clone();
    assert_eq!(all.len(), 120);
    let (from, to) = (t0 / 1000 + 600, t0 / 1000 + 900);
    let (_, window) = get(
        &server.base,
        &format!("asset=INDX&name=ema&period=10&from={from}&to={to}"),
    )
    .await;
    assert_eq!(window["points"].as_array().unwrap(), &all[10..=15]);
    let (_, newest) = get(&server.base, "asset=INDX&name=ema&period=10&limit=3").await;
    assert_eq!(newest["points"].as_array().unwrap(), &all[117..]);
    let (_, none) = get(&server.base, "asset=NONE&name=sma&period=2").await;
    assert_eq!(none["points"], serde_json::json!([]));

    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_case_worked_by_hand_and_the_refusals() {
    let prefix = unique_prefix("indicators_hand");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    // One tick a minute: closes 10, 12, 11, 14, 12 (the last still forming).
    let t0 = 1_705_314_600_000;
    let closes = ["10", "12", "11", "14", "12"];
    let ticks: Vec<(&str, i64)> = closes
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, t0 + 60_000 * i as i64))
        .collect();
    server.ingest(&ticks_json("HAND", &ticks)).await;
    let minute = |i: i64| t0 / 1000 + 60 * i;

    // SMA 2: (10+12)/2, (12+11)/2, (11+14)/2, (14+12)/2.
    let (status, body) = get(&server.base, "asset=HAND&timeframe=1M&name=sma&period=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["points"],
        serde_json::json!([
            {"time": minute(1), "value": 11.0},
            {"time": minute(2), "value": 11.5},
            {"time": minute(3), "value": 12.5},
            {"time": minute(4), "value": 13.0},
        ])
    );
    // RSI 2, changes +2, -1, +3, -2 (worked in shared/src/indicators/rsi.rs):
    // 66.67, 88.89, then 100 - 100 / (1 + 1 / 1.125).
    let (_, body) = get(&server.base, "asset=HAND&name=rsi&period=2").await;
    let points = body["points"].as_array().unwrap();
    let want = [
        200.0 / 3.0,
        800.0 / 9.0,
        100.0 - 100.0 / (1.0 + 1.0 / 1.125),
    ];
    assert_eq!(points.len(), 3, "{body}");
    for ((point, want), i) in points.iter().zip(want).zip(2..) {
        assert_eq!(point["time"], minute(i));
        let got = point["value"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{got} != {want}");
    }
    // With the RSI comes the state to step on from: Wilder's averages
    // after the newest closed candle up to `to` (after +3: up 2, down 0.25).
    let (_, body) = get(
        &server.base,
        &format!("asset=HAND&name=rsi&period=2&to={}", minute(3)),
    )
    .await;
    assert_eq!(
        body["state"],
        serde_json::json!({"time": minute(3), "up": 2.0, "down": 0.25}),
        "{body}"
    );
    let (_, body) = get(&server.base, "asset=HAND&name=sma&period=2").await;
    assert!(body.get("state").is_none(), "{body}");
    // MACD 1/3/3 (alphas 1, 0.5, 0.5): fast 10, 12, 11; slow 10, 11, 11;
    // macd 0, 1, 0; signal 0, 0.5, 0.25.
    let (_, body) = get(
        &server.base,
        "asset=HAND&name=macd&fast=1&slow=3&signal=3&limit=5",
    )
    .await;
    assert_eq!(
        body["points"].as_array().unwrap()[..3],
        [
            serde_json::json!({"time": minute(0), "macd": 0.0, "signal": 0.0, "histogram": 0.0}),
            serde_json::json!({"time": minute(1), "macd": 1.0, "signal": 0.5, "histogram": 0.5}),
            serde_json::json!({"time": minute(2), "macd": 0.0, "signal": 0.25, "histogram": -0.25}),
        ]
    );
    // With it, the state a client steps on from: its three averages.
    let (_, body) = get(
        &server.base,
        &format!(
            "asset=HAND&name=macd&fast=1&slow=3&signal=3&to={}",
            minute(2)
        ),
    )
    .await;
    assert_eq!(
        body["state"],
        serde_json::json!({"time": minute(2), "fast": 11.0, "slow": 11.0, "signal": 0.25}),
        "{body}"
    );

    for (query, needle) in [
        ("asset=HAND", "name"),
        ("asset=HAND&name=wma&period=3", "name:"),
        ("asset=HAND&name=sma", "period: missing"),
        ("asset=HAND&name=sma&period=0", "period: must be"),
        ("asset=HAND&name=sma&period=501", "period: must be"),
        ("asset=HAND&name=ema&period=x", "period: must be"),
        ("asset=HAND&name=bb&period=20&mult=0", "mult:"),
        ("asset=HAND&name=bb&period=20&mult=inf", "mult:"),
        (
            "asset=HAND&name=sma&period=20&mult=2",
            "mult: sma does not take it",
        ),
        ("asset=HAND&name=macd&slow=0", "slow:"),
        ("asset=HAND&name=sma&period=2&limit=0", "limit"),
        ("asset=HAND&name=sma&period=2&from=10&to=5", "from"),
        ("asset=HAND&name=sma&period=2&colour=red", "colour"),
        ("asset=BAD%20NAME&name=sma&period=2", "asset"),
        ("asset=HAND&timeframe=25H&name=sma&period=2", "timeframe"),
    ] {
        let (status, body) = get(&server.base, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(needle), "{query}: {error}");
    }
    server.stop().await;
    cleanup(&prefix).await;
}
