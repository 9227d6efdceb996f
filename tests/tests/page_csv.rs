//! "Open CSV" as a user does it: the real server serves the release build,
//! headless Chromium renders it, and a file on disk is chosen through the
//! page's real file input (WebDriver sends the path). The file is charted
//! beside the live chart, as `shared` builds its candles; a file with a bad
//! line shows the line and charts nothing.
//!
//! Two ignored tests give BENCHMARKS.md's figures ("CSV on the page"): a
//! million ticks and a million one-minute candles, from the input's
//! `change` to the chart drawn, with the longest main-thread task and the
//! longest gap between animation frames meanwhile:
//!
//! ```sh
//! cargo test -p e2e --test page_csv -- --ignored --nocapture --test-threads 1
//! ```

use std::io::Write;
use std::time::Duration;

use e2e::browser::{number, wait_for};
use e2e::{Browser, Server};
use fantoccini::Locator;
use shared::{Asset, CsvFile, Timeframe};

/// How long the page may take to get somewhere (a bound, not a speed check).
const LIMIT: Duration = Duration::from_secs(30);

/// 2025-11-26T00:00:00Z in milliseconds.
const DAY_MS: i64 = 1_764_115_200_000;

/// `n` EURUSD_otc ticks 700 ms apart, with a header.
fn ticks(n: i64) -> String {
    let mut text = "asset,price,timestamp_ms\n".to_owned();
    for i in 0..n {
        let price = 108_000 + (i * 7919) % 400;
        text.push_str(&format!("EURUSD_otc,1.{price},{}\n", DAY_MS + i * 700));
    }
    text
}

fn chart(attribute: &str) -> String {
    format!("document.getElementById('csv-chart')?.getAttribute('data-{attribute}')")
}

#[tokio::test]
async fn a_csv_chosen_in_the_file_input_is_charted_and_a_bad_line_is_named() -> anyhow::Result<()> {
    let server = Server::start(&[])?;
    let files = tempfile::tempdir()?;
    let good = files.path().join("EURUSD_otc.csv");
    let text = ticks(1000);
    std::fs::write(&good, &text)?;
    let CsvFile::Ticks(file) = CsvFile::parse(text.as_bytes(), Asset::new("X"))? else {
        anyhow::bail!("not read as ticks");
    };
    let expected = file.candles(Timeframe::M1)?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1280, 900).await?;
    c.goto(&server.url("/")).await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#chart canvas"))
        .await?;

    let input = c.find(Locator::Css("#csv-file")).await?;
    input.send_keys(&good.display().to_string()).await?;
    let candles = wait_for(c, "the CSV charted", &chart("candles"), LIMIT, |v| {
        number(v) > 0
    })
    .await?;
    assert_eq!(number(&candles), i64::try_from(expected.len())?);
    let last = c
        .execute(&format!("return {}", chart("last-close")), vec![])
        .await?;
    assert_eq!(
        last.as_str(),
        expected.last().map(|c| c.close().to_string()).as_deref()
    );
    wait_for(c, "the CSV drawn", &chart("points"), LIMIT, |v| {
        number(v) > 0
    })
    .await?;
    let canvases = c
        .execute(
            "return [document.querySelectorAll('#chart canvas').length, document.querySelectorAll('#csv-chart canvas').length]",
            vec![],
        )
        .await?;
    assert!(
        canvases[0].as_u64() > Some(0) && canvases[1].as_u64() > Some(0),
        "both charts drawn: {canvases}"
    );

    let bad = files.path().join("bad.csv");
    std::fs::write(&bad, format!("{}EURUSD_otc,1.1,yesterday\n", ticks(5)))?;
    let input = c.find(Locator::Css("#csv-file")).await?;
    input.send_keys(&bad.display().to_string()).await?;
    let error = wait_for(
        c,
        "the refusal shown",
        "document.getElementById('csv-error')?.textContent",
        LIMIT,
        |v| v.is_string(),
    )
    .await?;
    assert_eq!(
        error.as_str(),
        Some("bad.csv refused: line 7: timestamp \"yesterday\" is not whole milliseconds")
    );
    // The file shown before stays as it was.
    let still = c
        .execute(&format!("return {}", chart("candles")), vec![])
        .await?;
    assert_eq!(number(&still), i64::try_from(expected.len())?);
    assert!(browser.console_errors().await?.is_empty());
    browser.close().await;
    Ok(())
}

