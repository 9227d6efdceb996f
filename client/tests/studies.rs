//! Studies against the real lightweight-charts library in headless
//! Chromium: the legend names each study before it has a value and shows
//! its value after; a chart with three studies has a pane for each of RSI
//! and MACD, and its lines end at the values `shared` computes; the menu
//! keeps to `shared`'s limits and eight studies.
#![cfg(target_arch = "wasm32")]

mod common;

use client::chart::{Chart, Studies, TimeFormat};
use client::components::{CandleChart, IndicatorMenu, Legend};
use client::model::{CandleBuffer, Redraw};
use client::stream::{DataStream, StreamOptions};
use common::{fresh_root, load_chart_library, m1, next_frame, snapshot_frame, update_frame};
use leptos::prelude::*;
use leptos::task::tick;
use shared::indicators::{Study, Value, compute};
use shared::{Asset, Candle, Timeframe};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// `n` one-minute candles with five-decimal closes that wander.
fn candles(n: i64) -> Vec<Candle> {
    let mut close = 108_200;
    (0..n)
        .map(|k| {
            let open = close;
            close += (k * 7 % 11) - 5;
            m1(k * 60, &price(open), &price(close))
        })
        .collect()
}

fn price(units: i64) -> String {
    format!("{}.{:05}", units / 100_000, units % 100_000)
}

fn parse_all(texts: &[&str]) -> Vec<Study> {
    texts.iter().map(|s| s.parse().unwrap()).collect()
}

/// The newest value of `study` over `candles`, as the server computes it.
fn newest(study: Study, candles: &[Candle]) -> Value {
    compute(study, candles).last().unwrap().value
}

