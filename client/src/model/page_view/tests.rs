//! Reading and writing the page's view in the address: round trips, the
//! one-chart form, layouts, and junk falling back field by field.

use wasm_bindgen_test::wasm_bindgen_test;

use super::*;

fn any_zone(_: &str) -> bool {
    true
}

fn known_zone(zone: &str) -> bool {
    ["UTC", "America/New_York", "Asia/Tokyo"].contains(&zone)
}

fn chart(asset: &str, timeframe: &str, studies: &[&str]) -> ChartView {
    ChartView {
        asset: Asset::new(asset),
        timeframe: timeframe.parse().unwrap(),
        studies: studies.iter().map(|s| s.parse().unwrap()).collect(),
    }
}

#[wasm_bindgen_test]
fn reads_the_one_chart_form() {
    let view = PageView::from_query(
        "?asset=EURUSD_otc&timeframe=5M&tz=America/New_York&indicators=sma:20,rsi:14",
        known_zone,
    );
    assert_eq!(view.zone, "America/New_York");
    assert_eq!(
        view.charts,
        [chart("EURUSD_otc", "5M", &["sma:20", "rsi:14"])]
    );
}

#[wasm_bindgen_test]
fn an_empty_query_is_the_default_view() {
    assert_eq!(PageView::from_query("", any_zone), PageView::default());
    assert_eq!(PageView::from_query("?", any_zone), PageView::default());
}

#[wasm_bindgen_test]
fn round_trips_one_chart_and_layouts() {
    let views = [
        PageView {
            zone: "America/New_York".into(),
            charts: vec![chart(
                "BTCUSD",
                "1H",
                &["sma:20", "bb:20:2", "macd:12:26:9"],
            )],
        },
        PageView::default(),
        PageView {
            zone: "Asia/Tokyo".into(),
            charts: vec![
                chart("EURUSD_otc", "5M", &["rsi:14"]),
                chart("BTCUSD", "1D", &[]),
            ],
        },
        PageView {
            zone: "UTC".into(),
            charts: vec![
                chart("A", "1M", &[]),
                chart("B", "15M", &["ema:9"]),
                chart("C", "4H", &[]),
                chart("D", "30M", &["bb:20:2.5", "sma:50"]),
            ],
        },
    ];
    for view in views {
        let query = view.to_query();
        assert_eq!(PageView::from_query(&query, known_zone), view, "{query}");
    }
}

#[wasm_bindgen_test]
fn writes_a_compact_readable_address() {
    let one = PageView {
        zone: "America/New_York".into(),
        charts: vec![chart("EURUSD_otc", "5M", &["sma:20", "rsi:14"])],
    };
    assert_eq!(
        one.to_query(),
        "?asset=EURUSD_otc&timeframe=5M&tz=America/New_York&indicators=sma:20,rsi:14"
    );
    let two = PageView {
        zone: "UTC".into(),
        charts: vec![
            chart("EURUSD_otc", "5M", &["sma:20"]),
            chart("BTCUSD", "1H", &[]),
        ],
    };
    assert_eq!(
        two.to_query(),
        "?layout=2&tz=UTC&c0=EURUSD_otc,5M,sma:20&c1=BTCUSD,1H"
    );
}

#[wasm_bindgen_test]
fn junk_falls_back_field_by_field() {
    let view = PageView::from_query(
        "?asset=EUR%20USD&timeframe=7X&tz=Mars/Olympus&indicators=sma:0,foo:3,,rsi:14,rsi:14,sma:x",
        known_zone,
    );
    assert_eq!(view.zone, "UTC");
    assert_eq!(view.charts, [chart("EURUSD_otc", "1M", &["rsi:14"])]);
    // A good field beside bad ones is kept.
    let view = PageView::from_query("?asset=%3Cscript%3E&timeframe=1h", known_zone);
    assert_eq!(view.charts, [chart("EURUSD_otc", "1H", &[])]);
}

#[wasm_bindgen_test]
fn over_long_values_and_queries_are_bounded() {
    let long_asset = "A".repeat(5000);
    let view = PageView::from_query(&format!("?timeframe=5M&asset={long_asset}"), any_zone);
    assert_eq!(view.charts, [chart("EURUSD_otc", "5M", &[])]);
    let long_zone = format!("Europe/{}", "x".repeat(100));
    let view = PageView::from_query(&format!("?tz={long_zone}"), any_zone);
    assert_eq!(view.zone, "UTC");
    let many = vec!["sma:1"; 2000].join(",");
    let view = PageView::from_query(&format!("?indicators={many}"), any_zone);
    assert!(view.charts[0].studies.len() <= MAX_STUDIES);
    // Twenty distinct studies (130 characters, within the value's bound):
    // the first eight are kept.
    let distinct: Vec<String> = (1..=20).map(|p| format!("ema:{p}")).collect();
    let view = PageView::from_query(&format!("?indicators={}", distinct.join(",")), any_zone);
    assert_eq!(view.charts[0].studies.len(), MAX_STUDIES);
    assert_eq!(view.charts[0].studies[7].to_string(), "ema:8");
    // A huge query is read only up to its bound.
    let huge = format!("?timeframe=5M&junk={}", "%".repeat(100_000));
    assert_eq!(
        PageView::from_query(&huge, any_zone).charts[0].timeframe,
        Timeframe::M5
    );
}

#[wasm_bindgen_test]
fn layouts_are_one_two_or_four() {
    let view = PageView::from_query("?layout=4&c1=BTCUSD,1H&c3=junk!,5M,sma:3", any_zone);
    assert_eq!(
        view.charts,
        [
            ChartView::default(),
            chart("BTCUSD", "1H", &[]),
            ChartView::default(),
            chart("EURUSD_otc", "5M", &["sma:3"]),
        ]
    );
    for bad in ["3", "0", "-1", "99999999999999999999", "two"] {
        let view = PageView::from_query(&format!("?layout={bad}&asset=BTCUSD"), any_zone);
        assert_eq!(view.charts, [chart("BTCUSD", "1M", &[])], "layout={bad}");
    }
}

#[wasm_bindgen_test]
fn decodes_percent_escapes_and_survives_bad_ones() {
    assert_eq!(decode("America%2FNew_York"), "America/New_York");
    assert_eq!(decode("a+b"), "a b");
    assert_eq!(decode("100%"), "100%");
    assert_eq!(decode("%zz%4"), "%zz%4");
    assert_eq!(decode("%FF"), "\u{fffd}");
    assert_eq!(encode("Etc/GMT+5"), "Etc/GMT%2B5");
    assert_eq!(decode(&encode("Etc/GMT+5")), "Etc/GMT+5");
}
