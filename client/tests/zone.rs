//! Times shifted into a zone against the real lightweight-charts library in
//! headless Chromium: with New York picked, the day marks the library puts
//! on the time axis fall on New York midnights, on both sides of the
//! 2026-11-01 change from daylight-saving time.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use client::chart::TimeFormat;
use client::chart::bars::BarPoint;
use client::chart::bindings::{CANDLESTICK_SERIES, create_chart};
use client::chart::zone_time::{ZoneClock, ZoneTimes};
use common::{animation_frame, fresh_root, load_chart_library};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// 2026-10-30T04:00:00Z, midnight in New York (EDT).
const START: i64 = 1_793_332_800;
/// 2026-11-01T04:00:00Z and 2026-11-02T05:00:00Z: New York midnights
/// before and after the clocks went back.
const MIDNIGHTS: [i64; 2] = [1_793_505_600, 1_793_595_600];

#[wasm_bindgen_test]
async fn day_marks_fall_on_new_york_midnights_across_the_change() {
    load_chart_library();
    let root = fresh_root();
    root.style().set_property("width", "1200px").unwrap();
    root.style().set_property("height", "300px").unwrap();
    let marks: Rc<RefCell<Vec<(f64, u32)>>> = Rc::default();
    let seen = marks.clone();
    let formatter = Closure::<dyn Fn(f64, u32) -> String>::new(move |t: f64, kind: u32| {
        seen.borrow_mut().push((t, kind));
        String::new()
    });
    let options = Object::new();
    let time_scale = Object::new();
    Reflect::set(&time_scale, &"tickMarkFormatter".into(), formatter.as_ref()).unwrap();
    Reflect::set(&time_scale, &"timeVisible".into(), &true.into()).unwrap();
    Reflect::set(&options, &"timeScale".into(), &time_scale).unwrap();
    Reflect::set(&options, &"width".into(), &1200.into()).unwrap();
    Reflect::set(&options, &"height".into(), &300.into()).unwrap();
    let chart = create_chart(&root, &options).unwrap();
    let series = CANDLESTICK_SERIES.with(|d| chart.add_series(d, &Object::new()));

    // Four days of hourly bars, handed shifted into New York.
    let real: Vec<i64> = (0..96).map(|h| START + h * 3600).collect();
    let mut times = ZoneTimes::new(ZoneClock::new("America/New_York").unwrap());
    let shown = times.shift_all(&real).to_vec();
    let points: Vec<BarPoint> = shown
        .iter()
        .map(|t| BarPoint::Bar {
            time: *t,
            open: 1.0,
            high: 1.2,
            low: 0.9,
            close: 1.1,
        })
        .collect();
    series.set_data(&serde_wasm_bindgen::to_value(&points).unwrap());
    chart.time_scale().fit_content();
    animation_frame().await;
    animation_frame().await;

    let new_york = TimeFormat::new("America/New_York").unwrap();
    #[allow(clippy::cast_possible_truncation)]
    let days: Vec<i64> = marks
        .borrow()
        .iter()
        // Year (0), Month (1) and DayOfMonth (2) marks all start a day:
        // 2026-11-01 is a Month mark.
        .filter(|(_, kind)| *kind <= 2)
        .map(|(t, _)| times.unshift(*t as i64))
        .collect();
    assert!(days.len() >= 3, "day marks: {days:?}");
    for day in &days {
        #[allow(clippy::cast_precision_loss)]
        let label = new_york.date_time(*day as f64);
        assert!(label.ends_with(" 00:00"), "a day mark at {label} ({day})");
    }
    for midnight in MIDNIGHTS {
        assert!(days.contains(&midnight), "no mark at {midnight}: {days:?}");
    }
    chart.remove();
}
