//! The page's figures for BENCHMARKS.md, run by hand (they take minutes):
//!
//! ```sh
//! cargo test -p e2e --test page_figures -- --ignored --nocapture --test-threads 1
//! ```
//!
//! - first chart paint with 1000 cached candles, after page load on loopback,
//!   with where the time went in each load (`PAINT_BREAKDOWN=1` also marks
//!   the socket's open and the snapshot's arrival, through a copy of the
//!   page with one inline script watching `WebSocket`);
//! - JS heap over ten minutes at 100 updates a second (`HEAP_MINUTES` to
//!   change the length).

use std::time::{Duration, Instant};

use anyhow::bail;
use e2e::browser::wait_for;
use e2e::server::unique;
use e2e::{Browser, Server, paths, seed};
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
    let watched = std::env::var_os("PAINT_BREAKDOWN").is_some();
    let copy = tempfile::tempdir()?;
    let dist = if watched {
        watched_page(copy.path())?
    } else {
        paths::dist()
    };
    let dist = dist.to_string_lossy().into_owned();
    let server = Server::start(&[
        ("REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("REDIS_KEY_PREFIX", &prefix),
        ("REDIS_HISTORICAL_CACHE_SIZE", "1000"),
        ("INGEST_TOKEN", "figures-ingest-token"),
        ("DIST_DIR", &dist),
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
        println!("  {}", breakdown(c).await?);
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

/// When each part of the load ended (ms from navigation start), and the
/// bytes that came over the wire (0 for what the browser's cache answered).
async fn breakdown(c: &fantoccini::Client) -> anyhow::Result<String> {
    let v = c
        .execute(
            "const n = performance.getEntriesByType('navigation')[0]; \
             const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? -1; \
             const files = performance.getEntriesByType('resource').map(e => \
               [e.name.split('/').pop().replace(/-[0-9a-f]{16}/, ''), e.responseEnd, e.transferSize, e.encodedBodySize]); \
             return { html: [n.responseEnd, n.transferSize, n.encodedBodySize], dom: n.domContentLoadedEventEnd, \
               files, app: at('app-start'), socket: at('socket-open'), subscribed: at('subscribe-sent'), \
               snapshot: at('snapshot-received'), paint: at('chart-first-paint'), \
               long: (window.longTasks ?? []).map(([s, d]) => `${s.toFixed(0)}+${d.toFixed(0)}`).join(' ') }",
            vec![],
        )
        .await?;
    let f = |v: &Value| v.as_f64().unwrap_or(-1.0);
    let mut line = format!(
        "html {:.1} ({}/{} B)",
        f(&v["html"][0]),
        v["html"][1],
        v["html"][2]
    );
    let mut wire = v["html"][1].as_u64().unwrap_or(0);
    for file in v["files"].as_array().into_iter().flatten() {
        wire += file[2].as_u64().unwrap_or(0);
        line.push_str(&format!(
            ", {} {:.1} ({}/{} B)",
            file[0].as_str().unwrap_or("?"),
            f(&file[1]),
            file[2],
            file[3]
        ));
    }
    line.push_str(&format!(
        ", DOMContentLoaded {:.1}, app-start {:.1}",
        f(&v["dom"]),
        f(&v["app"])
    ));
    if f(&v["socket"]) >= 0.0 {
        line.push_str(&format!(
            ", socket open {:.1}, subscribe sent {:.1}, snapshot in {:.1}, main thread busy (long tasks, start+ms) {}",
            f(&v["socket"]),
            f(&v["subscribed"]),
            f(&v["snapshot"]),
            v["long"].as_str().unwrap_or("")
        ));
    }
    line.push_str(&format!(
        ", painted {:.1}; {wire} B over the wire (transfer sizes, encoded/decoded in brackets: over the wire/body as sent)",
        f(&v["paint"])
    ));
    Ok(line)
}

/// A copy of the built page in `root` whose `index.html` marks
/// `socket-open`, `subscribe-sent` and `snapshot-received` (the first frame
/// over 10 kB) on the page's first WebSocket and keeps the long tasks (main
/// thread busy 50 ms or more); its compressed copies are left out so the
/// marked page is the one served.
fn watched_page(root: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    const WATCH: &str = "<script>(() => { window.longTasks = []; \
        new PerformanceObserver((l) => window.longTasks.push(...l.getEntries().map(e => [e.startTime, e.duration]))) \
          .observe({ type: 'longtask' }); \
        const Plain = window.WebSocket; let first = true; \
        window.WebSocket = class extends Plain { constructor(...a) { super(...a); if (!first) return; first = false; \
        this.watched = true; \
        this.addEventListener('open', () => performance.mark('socket-open'), { once: true }); \
        const big = (e) => { if (typeof e.data === 'string' && e.data.length > 10000) { \
          performance.mark('snapshot-received'); this.removeEventListener('message', big); } }; \
        this.addEventListener('message', big); } \
        send(data) { if (this.watched && String(data).includes('subscribe') && !this.subscribed) { \
          this.subscribed = true; performance.mark('subscribe-sent'); } super.send(data); } }; })();</script>";
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist)?;
    for entry in std::fs::read_dir(paths::dist())? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with("index.html") || !path.is_file() {
            continue;
        }
        std::fs::copy(&path, dist.join(&name))?;
    }
    let page = std::fs::read_to_string(paths::dist().join("index.html"))?;
    let Some(head) = page.find("<head>") else {
        bail!("index.html has no <head>");
    };
    let at = head + "<head>".len();
    std::fs::write(
        dist.join("index.html"),
        format!("{}{WATCH}{}", &page[..at], &page[at..]),
    )?;
    Ok(dist)
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
