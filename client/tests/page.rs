//! The page in a real headless Chromium (wasm-bindgen-test): it mounts, shows
//! the product name and every timeframe, and checks typed asset names.
#![cfg(target_arch = "wasm32")]

use shared::Timeframe;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Event, HtmlElement, HtmlInputElement, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts the page into a fresh element and returns that element.
fn mount_page() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    leptos::mount::mount_to(root.clone(), client::App).forget();
    root
}

fn text_of(root: &HtmlElement, selector: &str) -> Option<String> {
    root.query_selector(selector)
        .unwrap()
        .and_then(|e| e.text_content())
}

async fn type_into(root: &HtmlElement, selector: &str, text: &str) {
    let input: HtmlInputElement = root
        .query_selector(selector)
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_value(text);
    input.dispatch_event(&Event::new("input").unwrap()).unwrap();
    leptos::task::tick().await;
}

#[wasm_bindgen_test]
async fn shows_the_product_name_and_every_timeframe() {
    let root = mount_page();
    assert_eq!(text_of(&root, "h1").as_deref(), Some("tickstream"));
    let select: HtmlSelectElement = root
        .query_selector("#timeframe")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let options: Vec<String> = (0..select.length())
        .map(|i| select.item(i).unwrap().text_content().unwrap())
        .collect();
    let expected: Vec<&str> = Timeframe::ALL.iter().map(|tf| tf.as_str()).collect();
    assert_eq!(options, expected);
    assert_eq!(
        text_of(&root, ".selection").as_deref(),
        Some("EURUSD_otc · 1M")
    );
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
