//! Several charts over one socket, and the view in the address, in headless
//! Chromium: frames routed to the series they belong to, each series
//! subscribed to its own timeframe (two of one asset too), a layout of four
//! charts opened from the address, and every change of view written back
//! with `replaceState`.
#![cfg(target_arch = "wasm32")]

mod common;

use client::App;
use client::stream::{DataStream, Link, StreamOptions};
use common::{BASE, fresh_root, load_chart_library, next_frame, open_address};
use leptos::prelude::*;
use shared::{Asset, Candle, CandleState, ClientMessage, Price, Timeframe};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Event, HtmlElement, HtmlInputElement, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

fn candle_of(asset: &str, timeframe: Timeframe, offset: i64, close: &str) -> Candle {
    let p = Price::new(close);
    Candle::new_checked(
        Asset::new(asset),
        timeframe,
        BASE + offset,
        p,
        p,
        p,
        p,
        1,
        CandleState::Forming,
    )
    .unwrap()
}

fn snapshot(asset: &str, timeframe: Timeframe, candles: &[Candle]) -> String {
    format!(
        r#"{{"event":"candle_snapshot","data":{{"asset":"{asset}","timeframe":"{timeframe}","seq":5,"epoch":1,"reason":"subscribed","data":{}}}}}"#,
        serde_json::to_string(candles).unwrap()
    )
}

fn update(c: &Candle, seq: u64) -> String {
    format!(
        r#"{{"event":"redis_update","data":{{"data":{},"seq":{seq}}}}}"#,
        serde_json::to_string(c).unwrap()
    )
}

fn series_on(link: Link<DataStream>, asset: &str, timeframe: Timeframe) -> DataStream {
    DataStream::on_link(
        link,
        &StreamOptions {
            asset: Asset::new(asset),
            timeframe,
            connect: false,
            ..StreamOptions::default()
        },
    )
}

