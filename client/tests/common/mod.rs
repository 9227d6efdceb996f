//! Helpers of the browser tests: the chart library injected into the page,
//! candles and frames to feed the stream, and waiting for a frame.
#![allow(dead_code)]

use js_sys::Promise;
use shared::{Asset, Candle, CandleState, Price, Timeframe};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlElement;

/// The standalone lightweight-charts build the page loads from npm.
const LIBRARY: &str = include_str!(
    "../../../node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js"
);

/// A day start (2025-11-26T00:00:00Z) the test candles count from.
pub const BASE: i64 = 1_764_115_200;

/// Puts `LightweightCharts` on the page, once, as the built page's script does.
pub fn load_chart_library() {
    let global = js_sys::global();
    if js_sys::Reflect::has(&global, &"LightweightCharts".into()).unwrap_or(false) {
        return;
    }
    let document = web_sys::window().unwrap().document().unwrap();
    let script = document.create_element("script").unwrap();
    script.set_text_content(Some(LIBRARY));
    document.head().unwrap().append_child(&script).unwrap();
    assert!(js_sys::Reflect::has(&global, &"LightweightCharts".into()).unwrap());
}

/// Makes the address's query `query` (`""` for none), without a reload: the
/// page mounted next opens the view it names, not the one an earlier test's
/// page left there.
pub fn open_address(query: &str) {
    let window = web_sys::window().unwrap();
    let path = window.location().pathname().unwrap();
    window
        .history()
        .unwrap()
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}{query}")),
        )
        .unwrap();
}

/// A fresh element in the body to mount into.
pub fn fresh_root() -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    root
}

/// A EURUSD_otc candle of `timeframe` at `BASE + offset`.
pub fn candle(timeframe: Timeframe, offset: i64, open: &str, close: &str, volume: u64) -> Candle {
    let (o, c) = (Price::new(open), Price::new(close));
    let (low, high) = if o <= c { (o, c) } else { (c, o) };
    Candle::new_checked(
        Asset::new("EURUSD_otc"),
        timeframe,
        BASE + offset,
        o,
        high,
        low,
        c,
        volume,
        CandleState::Forming,
    )
    .unwrap()
}

/// A one-minute candle.
pub fn m1(offset: i64, open: &str, close: &str) -> Candle {
    candle(Timeframe::M1, offset, open, close, 3)
}

/// A `redis_update` frame as the server writes it.
pub fn update_frame(c: &Candle, seq: u64) -> String {
    format!(
        r#"{{"event":"redis_update","data":{{"data":{},"seq":{seq}}}}}"#,
        serde_json::to_string(c).unwrap()
    )
}

/// A `candle_snapshot` frame.
pub fn snapshot_frame(
    timeframe: Timeframe,
    epoch: u64,
    seq: u64,
    reason: &str,
    candles: &[Candle],
) -> String {
    format!(
        r#"{{"event":"candle_snapshot","data":{{"asset":"EURUSD_otc","timeframe":"{timeframe}","seq":{seq},"epoch":{epoch},"reason":"{reason}","data":{}}}}}"#,
        serde_json::to_string(candles).unwrap()
    )
}

/// Waits for the next animation frame, then lets the effects run.
pub async fn next_frame() {
    animation_frame().await;
    leptos::task::tick().await;
}

/// Waits for the next animation frame alone (no Leptos page needed).
pub async fn animation_frame() {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .request_animation_frame(&resolve)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}
