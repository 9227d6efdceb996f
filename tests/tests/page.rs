//! The page as a user gets it: the real server binary serves the release
//! build, and headless Chromium renders it with the WebAssembly running.

use std::time::Duration;

use e2e::{Browser, Server, paths};
use fantoccini::Locator;

#[tokio::test]
async fn the_served_page_renders_in_headless_chromium() -> anyhow::Result<()> {
    let server = Server::start(&[])?;
    let health = reqwest::get(server.url("/healthz")).await?.text().await?;
    assert_eq!(health, "ok");

    let browser = Browser::start().await?;
    let c = &browser.client;
    c.goto(&server.url("/")).await?;
    let title = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("h1"))
        .await?
        .text()
        .await?;
    assert_eq!(title, "tickstream");
    // The WebAssembly module built the timeframe list from `shared`.
    let options = c
        .execute(
            "return document.querySelectorAll('#timeframe option').length",
            vec![],
        )
        .await?;
    assert_eq!(options, serde_json::json!(7));
    let selection = c.find(Locator::Css(".selection")).await?.text().await?;
    assert_eq!(selection, "EURUSD_otc · 1M");

    std::fs::create_dir_all(paths::artifacts())?;
    std::fs::write(paths::artifacts().join("page.png"), c.screenshot().await?)?;
    browser.close().await;
    Ok(())
}
