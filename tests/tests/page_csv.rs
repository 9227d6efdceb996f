//! "Open CSV" as a user does it: the real server serves the release build,
//! headless Chromium renders it, and a file on disk is chosen through the
//! page's real file input (WebDriver sends the path). The file is charted
//! beside the live chart, as `shared` builds its candles; a file with a bad
//! line shows the line and charts nothing.

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
    wait_for(c, "the CSV drawn", &chart("points"), LIMIT, |v| number(v) > 0).await?;
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