fn closes(s: &DataStream) -> Vec<(String, i64, String)> {
    s.chart_data()
        .iter()
        .map(|c| {
            (
                c.asset().to_string(),
                c.open_time() - BASE,
                c.close().to_string(),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
fn one_socket_routes_each_frame_to_its_series() {
    let owner = Owner::new();
    owner.set();
    let link = Link::<DataStream>::new(None);
    let eur = series_on(link, "EURUSD_otc", Timeframe::M1);
    let btc = series_on(link, "BTCUSD", Timeframe::M5);
    let eur_h1 = series_on(link, "EURUSD_otc", Timeframe::H1);
    link.receive_text(&snapshot(
        "EURUSD_otc",
        Timeframe::M1,
        &[candle_of("EURUSD_otc", Timeframe::M1, 0, "1.1")],
    ));
    link.receive_text(&snapshot(
        "BTCUSD",
        Timeframe::M5,
        &[candle_of("BTCUSD", Timeframe::M5, 0, "64000")],
    ));
    link.receive_text(&update(
        &candle_of("BTCUSD", Timeframe::M5, 300, "64100"),
        6,
    ));
    link.receive_text(&update(
        &candle_of("EURUSD_otc", Timeframe::M1, 60, "1.2"),
        6,
    ));
    // Another timeframe of the same asset goes to its own series only.
    link.receive_text(&snapshot(
        "EURUSD_otc",
        Timeframe::H1,
        &[candle_of("EURUSD_otc", Timeframe::H1, 0, "1.25")],
    ));
    link.receive_text(&update(
        &candle_of("EURUSD_otc", Timeframe::H1, 0, "1.3"),
        6,
    ));
    for s in [eur, btc, eur_h1] {
        s.process_queue();
    }
    assert_eq!(
        closes(&eur),
        [
            ("EURUSD_otc".into(), 0, "1.1".into()),
            ("EURUSD_otc".into(), 60, "1.2".into())
        ]
    );
    assert_eq!(
        closes(&btc),
        [
            ("BTCUSD".into(), 0, "64000".into()),
            ("BTCUSD".into(), 300, "64100".into())
        ]
    );
    assert_eq!(closes(&eur_h1), [("EURUSD_otc".into(), 0, "1.3".into())]);
    // Each series subscribes to its own timeframe and resumes after its own
    // last update, two timeframes of one asset included.
    for (s, tf, last) in [
        (btc, Timeframe::M5, 6),
        (eur, Timeframe::M1, 6),
        (eur_h1, Timeframe::H1, 6),
    ] {
        match s.subscription() {
            Some(ClientMessage::SubscribeRedisUpdates(s)) => {
                assert_eq!(
                    (s.timeframe, s.last_seq, s.epoch),
                    (Some(tf), Some(last), Some(1))
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // A series switched to another asset starts there afresh; the others
    // keep their resume.
    eur_h1.show(Asset::new("BTCUSD"), Timeframe::M5);
    match eur_h1.subscription() {
        Some(ClientMessage::SubscribeRedisUpdates(s)) => {
            assert_eq!((s.timeframe, s.last_seq), (Some(Timeframe::M5), None));
        }
        other => panic!("{other:?}"),
    }
    match eur.subscription() {
        Some(ClientMessage::SubscribeRedisUpdates(s)) => {
            assert_eq!((s.timeframe, s.last_seq), (Some(Timeframe::M1), Some(6)));
        }
        other => panic!("{other:?}"),
    }
}

/// Puts `query` in the address, then mounts the page without a server.
fn mount_page_at(query: &str) -> HtmlElement {
    load_chart_library();
    open_address(query);
    let root = fresh_root();
    let options = StreamOptions {
        connect: false,
        ..StreamOptions::default()
    };
    mount_to(root.clone(), move || view! { <App options=options /> }).forget();
    root
}

/// The `data-study` of each element `selector` finds, joined with commas.
fn studies_in(root: &HtmlElement, selector: &str) -> String {
    let found = root.query_selector_all(selector).unwrap();
    (0..found.length())
        .filter_map(|i| found.item(i)?.dyn_into::<web_sys::Element>().ok())
        .filter_map(|e| e.get_attribute("data-study"))
        .collect::<Vec<_>>()
        .join(",")
}

fn value_of(root: &HtmlElement, selector: &str) -> String {
    let element = root.query_selector(selector).unwrap().unwrap();
    match element.dyn_ref::<HtmlSelectElement>() {
        Some(select) => select.value(),
        None => element.unchecked_into::<HtmlInputElement>().value(),
    }
}

fn search() -> String {
    web_sys::window().unwrap().location().search().unwrap()
}

async fn choose(root: &HtmlElement, selector: &str, value: &str) {
    let select: HtmlSelectElement = root
        .query_selector(selector)
        .unwrap()
        .unwrap()
        .unchecked_into();
    select.set_value(value);
    select
        .dispatch_event(&Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
}

#[wasm_bindgen_test]
async fn opens_exactly_the_view_in_the_address_and_keeps_it_there() {
    let root =
        mount_page_at("?asset=BTCUSD&timeframe=5M&tz=America/New_York&indicators=sma:20,rsi:14");
    next_frame().await;
    assert_eq!(value_of(&root, "#asset"), "BTCUSD");
    assert_eq!(value_of(&root, "#timeframe"), "5M");
    assert_eq!(value_of(&root, "#time-zone"), "America/New_York");
    // The address's studies are the first chart's: in its menu and legend.
    assert_eq!(
        studies_in(&root, "#indicator-menu .indicator-remove"),
        "sma:20,rsi:14"
    );
    assert_eq!(studies_in(&root, "#legend .study"), "sma:20,rsi:14");
    let length = web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .length()
        .unwrap();
    choose(&root, "#timeframe", "1H").await;
    assert_eq!(
        search(),
        "?asset=BTCUSD&timeframe=1H&tz=America/New_York&indicators=sma:20,rsi:14"
    );
    choose(&root, "#time-zone", "Asia/Tokyo").await;
    assert_eq!(
        search(),
        "?asset=BTCUSD&timeframe=1H&tz=Asia/Tokyo&indicators=sma:20,rsi:14"
    );
    // Replaced, not pushed: no history entry per change.
    assert_eq!(
        web_sys::window()
            .unwrap()
            .history()
            .unwrap()
            .length()
            .unwrap(),
        length
    );
}

#[wasm_bindgen_test]
async fn junk_in_the_address_falls_back_without_breaking_the_page() {
    let root = mount_page_at(&format!(
        "?asset=%3Cb%3E&timeframe=9Q&tz=Mars/Olympus&indicators=sma:0,{}&layout=7",
        "x".repeat(4000)
    ));
    next_frame().await;
    assert_eq!(value_of(&root, "#asset"), "EURUSD_otc");
    assert_eq!(value_of(&root, "#timeframe"), "1M");
    assert_eq!(value_of(&root, "#time-zone"), "UTC");
    assert_eq!(root.query_selector_all(".chart-panel").unwrap().length(), 1);
    // The address is written back clean.
    assert_eq!(search(), "?asset=EURUSD_otc&timeframe=1M&tz=UTC");
}

#[wasm_bindgen_test]
async fn a_layout_of_four_opens_four_charts_and_follows_the_picker() {
    let root = mount_page_at(
        "?layout=4&tz=UTC&c0=EURUSD_otc,5M,sma:20&c1=BTCUSD,1H&c2=GBPUSD,15M&c3=EURUSD_otc,1D,rsi:14",
    );
    next_frame().await;
    next_frame().await;
    assert_eq!(root.query_selector_all(".chart-panel").unwrap().length(), 4);
    for (i, id) in ["#chart", "#chart-1", "#chart-2", "#chart-3"]
        .iter()
        .enumerate()
    {
        let canvases = root
            .query_selector_all(&format!("{id} canvas"))
            .unwrap()
            .length();
        assert!(canvases > 0, "chart {i} has no canvas");
    }
    assert_eq!(value_of(&root, "#asset-1"), "BTCUSD");
    assert_eq!(value_of(&root, "#timeframe-2"), "15M");
    assert_eq!(value_of(&root, "#timeframe-3"), "1D");
    choose(&root, "#timeframe-1", "4H").await;
    assert_eq!(
        search(),
        "?layout=4&tz=UTC&c0=EURUSD_otc,5M,sma:20&c1=BTCUSD,4H&c2=GBPUSD,15M&c3=EURUSD_otc,1D,rsi:14"
    );
    choose(&root, "#layout", "1").await;
    next_frame().await;
    assert_eq!(root.query_selector_all(".chart-panel").unwrap().length(), 1);
    assert_eq!(
        search(),
        "?asset=EURUSD_otc&timeframe=5M&tz=UTC&indicators=sma:20"
    );
    // Charts hidden keep their choices for when the layout grows again.
    choose(&root, "#layout", "2").await;
    assert_eq!(
        search(),
        "?layout=2&tz=UTC&c0=EURUSD_otc,5M,sma:20&c1=BTCUSD,4H"
    );
}

fn click(root: &HtmlElement, selector: &str) {
    let element: HtmlElement = root
        .query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into();
    element.click();
}

#[wasm_bindgen_test]
async fn each_charts_indicator_menu_writes_its_studies_into_the_address() {
    let root = mount_page_at("?layout=2&tz=UTC&c0=EURUSD_otc,5M&c1=BTCUSD,1H,sma:20");
    next_frame().await;
    assert_eq!(
        studies_in(&root, "#indicator-menu-1 .indicator-remove"),
        "sma:20"
    );
    assert_eq!(studies_in(&root, "#indicator-menu .indicator-remove"), "");
    assert_eq!(studies_in(&root, "#legend-1 .study"), "sma:20");
    assert_eq!(studies_in(&root, "#legend .study"), "");
    // RSI 14 added on the second chart.
    choose(&root, "#indicator-kind-1", "rsi").await;
    click(&root, "#indicator-add-1");
    next_frame().await;
    assert_eq!(
        search(),
        "?layout=2&tz=UTC&c0=EURUSD_otc,5M&c1=BTCUSD,1H,sma:20,rsi:14"
    );
    // SMA 20 (the menu's default) added on the first.
    click(&root, "#indicator-add");
    next_frame().await;
    assert_eq!(
        search(),
        "?layout=2&tz=UTC&c0=EURUSD_otc,5M,sma:20&c1=BTCUSD,1H,sma:20,rsi:14"
    );
    // And SMA 20 removed from the second.
    click(
        &root,
        "#indicator-menu-1 .indicator-remove[data-study='sma:20']",
    );
    next_frame().await;
    assert_eq!(
        search(),
        "?layout=2&tz=UTC&c0=EURUSD_otc,5M,sma:20&c1=BTCUSD,1H,rsi:14"
    );
    assert_eq!(
        studies_in(&root, "#indicator-menu-1 .indicator-remove"),
        "rsi:14"
    );
}
