//! The page in a real headless Chromium (wasm-bindgen-test): it mounts with
//! a chart canvas, lists every timeframe, checks typed asset names, and
//! switches series.
#![cfg(target_arch = "wasm32")]

mod common;

use client::App;
use client::stream::StreamOptions;
use common::{fresh_root, load_chart_library, next_frame, open_address};
use leptos::prelude::*;
use shared::Timeframe;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Event, HtmlElement, HtmlInputElement, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts the page, without a server, into a fresh element, at an address
/// without a query (an earlier page wrote its view there).
fn mount_page() -> HtmlElement {
    load_chart_library();
    open_address("");
    let root = fresh_root();
    let options = StreamOptions {
        connect: false,
        ..StreamOptions::default()
    };
    mount_to(root.clone(), move || view! { <App options=options /> }).forget();
    root
}

fn text_of(root: &HtmlElement, selector: &str) -> Option<String> {
    root.query_selector(selector)
        .unwrap()
        .and_then(|e| e.text_content())
}

/// Types `text` and commits it, as Enter or leaving the field does.
async fn type_into(root: &HtmlElement, selector: &str, text: &str) {
    let input: HtmlInputElement = root
        .query_selector(selector)
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_value(text);
    input.dispatch_event(&Event::new("input").unwrap()).unwrap();
    input
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
}

#[wasm_bindgen_test]
async fn the_page_mounts_a_chart_canvas_and_the_attribution() {
    let root = mount_page();
    next_frame().await;
    next_frame().await;
    assert_eq!(text_of(&root, "h1").as_deref(), Some("tickstream"));
    let canvases = root.query_selector_all("#chart canvas").unwrap().length();
    assert!(canvases > 0, "no canvas in the chart");
    let credits = text_of(&root, ".credits").unwrap_or_default();
    assert!(
        credits.contains("TradingView Lightweight Charts"),
        "{credits}"
    );
    assert!(
        credits.contains("Copyright (c) 2023 TradingView, Inc."),
        "{credits}"
    );
    assert_eq!(
        text_of(&root, "#badge-socket .badge-value").as_deref(),
        Some("offline")
    );
}

#[wasm_bindgen_test]
async fn shows_every_timeframe_and_the_selection() {
    let root = mount_page();
    leptos::task::tick().await;
    let select: HtmlSelectElement = root
        .query_selector("#timeframe")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let options: Vec<String> = (0..select.length())
        .map(|i| select.item(i).unwrap().text_content().unwrap())
        .collect();
    let expected: Vec<String> = Timeframe::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(options, expected);
    assert_eq!(
        text_of(&root, ".selection").as_deref(),
        Some("EURUSD_otc · 1M")
    );
    let zone: HtmlSelectElement = root
        .query_selector("#time-zone")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(zone.value(), "UTC");
}

#[wasm_bindgen_test]
async fn a_bad_asset_name_says_why_and_changes_nothing() {
    let root = mount_page();
    type_into(&root, "#asset", "EUR/USD").await;
    let problem = text_of(&root, ".field-error").unwrap_or_default();
    assert!(
        problem.contains("'/'") && problem.contains("position 3"),
        "{problem}"
    );
    assert_eq!(
        text_of(&root, ".selection").as_deref(),
        Some("EURUSD_otc · 1M")
    );

    type_into(&root, "#asset", "BTCUSD").await;
    assert_eq!(text_of(&root, ".field-error"), None);
    assert_eq!(text_of(&root, ".selection").as_deref(), Some("BTCUSD · 1M"));
}

#[wasm_bindgen_test]
async fn choosing_a_timeframe_changes_the_selection() {
    let root = mount_page();
    let select: HtmlSelectElement = root
        .query_selector("#timeframe")
        .unwrap()
        .unwrap()
        .unchecked_into();
    select.set_value("4H");
    select
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
    assert_eq!(
        text_of(&root, ".selection").as_deref(),
        Some("EURUSD_otc · 4H")
    );
}
