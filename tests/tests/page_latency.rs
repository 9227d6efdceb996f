//! The live page's figures for BENCHMARKS.md, run by hand (about a minute
//! each run):
//!
//! ```sh
//! cargo test -p e2e --test page_latency -- --ignored --nocapture --test-threads 1
//! ```
//!
//! Four charts, each with three indicators (SMA 20, RSI 14, MACD 12 26 9),
//! fed 100 ticks a second through `POST /api/ticks` (one tick a request,
//! spread over the four assets). Each tick's price is unique, so the page
//! says when it drew it: a `MutationObserver` on the legends' `data-close`
//! notes the price, and the next animation frame (when lightweight-charts
//! paints what it was handed) its time. Tick to drawn is that time less the
//! moment the test sent the tick, both read from the machine's one clock.
//! Frames per second are counted by `requestAnimationFrame` over the feed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use e2e::browser::wait_for;
use e2e::server::unique;
use e2e::{Browser, Server, seed};
use serde_json::json;

/// How long the page may take to get somewhere (a bound, not a speed check).
const LIMIT: Duration = Duration::from_secs(60);
/// The assets charted.
const ASSETS: [&str; 4] = ["LATA", "LATB", "LATC", "LATD"];
/// Ticks a second, over all four.
const RATE: u64 = 100;
/// Seconds fed per run.
const SECONDS: u64 = 20;
const TOKEN: &str = "latency-ingest-token";

/// Wall-clock milliseconds, as the page's `Date.now()` reads them.
fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Notes every legend's close as it changes, with the time of the next
/// animation frame, and counts frames.
const OBSERVE: &str = "
    window.__drawn = [];
    window.__frames = 0;
    const count = () => { window.__frames += 1; requestAnimationFrame(count); };
    requestAnimationFrame(count);
    const seen = new MutationObserver((records) => {
        const closes = records.map((r) => r.target.getAttribute('data-close'));
        requestAnimationFrame(() => {
            const at = Date.now();
            for (const c of closes) { window.__drawn.push([c, at]); }
        });
    });
    for (const legend of document.querySelectorAll('.legend')) {
        seen.observe(legend, { attributes: true, attributeFilter: ['data-close'] });
    }
    return document.querySelectorAll('.legend').length;
";

#[tokio::test]
#[ignore = "a figure, run by hand"]
async fn tick_to_drawn_with_four_charts_and_three_indicators_each() -> anyhow::Result<()> {
    let prefix = format!("latency{}:", unique());
    let server = Server::start(&[
        ("REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("REDIS_KEY_PREFIX", &prefix),
        ("INGEST_TOKEN", TOKEN),
    ])?;
    // An hour of history each, so every indicator has its values.
    for asset in ASSETS {
        let start = seed::simulator_start(asset);
        let ticks = seed::ticks_ending_at(asset, start, 60, 2, wall_ms() as i64 - 2_000);
        seed::ingest(&server.url(""), TOKEN, &ticks).await?;
    }
    let studies = "sma:20,rsi:14,macd:12:26:9";
    let charts: Vec<String> = ASSETS
        .iter()
        .enumerate()
        .map(|(i, a)| format!("c{i}={a},1M,{studies}"))
        .collect();
    let address = format!("/?layout=4&tz=UTC&{}", charts.join("&"));

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1600, 1000).await?;
    c.goto(&server.url(&address)).await?;
    wait_for(
        c,
        "four legends with a close",
        "[...document.querySelectorAll('.legend')].filter((l) => l.getAttribute('data-close')).length",
        LIMIT,
        |v| v.as_u64() == Some(4),
    )
    .await?;
    let legends = c.execute(OBSERVE, vec![]).await?;
    ensure!(legends == json!(4), "{legends} legends");

    let http = reqwest::Client::new();
    // Sent times by tick number; a price is read back as its number.
    let mut sent: HashMap<i64, f64> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let started = Instant::now();
    let frames_before = c.execute("return window.__frames", vec![]).await?;
    for k in 0..RATE * SECONDS {
        ticker.tick().await;
        let asset = ASSETS[usize::try_from(k).unwrap_or(0) % ASSETS.len()];
        // Unique, and far from the seeded prices: 2.00000, 2.00001, ...
        let price = format!("2.{:05}", k);
        let at = wall_ms();
        let body = json!([{ "asset": asset, "price": price, "timestamp": at as i64 }]);
        let answer = http
            .post(server.url("/api/ticks"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await?;
        ensure!(answer.status().is_success(), "ingest refused");
        sent.insert(i64::try_from(k)?, at);
    }
    let fed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let frames_after = c.execute("return window.__frames", vec![]).await?;
    let drawn = c.execute("return window.__drawn", vec![]).await?;

    let mut latencies: Vec<f64> = Vec::new();
    let mut first: HashMap<i64, f64> = HashMap::new();
    for entry in drawn.as_array().into_iter().flatten() {
        let (Some(price), Some(at)) = (entry[0].as_str(), entry[1].as_f64()) else {
            continue;
        };
        let Ok(price) = price.parse::<f64>() else {
            continue;
        };
        #[allow(clippy::cast_possible_truncation)]
        let k = (price * 100_000.0).round() as i64 - 200_000;
        first.entry(k).or_insert(at);
    }
    for (k, at) in &first {
        if let Some(sent_at) = sent.get(k) {
            latencies.push(at - sent_at);
        }
    }
    if latencies.is_empty() {
        bail!("no tick was seen drawn: {drawn}");
    }
    latencies.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let frames = (frames_after.as_f64().unwrap_or(0.0) - frames_before.as_f64().unwrap_or(0.0))
        / (fed + 1.0);
    println!(
        "tick to drawn, 4 charts x 3 indicators, {RATE} ticks/s for {SECONDS} s: \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} of {} ticks seen drawn; {frames:.1} frames/s",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        latencies.len(),
        sent.len(),
    );
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
    e2e::server::forget_keys("redis://127.0.0.1:6379/0", &prefix).await?;
    Ok(())
}
