//! The chart against the real lightweight-charts library in headless
//! Chromium: candles drawn with their volume, gaps as whitespace, live,
//! out-of-order and revised candles without an exception, the legend showing
//! the exact prices, and older history put in front.
#![cfg(target_arch = "wasm32")]

mod common;

use client::components::{CandleChart, Legend};
use client::stream::{DataStream, StreamOptions};
use common::{BASE, fresh_root, load_chart_library, m1, next_frame, snapshot_frame, update_frame};
use leptos::prelude::*;
use shared::Timeframe;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// A chart and legend on a stream without a socket.
fn mount_chart() -> (HtmlElement, DataStream) {
    load_chart_library();
    let root = fresh_root();
    root.style().set_property("width", "800px").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    mount_to(root.clone(), move || {
        let stream = DataStream::new(&StreamOptions {
            connect: false,
            ..StreamOptions::default()
        });
        tx.send(stream).unwrap();
        let (zone, _) = signal("UTC".to_owned());
        let (hovered, set_hovered) = signal(None);
        view! {
            <Legend stream=stream hovered=hovered zone=zone />
            <CandleChart stream=stream zone=zone set_hovered=set_hovered />
        }
    })
    .forget();
    (root, rx.recv().unwrap())
}

fn attribute(root: &HtmlElement, selector: &str, name: &str) -> Option<String> {
    root.query_selector(selector)
        .unwrap()
        .and_then(|e| e.get_attribute(name))
}

/// Applies the queue and waits until the chart has drawn.
async fn settle(stream: &DataStream) {
    stream.process_queue();
    next_frame().await;
    next_frame().await;
}

#[wasm_bindgen_test]
async fn draws_candles_with_gaps_then_live_out_of_order_and_revised_updates() {
    let (root, stream) = mount_chart();
    settle(&stream).await;
    assert!(root.query_selector_all("#chart canvas").unwrap().length() > 0);

    // Candles at 0, 60 and 240: two empty buckets drawn as whitespace.
    stream.receive_text(&snapshot_frame(
        Timeframe::M1,
        3,
        10,
        "subscribed",
        &[
            m1(0, "1.08200", "1.08231"),
            m1(60, "1.08231", "1.0822"),
            m1(240, "1.0822", "1.08250"),
        ],
    ));
    settle(&stream).await;
    assert_eq!(
        attribute(&root, "#chart", "data-points").as_deref(),
        Some("5")
    );
    assert_eq!(
        attribute(&root, "#legend", "data-close").as_deref(),
        Some("1.0825")
    );
    assert_eq!(
        attribute(&root, "#legend", "data-time"),
        Some((BASE + 240).to_string())
    );

    // Live: the forming candle moves, a new one opens after a gap.
    stream.receive_text(&update_frame(&m1(240, "1.0822", "1.08262"), 11));
    stream.receive_text(&update_frame(&m1(360, "1.08262", "1.08270"), 12));
    settle(&stream).await;
    assert_eq!(
        attribute(&root, "#chart", "data-points").as_deref(),
        Some("7")
    );
    assert_eq!(
        attribute(&root, "#legend", "data-close").as_deref(),
        Some("1.0827")
    );

    // Revised (older, held) and out of order (older, new time, in a gap):
    // neither throws, both are drawn.
    let revised = m1(60, "1.08231", "1.08199").with_state(shared::CandleState::Revised);
    stream.receive_text(&update_frame(&revised, 13));
    stream.receive_text(&update_frame(&m1(120, "1.0822", "1.0823"), 14));
    settle(&stream).await;
    assert_eq!(
        attribute(&root, "#chart", "data-points").as_deref(),
        Some("7")
    );
    assert_eq!(
        attribute(&root, "#legend", "data-candles").as_deref(),
        Some("5")
    );
    let closes: Vec<String> = stream
        .chart_data()
        .iter()
        .map(|c| c.close().to_string())
        .collect();
    assert_eq!(
        closes,
        ["1.08231", "1.08199", "1.0823", "1.08262", "1.0827"]
    );
    assert!(root.query_selector(".chart-error").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn a_full_redraw_after_many_changes_keeps_the_chart_consistent() {
    let (root, stream) = mount_chart();
    stream.receive_text(&snapshot_frame(Timeframe::M1, 1, 0, "subscribed", &[]));
    for i in 0..400 {
        stream.receive_text(&update_frame(&m1(i * 60, "1.1", "1.2"), 1 + i as u64));
    }
    settle(&stream).await;
    assert_eq!(
        attribute(&root, "#chart", "data-points").as_deref(),
        Some("400")
    );
    stream.receive_text(&snapshot_frame(
        Timeframe::M1,
        1,
        500,
        "lagged",
        &[m1(400 * 60, "1.2", "1.3")],
    ));
    settle(&stream).await;
    assert_eq!(
        attribute(&root, "#chart", "data-points").as_deref(),
        Some("401")
    );
    assert_eq!(stream.view().get_untracked().resyncs.lagged, 1);
}
