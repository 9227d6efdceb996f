//! The page as a user gets it: the real server binary serves the release
//! build, headless Chromium renders it, a stream is started from the page,
//! and candles are drawn and then updated live by a real feed. (The asset
//! has real ticks, so Start stream subscribes without simulating it, even
//! with on-demand simulation on as `scripts/run` has it.)

use std::time::Duration;

use e2e::browser::{number, wait_for};
use e2e::server::{REDIS, forget_keys};
use e2e::{Browser, Server, paths, seed};
use fantoccini::Locator;

/// How long the page may take to get somewhere (a bound, not a speed check).
const LIMIT: Duration = Duration::from_secs(30);

fn legend(attribute: &str) -> String {
    format!("document.getElementById('legend')?.getAttribute('data-{attribute}')")
}

#[tokio::test]
async fn a_started_stream_draws_candles_that_then_move() -> anyhow::Result<()> {
    // The product as `scripts/run` starts it: Redis, and the embedded store.
    let store = tempfile::tempdir()?;
    let database_url = format!("sqlite:{}", store.path().join("ticks.db").display());
    let prefix = format!("e2e-page:{}:{}:", std::process::id(), e2e::server::unique());
    let server = Server::start(&[
        ("INGEST_TOKEN", "page-ingest-token-e2e"),
        ("SIMULATOR_ON_DEMAND", "true"),
        ("REDIS_URL", REDIS),
        ("REDIS_KEY_PREFIX", &prefix),
        ("DATABASE_URL", &database_url),
        ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
    ])?;
    // An hour and a half of history, and a live feed that goes on from it.
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let start = seed::simulator_start("EURUSD_otc");
    let ticks = seed::ticks_ending_at("EURUSD_otc", start, 90, 12, now_ms);
    seed::ingest(&server.url(""), "page-ingest-token-e2e", &ticks).await?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1280, 800).await?;
    c.goto(&server.url("/")).await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#chart canvas"))
        .await?;
    wait_for(
        c,
        "socket open",
        "document.querySelector('#badge-socket .badge-value')?.textContent",
        LIMIT,
        |v| v == "open",
    )
    .await?;
    // Redis and the persister report in.
    wait_for(
        c,
        "Redis connected",
        "document.querySelector('#badge-redis .badge-value')?.textContent",
        LIMIT,
        |v| v == "connected",
    )
    .await?;
    wait_for(
        c,
        "the seeded history stored",
        "parseInt(document.querySelector('#badge-persister .badge-value')?.textContent)",
        LIMIT,
        |v| v.as_i64().is_some_and(|n| n > 0),
    )
    .await?;
    // History first: the snapshot of the seeded candles is drawn.
    let candles = wait_for(c, "history drawn", &legend("candles"), LIMIT, |v| {
        number(v) >= 60
    })
    .await?;
    let points = c
        .execute(
            "return document.getElementById('chart').getAttribute('data-points')",
            vec![],
        )
        .await?;
    assert!(
        number(&points) >= number(&candles),
        "{points} points for {candles} candles"
    );

    c.find(Locator::Css("#start-stream")).await?.click().await?;
    let feed = seed::live_feed(
        &server.url(""),
        "page-ingest-token-e2e",
        "EURUSD_otc",
        Duration::from_millis(50),
    );
    wait_for(
        c,
        "feed live",
        "document.querySelector('#badge-feed .badge-value')?.textContent",
        LIMIT,
        |v| v == "live",
    )
    .await?;
    // The newest candle moves: its tick count grows as ticks arrive.
    let first = wait_for(c, "a live candle", &legend("volume"), LIMIT, |v| {
        number(v) > 0
    })
    .await?;
    let time = c
        .execute(&format!("return {}", legend("time")), vec![])
        .await?;
    wait_for(
        c,
        "the candle updated",
        &format!("[{}, {}]", legend("time"), legend("volume")),
        LIMIT,
        |v| v[0] != time || number(&v[1]) > number(&first),
    )
    .await?;
    let close = c
        .execute(&format!("return {}", legend("close")), vec![])
        .await?;
    assert!(
        close
            .as_str()
            .is_some_and(|s| s.starts_with("1.") || s.starts_with("2.")),
        "{close}"
    );

    // Let a few more ticks land, then keep a picture for the README.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let png = c.screenshot().await?;
    std::fs::create_dir_all(paths::artifacts())?;
    std::fs::write(paths::artifacts().join("page.png"), &png)?;
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        std::fs::write(paths::workspace().join("docs/screenshot.png"), &png)?;
    }

    // At phone width everything still fits: nothing scrolls sideways and
    // the chart takes the width there is.
    c.set_window_size(390, 844).await?;
    let fits = wait_for(
        c,
        "phone layout",
        "[document.documentElement.scrollWidth, window.innerWidth, \
         document.getElementById('chart').getBoundingClientRect().width]",
        LIMIT,
        |v| v[0].as_f64() <= v[1].as_f64() && v[2].as_f64().is_some_and(|w| w > 300.0),
    )
    .await?;
    assert!(fits[2].as_f64() <= fits[1].as_f64(), "{fits}");
    std::fs::write(
        paths::artifacts().join("page-phone.png"),
        c.screenshot().await?,
    )?;

    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:?}");

    c.find(Locator::Css("#stop-stream")).await?.click().await?;
    wait_for(
        c,
        "stream stopped",
        "document.getElementById('start-stream').disabled",
        LIMIT,
        |v| v == false,
    )
    .await?;
    feed.abort();
    browser.close().await;
    drop(server);
    forget_keys(REDIS, &prefix).await
}