/// Watches the page from the input's `change` on: the longest task
/// (`longtask` entries, 50 ms and more), the longest gap between animation
/// frames, and when the CSV chart has points.
const WATCH: &str = "
    window.__csv = { start: 0, done: 0, settled: 0, longest: 0, gap: 0, tasks: [], want: null };
    const begin = want => { window.__csv = { start: performance.now(), done: 0, settled: 0, longest: 0, gap: 0, tasks: [], want }; };
    document.getElementById('csv-file').addEventListener('change', () => begin(null), { capture: true });
    document.getElementById('timeframe').addEventListener('change', e => begin(e.target.value), { capture: true });
    new PerformanceObserver(list => {
        const w = window.__csv;
        for (const e of list.getEntries()) {
            if (w.start && e.startTime + e.duration >= w.start) {
                w.longest = Math.max(w.longest, e.duration);
                w.tasks.push([Math.round(e.startTime - w.start), Math.round(e.duration)]);
            }
        }
    }).observe({ type: 'longtask' });
    let last = performance.now();
    const frame = t => {
        const w = window.__csv;
        if (w.start && !w.settled) { w.gap = Math.max(w.gap, t - Math.max(last, w.start)); }
        last = t;
        const chart = document.getElementById('csv-chart');
        const points = chart?.getAttribute('data-points');
        const drawn = points && points !== '0' && (!w.want || chart.getAttribute('data-timeframe') === w.want);
        if (w.start && !w.done && drawn) { w.done = t; }
        if (w.done && !w.settled && t - w.done > 2000) { w.settled = t; }
        requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);";

/// Waits until the watched change is drawn and settled, and prints the
/// figures.
async fn report(
    c: &fantoccini::Client,
    label: &str,
    path: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let result = wait_for(
        c,
        "the CSV charted",
        "window.__csv.settled ? window.__csv : null",
        Duration::from_secs(300),
        |v| !v.is_null(),
    )
    .await?;
    let attributes = c
        .execute(
            "const e = document.getElementById('csv-chart'); return [e.dataset.timeframe, e.dataset.candles, e.dataset.points, document.getElementById('csv-summary').textContent]",
            vec![],
        )
        .await?;
    let ms = |k: &str| result[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "{label}: {:.0} bytes; to chart drawn {:.0} ms; longest task {:.0} ms; longest frame gap {:.0} ms; tasks (start, ms) {}; {attributes}",
        std::fs::metadata(path)?.len() as f64,
        ms("done") - ms("start"),
        ms("longest"),
        ms("gap"),
        result["tasks"],
    );
    Ok(attributes)
}

/// Opens `path` in the page, then shows it at 1H, and prints how long each
/// took to chart; returns the chart's timeframe, candles, points and
/// summary after each.
async fn figure(label: &str, path: &std::path::Path) -> anyhow::Result<[serde_json::Value; 2]> {
    let server = Server::start(&[])?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1280, 900).await?;
    c.goto(&server.url("/")).await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#chart canvas"))
        .await?;
    c.execute(WATCH, vec![]).await?;
    let input = c.find(Locator::Css("#csv-file")).await?;
    input.send_keys(&path.display().to_string()).await?;
    let first = report(c, label, path).await?;
    c.execute(
        "const s = document.getElementById('timeframe'); s.value = '1H'; s.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await?;
    let hourly = report(c, &format!("{label}, then 1H"), path).await?;
    browser.close().await;
    Ok([first, hourly])
}

#[tokio::test]
#[ignore = "a figure, run by hand"]
async fn figure_a_million_ticks() -> anyhow::Result<()> {
    let files = tempfile::tempdir()?;
    let path = files.path().join("EURUSD_otc.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(out, "asset,price,timestamp_ms")?;
    for i in 0..1_000_000i64 {
        let price = 108_000 + (i * 7919) % 400;
        writeln!(out, "EURUSD_otc,1.{price},{}", DAY_MS + i * 250)?;
    }
    out.flush()?;
    let [first, hourly] = figure("1,000,000 ticks", &path).await?;
    // 250,000 seconds of ticks: 4,167 minutes, 70 hours.
    assert_eq!((&first[0], &first[1]), (&"1M".into(), &"4167".into()));
    assert_eq!((&hourly[0], &hourly[1]), (&"1H".into(), &"70".into()));
    Ok(())
}

#[tokio::test]
#[ignore = "a figure, run by hand"]
async fn figure_a_million_candles() -> anyhow::Result<()> {
    let files = tempfile::tempdir()?;
    let path = files.path().join("EURUSD_otc.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(out, "timestamp,open,high,low,close,volume")?;
    for i in 0..1_000_000i64 {
        let open = 108_000 + (i * 7919) % 400;
        let close = 108_000 + (i * 104_729) % 400;
        let (low, high) = (open.min(close) - 3, open.max(close) + 5);
        writeln!(
            out,
            "{},1.{open},1.{high},1.{low},1.{close},{}",
            DAY_MS / 1000 + i * 60,
            1 + i % 50
        )?;
    }
    out.flush()?;
    let [first, hourly] = figure("1,000,000 one-minute candles", &path).await?;
    // The chart holds the newest 10,000 points of 1,000,000 and of 16,667.
    assert_eq!((&first[0], &first[1]), (&"1M".into(), &"10000".into()));
    assert_eq!((&hourly[0], &hourly[1]), (&"1H".into(), &"10000".into()));
    Ok(())
}
