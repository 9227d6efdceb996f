//! "Open CSV" in a real headless Chromium (wasm-bindgen-test): a file put
//! into the page's file input, as a user's choice arrives, is read, charted
//! beside the live chart, re-charted at another timeframe, and a bad line is
//! shown with its number while nothing is charted.
#![cfg(target_arch = "wasm32")]

mod common;

use client::App;
use client::stream::StreamOptions;
use common::{fresh_root, load_chart_library, open_address, sleep};
use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use shared::{Asset, CsvFile, Timeframe};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{DataTransfer, Event, File, HtmlElement, HtmlInputElement, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

/// 2025-11-26T00:00:00Z in milliseconds.
const DAY_MS: i64 = common::BASE * 1000;

fn mount_page() -> HtmlElement {
    load_chart_library();
    open_address("");
    let root = fresh_root();
    root.style().set_property("width", "900px").unwrap();
    let options = StreamOptions {
        connect: false,
        ..StreamOptions::default()
    };
    mount_to(root.clone(), move || view! { <App options=options /> }).forget();
    root
}

/// Puts a file holding `bytes` into the page's CSV input and fires `change`,
/// as choosing it in the file dialog does.
fn choose_file(root: &HtmlElement, name: &str, bytes: &[u8]) {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let file = File::new_with_u8_array_sequence(&parts, name).unwrap();
    let transfer = DataTransfer::new().unwrap();
    transfer.items().add_with_file(&file).unwrap();
    let input: HtmlInputElement = root
        .query_selector("#csv-file")
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_files(Some(&transfer.files().unwrap()));
    input
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
}

fn attribute(root: &HtmlElement, selector: &str, name: &str) -> Option<String> {
    root.query_selector(selector)
        .unwrap()
        .and_then(|e| e.get_attribute(name))
}

fn text_of(root: &HtmlElement, selector: &str) -> Option<String> {
    root.query_selector(selector)
        .unwrap()
        .and_then(|e| e.text_content())
}

/// Waits (at most `limit_ms`) until `done` holds.
async fn until(limit_ms: f64, what: &str, done: impl Fn() -> bool) {
    let start = now();
    while !done() {
        assert!(now() - start < limit_ms, "{what}: not within {limit_ms} ms");
        sleep(5).await;
    }
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

/// A tick file: `n` ticks a second apart from `DAY_MS`, prices walking.
fn ticks_csv(n: usize, header: bool) -> String {
    let mut text = String::with_capacity(n * 36);
    if header {
        text.push_str("asset,price,timestamp_ms\n");
    }
    for i in 0..n {
        let i = i64::try_from(i).unwrap();
        let price = 108_000 + (i * 7919) % 400;
        text.push_str(&format!("EURUSD_otc,1.{price},{}\n", DAY_MS + i * 1000));
    }
    text
}

#[wasm_bindgen_test]
async fn a_tick_file_is_charted_beside_the_live_chart_as_the_aggregator_builds_it() {
    let root = mount_page();
    leptos::task::tick().await;
    assert!(root.query_selector("#csv-chart").unwrap().is_none());
    let text = ticks_csv(600, true);
    choose_file(&root, "EURUSD_otc.csv", text.as_bytes());
    until(10_000.0, "CSV charted", || {
        attribute(&root, "#csv-chart", "data-points").is_some_and(|p| p != "0")
    })
    .await;

    let CsvFile::Ticks(file) = CsvFile::parse(text.as_bytes(), Asset::new("X")).unwrap() else {
        panic!("not ticks");
    };
    let expected = file.candles(Timeframe::M1).unwrap();
    assert_eq!(expected.len(), 10);
    let candles = attribute(&root, "#csv-chart", "data-candles");
    assert_eq!(candles.as_deref(), Some("10"));
    assert_eq!(
        attribute(&root, "#csv-chart", "data-last-close"),
        Some(expected[9].close().to_string())
    );
    assert_eq!(
        attribute(&root, "#csv-chart", "data-timeframe").as_deref(),
        Some("1M")
    );
    assert!(
        root.query_selector_all("#csv-chart canvas")
            .unwrap()
            .length()
            > 0
    );
    assert_eq!(
        text_of(&root, "#csv-title").as_deref(),
        Some("CSV: EURUSD_otc.csv")
    );
    let summary = text_of(&root, "#csv-summary").unwrap_or_default();
    assert!(summary.contains("10 candles from 600 ticks"), "{summary}");
    // The live chart is still there, and the stream's controls.
    assert!(root.query_selector_all("#chart canvas").unwrap().length() > 0);
    assert!(root.query_selector("#start-stream").unwrap().is_some());

    // Another timeframe re-charts the file.
    let select: HtmlSelectElement = root
        .query_selector("#timeframe")
        .unwrap()
        .unwrap()
        .unchecked_into();
    select.set_value("5M");
    select
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
    until(10_000.0, "CSV re-charted at 5M", || {
        attribute(&root, "#csv-chart", "data-timeframe").as_deref() == Some("5M")
    })
    .await;
    assert_eq!(
        attribute(&root, "#csv-chart", "data-candles").as_deref(),
        Some("2")
    );

    root.query_selector("#csv-close")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    leptos::task::tick().await;
    assert!(root.query_selector("#csv-chart").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn a_candle_file_is_charted_at_its_own_width() {
    let root = mount_page();
    leptos::task::tick().await;
    let t0 = common::BASE;
    let text = format!(
        "timestamp,open,high,low,close,volume\n{t0},1.1,1.3,1.0,1.2,5\n{},1.2,1.25,1.15,1.22,3\n{},1.22,1.40001,1.2,1.40001,1\n",
        t0 + 3600,
        t0 + 7200
    );
    choose_file(&root, "BTCUSD.1h.csv", text.as_bytes());
    until(10_000.0, "CSV charted", || {
        attribute(&root, "#csv-chart", "data-points").is_some_and(|p| p != "0")
    })
    .await;
    assert_eq!(
        attribute(&root, "#csv-chart", "data-timeframe").as_deref(),
        Some("1H")
    );
    assert_eq!(
        attribute(&root, "#csv-chart", "data-asset").as_deref(),
        Some("BTCUSD")
    );
    assert_eq!(
        attribute(&root, "#csv-chart", "data-candles").as_deref(),
        Some("3")
    );
    assert_eq!(
        attribute(&root, "#csv-chart", "data-last-close").as_deref(),
        Some("1.40001")
    );
}

#[wasm_bindgen_test]
async fn a_bad_line_is_shown_with_its_number_and_nothing_is_charted() {
    let root = mount_page();
    leptos::task::tick().await;
    let mut text = ticks_csv(16, false);
    text.push_str(&format!("EURUSD_otc,abc,{DAY_MS}\n"));
    text.push_str(&ticks_csv(3, false));
    choose_file(&root, "bad.csv", text.as_bytes());
    until(10_000.0, "the refusal shown", || {
        root.query_selector("#csv-error").unwrap().is_some()
    })
    .await;
    let error = text_of(&root, "#csv-error").unwrap_or_default();
    assert_eq!(
        error,
        "bad.csv refused: line 17: price \"abc\" is not a decimal number: expected a digit"
    );
    assert!(root.query_selector("#csv-chart").unwrap().is_none());

    // A good file then charts, and the refusal goes.
    choose_file(&root, "good.csv", ticks_csv(120, false).as_bytes());
    until(10_000.0, "CSV charted", || {
        attribute(&root, "#csv-chart", "data-candles").as_deref() == Some("2")
    })
    .await;
    assert!(root.query_selector("#csv-error").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn a_timeframe_picked_while_the_file_is_read_is_the_one_charted() {
    let root = mount_page();
    leptos::task::tick().await;
    // About 3.6 MB: read in several slices, with yields between them.
    choose_file(&root, "EURUSD_otc.csv", ticks_csv(100_000, true).as_bytes());
    leptos::task::tick().await;
    assert!(root.query_selector("#csv-progress").unwrap().is_some());
    let select: HtmlSelectElement = root
        .query_selector("#timeframe")
        .unwrap()
        .unwrap()
        .unchecked_into();
    select.set_value("1H");
    select
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
    until(60_000.0, "CSV charted at 1H", || {
        attribute(&root, "#csv-chart", "data-timeframe").as_deref() == Some("1H")
    })
    .await;
    // 100,000 seconds: 28 hours begun.
    assert_eq!(
        attribute(&root, "#csv-chart", "data-candles").as_deref(),
        Some("28")
    );
    assert!(root.query_selector("#csv-progress").unwrap().is_none());
}
