//! The page's figures for BENCHMARKS.md, run by hand (they take minutes):
//!
//! ```sh
//! cargo test -p e2e --test page_figures -- --ignored --nocapture --test-threads 1
//! ```
//!
//! - first chart paint with 1000 cached candles, after page load on loopback;
//! - JS heap over ten minutes at 100 updates a second (`HEAP_MINUTES` to
//!   change the length).

use std::time::{Duration, Instant};

use anyhow::bail;
use e2e::browser::wait_for;
use e2e::server::unique;
use e2e::{Browser, Server, seed};
use fantoccini::Locator;
use serde_json::Value;

/// How long the page may take to get somewhere (a bound, not a speed check).
const LIMIT: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
    )
    .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test]
#[ignore = "a figure, run by hand"]
async fn first_chart_paint_with_1000_cached_candles() -> anyhow::Result<()> {
    let prefix = format!("paint{}:", unique());
    let server = Server::start(&[
        ("REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("REDIS_KEY_PREFIX", &prefix),
        ("REDIS_HISTORICAL_CACHE_SIZE", "1000"),
        ("INGEST_TOKEN", "figures-ingest-token"),
    ])?;
    let ticks = seed::ticks_ending_at(
        "EURUSD_otc",
        seed::simulator_start("EURUSD_otc"),
        1_010,
        2,
        now_ms(),
    );
    seed::ingest(&server.url(""), "figures-ingest-token", &ticks).await?;
    // Wait until the cache holds 1000 candles.
    let started = Instant::now();
    loop {
        let answer: Value =
            reqwest::get(server.url("/api/candles?asset=EURUSD_otc&timeframe=1M&limit=1000"))
                .await?
                .json()
                .await?;
        let n = answer["candles"].as_array().map_or(0, Vec::len);
        if answer["source"] == "redis_cache" && n >= 1000 {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the cache holds {n} candles ({})", answer["source"]);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1280, 800).await?;
    let mut total = Vec::new();
    let mut from_start = Vec::new();
    for run in 0..7 {
        c.goto(&server.url(&format!("/?run={run}"))).await?;
        c.wait().for_element(Locator::Css("#chart")).await?;
        let marks = wait_for(
            c,
            "first paint",
            "(() => { const p = performance.getEntriesByName('chart-first-paint')[0]; \
             const a = performance.getEntriesByName('app-start')[0]; \
             const n = document.getElementById('chart').getAttribute('data-first-paint-points'); \
             return p && a ? [p.startTime, a.startTime, Number(n)] : null })()",
            LIMIT,
            |v| !v.is_null(),
        )
        .await?;
        let (paint, app) = (
            marks[0].as_f64().unwrap_or(0.0),
            marks[1].as_f64().unwrap_or(0.0),
        );
        println!(
            "run {run}: first paint {paint:.1} ms after navigation, {:.1} ms after the app started, {} points",
            paint - app,
            marks[2]
        );
        if run > 0 {
            // The first run fills the browser's cache.
            total.push(paint);
            from_start.push(paint - app);
        }
    }
    println!(
        "median of {}: {:.1} ms from navigation start, {:.1} ms from the wasm app's start",
        total.len(),
        median(total),
        median(from_start)
    );
    browser.close().await;
    Ok(())
}

#[tokio::test]
#[ignore = "a figure, run by hand (10 minutes)"]
async fn js_heap_over_ten_minutes_at_100_updates_a_second() -> anyhow::Result<()> {
    let minutes: u64 = std::env::var("HEAP_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    // The page's Start stream simulates the asset (it has no real ticks).
    let server = Server::start(&[("SIMULATOR_RATE", "100"), ("SIMULATOR_ON_DEMAND", "true")])?;
    let browser =
        Browser::start_with_args(&["--enable-precise-memory-info", "--js-flags=--expose-gc"])
            .await?;
    let c = &browser.client;
    c.set_window_size(1280, 800).await?;
    c.goto(&server.url("/")).await?;
    wait_for(
        c,
        "socket open",
        "document.querySelector('#badge-socket .badge-value')?.textContent",
        LIMIT,
        |v| v == "open",
    )
    .await?;
    c.find(Locator::Css("#start-stream")).await?.click().await?;
    wait_for(
        c,
        "feed live",
        "document.querySelector('#badge-feed .badge-value')?.textContent",
        LIMIT,
        |v| v == "live",
    )
    .await?;
    let sample = "(() => { if (window.gc) { window.gc(); } \
                  return [performance.memory.usedJSHeapSize, performance.memory.totalJSHeapSize, \
                  Number(document.getElementById('legend').getAttribute('data-volume'))] })()";
    tokio::time::sleep(Duration::from_secs(30)).await;
    let mut samples = Vec::new();
    for minute in 0..=minutes {
        let v = c.execute(&format!("return {sample}"), vec![]).await?;
        let used = v[0].as_f64().unwrap_or(0.0) / 1e6;
        println!(
            "minute {minute}: used JS heap {used:.2} MB, total {:.2} MB, ticks in the newest candle {}",
            v[1].as_f64().unwrap_or(0.0) / 1e6,
            v[2]
        );
        samples.push(used);
        if minute < minutes {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
    let status: Value = reqwest::get(server.url("/api/status"))
        .await?
        .json()
        .await?;
    println!("server live counters: {}", status["live"]);
    println!(
        "used JS heap: start {:.2} MB, end {:.2} MB, max {:.2} MB",
        samples[0],
        samples[samples.len() - 1],
        samples.iter().copied().fold(0.0, f64::max)
    );
    browser.close().await;
    Ok(())
}
