//! Indicators end to end: SMA 20 and RSI 14 enabled through the page's
//! menu, then new candles from ticks posted to `POST /api/ticks`; the
//! legend's values at the newest candle (computed live by the page, warmed
//! up with the server's) equal `GET /api/indicators` to the digits shown.

use std::time::Duration;

use e2e::browser::{number, wait_for};
use e2e::server::{REDIS, forget_keys};
use e2e::{Browser, Server, paths, seed};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

/// How long the page may take to get somewhere (a bound, not a speed check).
const LIMIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "indicators-ingest-token-e2e";

fn legend(attribute: &str) -> String {
    format!("document.getElementById('legend')?.getAttribute('data-{attribute}')")
}

fn study_value(study: &str) -> String {
    format!(
        "document.querySelector('#legend .study[data-study=\"{study}\"]')?.getAttribute('data-value')"
    )
}

/// Picks `kind` in the menu, sets its period, and presses Add.
async fn add_study(c: &Client, kind: &str, period: &str) -> anyhow::Result<()> {
    c.execute(
        "const k = document.getElementById('indicator-kind');
         k.value = arguments[0];
         k.dispatchEvent(new Event('change', { bubbles: true }));
         const p = document.getElementById('indicator-period');
         p.value = arguments[1];
         p.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![json!(kind), json!(period)],
    )
    .await?;
    c.find(Locator::Css("#indicator-add"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The digits after the point of a price's JSON (a number or a string).
fn decimals(json: &str) -> usize {
    json.trim_matches('"')
        .split_once('.')
        .map_or(0, |(_, f)| f.len())
}

#[tokio::test]
async fn the_legend_shows_the_servers_sma_and_rsi_for_live_candles() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let database_url = format!("sqlite:{}", store.path().join("ticks.db").display());
    let prefix = format!(
        "e2e-indicators:{}:{}:",
        std::process::id(),
        e2e::server::unique()
    );
    let server = Server::start(&[
        ("INGEST_TOKEN", TOKEN),
        ("REDIS_URL", REDIS),
        ("REDIS_KEY_PREFIX", &prefix),
        ("DATABASE_URL", &database_url),
        ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
    ])?;
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    // An hour of history ending four minutes ago.
    let minute = 60_000;
    let history_end = (now_ms / minute - 4) * minute;
    let start = seed::simulator_start("EURUSD_otc");
    let ticks = seed::ticks_ending_at("EURUSD_otc", start, 60, 6, history_end);
    seed::ingest(&server.url(""), TOKEN, &ticks).await?;

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.set_window_size(1280, 900).await?;
    c.goto(&server.url("/")).await?;
    wait_for(c, "history drawn", &legend("candles"), LIMIT, |v| {
        number(v) >= 55
    })
    .await?;

    add_study(c, "sma", "20").await?;
    add_study(c, "rsi", "14").await?;
    for study in ["sma:20", "rsi:14"] {
        wait_for(c, study, &study_value(study), LIMIT, Value::is_string).await?;
    }
    let panes = c
        .execute(
            "return document.getElementById('chart').getAttribute('data-panes')",
            vec![],
        )
        .await?;
    assert_eq!(panes, "2", "the price pane and RSI's");

    // Two new candles, live, after the page took the server's values.
    let last = ticks
        .last()
        .and_then(|t| t["price"].as_str())
        .unwrap_or("1");
    // In steps of 0.00001.
    let units = i64::try_from(shared::Price::new(last).units() / 100_000)?;
    let live: Vec<Value> = [(3, 12), (3, -7), (2, 25), (2, -4), (2, 9)]
        .iter()
        .enumerate()
        .map(|(k, (ago, step))| {
            let price = format!(
                "{}.{:05}",
                (units + step) / 100_000,
                (units + step) % 100_000
            );
            let at =
                now_ms / minute * minute - ago * minute + 1_000 * i64::try_from(k).unwrap_or(0);
            json!({ "asset": "EURUSD_otc", "price": price, "timestamp": at })
        })
        .collect();
    seed::ingest(&server.url(""), TOKEN, &live).await?;
    let newest = (now_ms / minute - 2) * 60;
    wait_for(c, "the live candle", &legend("time"), LIMIT, |v| {
        number(v) == newest
    })
    .await?;

    let http = reqwest::Client::new();
    let candles: Value = http
        .get(server.url(&format!(
            "/api/candles?asset=EURUSD_otc&timeframe=1M&from=0&to={newest}&limit=200"
        )))
        .send()
        .await?
        .json()
        .await?;
    let precision = candles["candles"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| ["open", "high", "low", "close"].map(|k| decimals(&c[k].to_string())))
        .max()
        .unwrap_or(5)
        .clamp(2, 10);
    for (study, query, digits) in [
        ("sma:20", "name=sma&period=20", precision),
        ("rsi:14", "name=rsi&period=14", 2),
    ] {
        let answer: Value = http
            .get(server.url(&format!(
                "/api/indicators?asset=EURUSD_otc&timeframe=1M&{query}&limit=1"
            )))
            .send()
            .await?
            .json()
            .await?;
        let point = &answer["points"][0];
        assert_eq!(point["time"], newest, "{answer}");
        let expected = format!("{:.digits$}", point["value"].as_f64().unwrap_or(f64::NAN));
        wait_for(c, study, &study_value(study), LIMIT, |v| v == &expected).await?;
    }
    // A picture of the studies for whoever looks at the run.
    std::fs::create_dir_all(paths::artifacts())?;
    std::fs::write(
        paths::artifacts().join("page-indicators.png"),
        c.screenshot().await?,
    )?;
    let errors = browser.console_errors().await?;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
    drop(server);
    forget_keys(REDIS, &prefix).await
}
