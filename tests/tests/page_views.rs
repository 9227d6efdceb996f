//! Shareable views and several charts, as a user gets them: the real server
//! serves the release build, headless Chromium opens an address and shows
//! exactly that view, a change of view is read back from `location.search`,
//! and a layout of four charts is fed over one WebSocket, each chart
//! drawing its own series (two timeframes of one asset, one derived, both
//! live).

use std::time::Duration;

use e2e::browser::{number, wait_for};
use e2e::server::REDIS;
use e2e::{Browser, Server, seed};
use fantoccini::Locator;

/// How long the page may take to get somewhere (a bound, not a speed check).
const LIMIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "views-ingest-token-e2e";

/// A server with Redis and an embedded store, and 90 minutes of history
/// for `assets`.
async fn seeded_server(assets: &[&str]) -> anyhow::Result<(Server, tempfile::TempDir)> {
    let store = tempfile::tempdir()?;
    let database_url = format!("sqlite:{}", store.path().join("ticks.db").display());
    let prefix = format!(
        "e2e-views:{}:{}:",
        std::process::id(),
        e2e::server::unique()
    );
    let server = Server::start(&[
        ("INGEST_TOKEN", TOKEN),
        ("REDIS_URL", REDIS),
        ("REDIS_KEY_PREFIX", &prefix),
        ("DATABASE_URL", &database_url),
    ])?;
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    for asset in assets {
        let ticks = seed::ticks_ending_at(asset, seed::simulator_start(asset), 90, 6, now_ms);
        seed::ingest(&server.url(""), TOKEN, &ticks).await?;
    }
    Ok((server, store))
}

/// The server's `tickstream_ws_clients` gauge.
async fn ws_clients(server: &Server) -> anyhow::Result<f64> {
    let text = reqwest::get(server.url("/metrics")).await?.text().await?;
    text.lines()
        .find_map(|l| l.strip_prefix("tickstream_ws_clients "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no tickstream_ws_clients in /metrics"))
}

fn value(selector: &str) -> String {
    format!("document.querySelector('{selector}')?.value")
}

#[tokio::test]
async fn an_address_opens_exactly_its_view_and_follows_each_change() -> anyhow::Result<()> {
    let (server, _store) = seeded_server(&["BTCUSD"]).await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1280, 800).await?;
    c.goto(&server.url("/?asset=BTCUSD&timeframe=5M&tz=America/New_York&indicators=sma:20,rsi:14"))
        .await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#chart canvas"))
        .await?;
    let shown = c
        .execute(
            &format!(
                "return [{}, {}, {}, [...document.querySelectorAll('#legend .study')].map(e => e.dataset.study).join(',')]",
                value("#asset"),
                value("#timeframe"),
                value("#time-zone")
            ),
            vec![],
        )
        .await?;
    assert_eq!(
        shown,
        serde_json::json!(["BTCUSD", "5M", "America/New_York", "sma:20,rsi:14"])
    );
    // The five-minute BTCUSD history is drawn.
    wait_for(
        c,
        "history drawn",
        "document.getElementById('legend')?.dataset.candles",
        LIMIT,
        |v| number(v) >= 10,
    )
    .await?;
    // The studies are drawn: RSI in a pane of its own below the price's.
    wait_for(
        c,
        "RSI pane",
        "document.getElementById('chart')?.dataset.panes",
        LIMIT,
        |v| v.as_str() == Some("2"),
    )
    .await?;
    let length = c.execute("return history.length", vec![]).await?;
    // A change of timeframe is in the address at once, without a reload.
    c.execute("window.__same_page = true", vec![]).await?;
    let select = c.find(Locator::Css("#timeframe")).await?;
    select.select_by_value("1H").await?;
    let search = wait_for(c, "address updated", "location.search", LIMIT, |v| {
        v.as_str().is_some_and(|s| s.contains("timeframe=1H"))
    })
    .await?;
    assert_eq!(
        search,
        "?asset=BTCUSD&timeframe=1H&tz=America/New_York&indicators=sma:20,rsi:14"
    );
    // Removing RSI 14 in the menu takes it off the chart and the address.
    c.find(Locator::Css(".indicator-remove[data-study='rsi:14']"))
        .await?
        .click()
        .await?;
    let search = wait_for(c, "study removed", "location.search", LIMIT, |v| {
        v.as_str().is_some_and(|s| !s.contains("rsi"))
    })
    .await?;
    assert_eq!(
        search,
        "?asset=BTCUSD&timeframe=1H&tz=America/New_York&indicators=sma:20"
    );
    wait_for(
        c,
        "RSI pane gone",
        "document.getElementById('chart')?.dataset.panes",
        LIMIT,
        |v| v.as_str() == Some("1"),
    )
    .await?;
    let after = c
        .execute(
            "return [history.length, window.__same_page === true]",
            vec![],
        )
        .await?;
    assert_eq!(after, serde_json::json!([length, true]));
    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
    Ok(())
}

#[tokio::test]
async fn a_layout_of_four_is_fed_over_one_websocket() -> anyhow::Result<()> {
    let (server, _store) = seeded_server(&["EURUSD_otc", "BTCUSD"]).await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1600, 1000).await?;
    c.goto(&server.url(
        "/?layout=4&tz=UTC&c0=EURUSD_otc,1M&c1=BTCUSD,1M&c2=EURUSD_otc,5M&c3=BTCUSD,5M,sma:20",
    ))
    .await?;
    // Each chart draws its series' candles: 90 one-minute ones or 18
    // five-minute ones (give or take the minute in progress).
    for (id, at_least) in [
        ("chart", 85),
        ("chart-1", 85),
        ("chart-2", 17),
        ("chart-3", 17),
    ] {
        wait_for(
            c,
            &format!("#{id} drawn"),
            &format!("document.getElementById('{id}')?.dataset.points"),
            LIMIT,
            |v| number(v) >= at_least,
        )
        .await?;
    }
    let panels = c
        .execute(
            "return document.querySelectorAll('.chart-panel').length",
            vec![],
        )
        .await?;
    assert_eq!(panels, 4);
    assert_eq!(
        ws_clients(&server).await?,
        1.0,
        "one socket for four charts"
    );
    // The one- and five-minute charts of an asset show different candles.
    let points = c
        .execute(
            "return ['chart','chart-2'].map(id => document.getElementById(id).dataset.points)",
            vec![],
        )
        .await?;
    assert_ne!(points[0], points[1], "{points}");
    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
    Ok(())
}