fn study_texts(root: &HtmlElement) -> Vec<String> {
    let list = root.query_selector_all("#legend .study").unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().text_content().unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn the_legend_names_each_study_then_shows_its_value_at_the_newest_candle() {
    load_chart_library();
    let root = fresh_root();
    root.style().set_property("width", "800px").unwrap();
    let enabled = parse_all(&["sma:20", "rsi:14", "bb:20:2", "macd:12:26:9"]);
    let (tx, rx) = std::sync::mpsc::channel();
    let list = enabled.clone();
    mount_to(root.clone(), move || {
        let stream = DataStream::new(&StreamOptions {
            connect: false,
            ..StreamOptions::default()
        });
        tx.send(stream).unwrap();
        let studies = Studies::new(RwSignal::new(list));
        let (zone, _) = signal("UTC".to_owned());
        let (hovered, set_hovered) = signal(None);
        view! {
            <Legend stream=stream hovered=hovered zone=zone studies=studies />
            <CandleChart stream=stream zone=zone set_hovered=set_hovered studies=studies />
        }
    })
    .forget();
    let stream = rx.recv().unwrap();
    next_frame().await;
    assert_eq!(
        study_texts(&root),
        ["SMA 20", "RSI 14", "BB 20 2", "MACD 12 26 9"]
    );

    let mut held = candles(40);
    stream.receive_text(&snapshot_frame(Timeframe::M1, 1, 1, "subscribed", &held));
    stream.process_queue();
    next_frame().await;
    next_frame().await;
    let expected = |held: &[Candle]| -> Vec<String> {
        let v: Vec<Value> = enabled.iter().map(|s| newest(*s, held)).collect();
        let (Value::Line { value: sma }, Value::Line { value: rsi }) = (v[0], v[1]) else {
            panic!("lines");
        };
        let (Value::Bands(b), Value::Macd(m)) = (v[2], v[3]) else {
            panic!("bands and macd");
        };
        vec![
            format!("SMA 20 {sma:.5}"),
            format!("RSI 14 {rsi:.2}"),
            format!("BB 20 2 {:.5} {:.5} {:.5}", b.basis, b.upper, b.lower),
            format!(
                "MACD 12 26 9 {:.5} {:.5} {:.5}",
                m.macd, m.signal, m.histogram
            ),
        ]
    };
    assert_eq!(study_texts(&root), expected(&held));
    assert_eq!(
        root.query_selector("#chart")
            .unwrap()
            .unwrap()
            .get_attribute("data-panes")
            .as_deref(),
        Some("3")
    );

    // The forming candle moves: the newest values follow.
    let moved = m1(39 * 60, "1.08190", "1.08321");
    held[39] = moved;
    stream.receive_text(&update_frame(&moved, 2));
    stream.process_queue();
    next_frame().await;
    next_frame().await;
    assert_eq!(study_texts(&root), expected(&held));
}

#[wasm_bindgen_test]
async fn three_studies_draw_two_panes_below_the_price_and_end_at_shareds_values() {
    load_chart_library();
    // Mounting starts the executor that signals and tasks need.
    mount_to(fresh_root(), || ()).forget();
    let root = fresh_root();
    root.style().set_property("width", "800px").unwrap();
    root.style().set_property("height", "600px").unwrap();
    let mut chart = Chart::new(&root, &TimeFormat::new("UTC").unwrap()).unwrap();
    let enabled = parse_all(&["ema:20", "rsi:14", "macd:12:26:9"]);
    let owner = Owner::new();
    let studies = owner.with(|| Studies::new(RwSignal::new(enabled.clone())));
    let series = (Asset::new("EURUSD_otc"), Timeframe::M1);
    let mut held = candles(80);
    let mut buffer = CandleBuffer::new(1000);
    buffer.replace_all(held.clone());
    chart.draw(&Redraw::initial(), &buffer, Timeframe::M1);
    studies.sync(&mut chart, &Redraw::initial(), &buffer, series);
    next_frame().await;
    assert_eq!(chart.pane_count(), 3);

    let check = |chart: &Chart, held: &[Candle]| {
        let drawn = chart.newest_study_values();
        let numbers: Vec<Vec<Option<f64>>> = enabled
            .iter()
            .map(|s| match newest(*s, held) {
                Value::Line { value } => vec![Some(value)],
                Value::Bands(b) => vec![Some(b.basis), Some(b.upper), Some(b.lower)],
                Value::Macd(m) => vec![Some(m.macd), Some(m.signal), Some(m.histogram)],
            })
            .collect();
        assert_eq!(drawn, numbers);
    };
    check(&chart, &held);

    // A new candle opens: drawn incrementally, still shared's values.
    let next = m1(80 * 60, "1.08211", "1.08187");
    held.push(next);
    buffer.apply(next);
    let mut redraw = Redraw::default();
    redraw.mark(next.open_time());
    chart.draw(&redraw, &buffer, Timeframe::M1);
    studies.sync(&mut chart, &redraw, &buffer, series);
    check(&chart, &held);

    // Two studies fewer: the panes go with them.
    studies.enabled().set(parse_all(&["ema:20"]));
    studies.sync(&mut chart, &Redraw::default(), &buffer, series);
    assert_eq!(chart.pane_count(), 1);
    assert_eq!(chart.newest_study_values().len(), 1);
    chart.remove();
}

#[wasm_bindgen_test]
async fn study_points_are_shifted_into_the_zone_with_the_candles() {
    load_chart_library();
    mount_to(fresh_root(), || ()).forget();
    let root = fresh_root();
    root.style().set_property("width", "800px").unwrap();
    root.style().set_property("height", "600px").unwrap();
    let mut chart = Chart::new(&root, &TimeFormat::new("America/New_York").unwrap()).unwrap();
    let owner = Owner::new();
    let studies =
        owner.with(|| Studies::new(RwSignal::new(parse_all(&["sma:5", "bb:5:2", "macd:3:6:2"]))));
    let series = (Asset::new("EURUSD_otc"), Timeframe::M1);
    let mut buffer = CandleBuffer::new(1000);
    buffer.replace_all(candles(40));
    chart.draw(&Redraw::initial(), &buffer, Timeframe::M1);
    studies.sync(&mut chart, &Redraw::initial(), &buffer, series);
    next_frame().await;
    let in_step = |chart: &Chart, buffer: &CandleBuffer, offset_hours: i64| {
        let newest_real = buffer.iter().last().unwrap().open_time();
        let shown = chart.newest_candle_time().unwrap();
        #[allow(clippy::cast_precision_loss)]
        let expected = (newest_real + offset_hours * 3600) as f64;
        assert_eq!(shown, expected);
        for (study, times) in chart.newest_study_times().iter().enumerate() {
            for time in times {
                assert_eq!(*time, Some(shown), "study {study}");
            }
        }
    };
    // BASE (late November) is in EST.
    in_step(&chart, &buffer, -5);
    // A new candle, drawn incrementally.
    let next = m1(40 * 60, "1.08211", "1.08187");
    buffer.apply(next);
    let mut redraw = Redraw::default();
    redraw.mark(next.open_time());
    chart.draw(&redraw, &buffer, Timeframe::M1);
    studies.sync(&mut chart, &redraw, &buffer, series);
    assert_eq!(
        chart.newest_candle_time(),
        Some((next.open_time() - 5 * 3600) as f64)
    );
    in_step(&chart, &buffer, -5);
    // Another zone: candles and studies move together.
    chart.set_time_format(&TimeFormat::new("Asia/Tokyo").unwrap());
    in_step(&chart, &buffer, 9);
    chart.remove();
}

/// Sets the menu's `id` field to `value` as typing does.
fn type_into(root: &HtmlElement, id: &str, value: &str) {
    let element: web_sys::HtmlInputElement = root
        .query_selector(&format!("#{id}"))
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    element.set_value(value);
    element
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

fn click(root: &HtmlElement, selector: &str) {
    root.query_selector(selector)
        .unwrap()
        .unwrap()
        .dyn_into::<HtmlElement>()
        .unwrap()
        .click();
}

fn problem(root: &HtmlElement) -> Option<String> {
    root.query_selector(".indicator-problem")
        .unwrap()
        .and_then(|e| e.text_content())
}

#[wasm_bindgen_test]
async fn the_menu_adds_within_shareds_limits_and_eight_at_most_and_removes() {
    let root = fresh_root();
    let enabled = RwSignal::new(Vec::<Study>::new());
    mount_to(root.clone(), move || {
        view! { <IndicatorMenu studies=Studies::new(enabled) /> }
    })
    .forget();
    type_into(&root, "indicator-period", "501");
    click(&root, "#indicator-add");
    tick().await;
    assert!(
        problem(&root)
            .is_some_and(|p| p.starts_with("period: must be a whole number from 1 to 500")),
        "{:?}",
        problem(&root)
    );
    assert!(enabled.get_untracked().is_empty());

    // MACD takes three periods; Bollinger a multiplier.
    let select: web_sys::HtmlSelectElement = root
        .query_selector("#indicator-kind")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    select.set_value("macd");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    tick().await;
    click(&root, "#indicator-add");
    tick().await;
    select.set_value("bb");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    tick().await;
    type_into(&root, "indicator-mult", "2.5");
    click(&root, "#indicator-add");
    tick().await;
    assert_eq!(
        enabled.get_untracked(),
        parse_all(&["macd:12:26:9", "bb:20:2.5"])
    );
    assert_eq!(problem(&root), None);

    // Eight at most.
    select.set_value("sma");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    for period in 1..=7 {
        type_into(&root, "indicator-period", &period.to_string());
        click(&root, "#indicator-add");
        tick().await;
    }
    assert_eq!(enabled.get_untracked().len(), 8);
    assert_eq!(
        problem(&root).as_deref(),
        Some("at most 8 indicators on a chart")
    );
    click(&root, ".indicator-remove[data-study=\"bb:20:2.5\"]");
    tick().await;
    assert_eq!(enabled.get_untracked().len(), 7);
    assert_eq!(
        root.query_selector_all(".indicator-on").unwrap().length(),
        7
    );
}