/// Two charts of one asset, one of them in a derived timeframe: each
/// subscribes to its own timeframe over the one socket, so a live tick
/// reaches both, and each draws it in its own candle.
#[tokio::test]
async fn two_charts_of_one_asset_at_1m_and_90m_both_follow_live_ticks() -> anyhow::Result<()> {
    let (server, _store) = seeded_server(&["EURUSD_otc"]).await?;
    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1600, 1000).await?;
    c.goto(&server.url("/?layout=2&tz=UTC&c0=EURUSD_otc,1M&c1=EURUSD_otc,90M"))
        .await?;
    for (id, at_least) in [("chart", 85), ("chart-1", 1)] {
        wait_for(
            c,
            &format!("#{id} drawn"),
            &format!("document.getElementById('{id}')?.dataset.points"),
            LIMIT,
            |v| number(v) >= at_least,
        )
        .await?;
    }
    let close = |index: usize| {
        format!(
            "document.querySelector('.chart-panel[data-index=\"{index}\"] .legend')?.getAttribute('data-close')"
        )
    };
    // Three ticks, each stamped now and with a price no history has.
    for price in ["1.23457", "1.23458", "1.23459"] {
        let at = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis(),
        )?;
        let tick = serde_json::json!({ "asset": "EURUSD_otc", "price": price, "timestamp": at });
        seed::ingest(&server.url(""), TOKEN, &[tick]).await?;
        for index in [0, 1] {
            wait_for(
                c,
                &format!("chart {index} shows {price}"),
                &close(index),
                LIMIT,
                |v| v.as_str() == Some(price),
            )
            .await?;
        }
    }
    assert_eq!(ws_clients(&server).await?, 1.0, "one socket for both");
    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
    Ok(())
}
