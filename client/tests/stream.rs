//! The data stream (the old design's `useDataStream`) in headless Chromium,
//! fed frames as the server writes them: the old design's three cases, then
//! resume, out-of-order and revised candles, timeframe switches and a
//! queue overflow.
#![cfg(target_arch = "wasm32")]

mod common;

use client::stream::{DRAWS_PER_FRAME, DataStream, MAX_QUEUED, StreamOptions};
use common::{BASE, candle, m1, snapshot_frame, update_frame};
use leptos::prelude::{GetUntracked, Owner};
use shared::{ClientMessage, ServerMessage, Timeframe};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// A stream with no socket, owned by a fresh reactive owner.
fn stream(max_buffer_size: usize) -> (Owner, DataStream) {
    let owner = Owner::new();
    owner.set();
    let options = StreamOptions {
        max_buffer_size,
        connect: false,
        ..StreamOptions::default()
    };
    (owner, DataStream::new(&options))
}

fn resume_point(s: &DataStream) -> (Option<u64>, Option<u64>, Option<Timeframe>) {
    match s.subscription() {
        Some(ClientMessage::SubscribeRedisUpdates(sub)) => (sub.epoch, sub.last_seq, sub.timeframe),
        other => panic!("not a subscription: {other:?}"),
    }
}

fn closes(s: &DataStream) -> Vec<(i64, String)> {
    s.chart_data()
        .iter()
        .map(|c| (c.open_time() - BASE, c.close().to_string()))
        .collect()
}

#[wasm_bindgen_test]
fn a_redis_update_sets_last_message_and_redis_connected() {
    let (_owner, s) = stream(1000);
    assert_eq!(s.redis_connected(), None);
    let frame = update_frame(&m1(0, "1.0820", "1.0823"), 1);
    s.receive_text(&frame);
    s.process_queue();
    assert_eq!(
        s.last_message(),
        Some(ServerMessage::from_json(&frame).unwrap())
    );
    assert_eq!(s.redis_connected(), Some(true));
}

#[wasm_bindgen_test]
fn with_max_buffer_size_5_ten_updates_leave_at_most_5_candles() {
    let (_owner, s) = stream(5);
    for i in 0..10 {
        s.receive_text(&update_frame(&m1(i * 60, "1.0820", "1.0821"), 1 + i as u64));
    }
    s.process_queue();
    let data = s.chart_data();
    assert!(data.len() <= 5, "{} candles", data.len());
    assert_eq!(data.len(), 5, "the newest five are kept");
    assert_eq!(data[0].open_time(), BASE + 300);
}

#[wasm_bindgen_test]
fn redis_status_connected_sets_redis_connected() {
    let (_owner, s) = stream(1000);
    s.receive_text(
        r#"{"event":"redis_status","data":{"connected":true,"timestamp":"2026-11-26T00:00:00.000Z"}}"#,
    );
    s.process_queue();
    assert_eq!(s.redis_connected(), Some(true));
    s.receive_text(
        r#"{"event":"redis_status","data":{"connected":false,"timestamp":"2026-11-26T00:00:01.000Z"}}"#,
    );
    s.process_queue();
    assert_eq!(s.redis_connected(), Some(false));
}

#[wasm_bindgen_test]
fn a_reconnection_resumes_without_gap_or_duplicate() {
    let (_owner, s) = stream(1000);
    assert_eq!(resume_point(&s), (None, None, Some(Timeframe::M1)));
    s.receive_text(&snapshot_frame(
        Timeframe::M1,
        9,
        20,
        "subscribed",
        &[m1(0, "1.1", "1.2")],
    ));
    s.receive_text(&update_frame(&m1(0, "1.1", "1.25"), 21));
    s.receive_text(&update_frame(&m1(60, "1.25", "1.3"), 22));
    s.process_queue();
    // The socket drops here; the next subscription resumes after 22.
    assert_eq!(resume_point(&s), (Some(9), Some(22), Some(Timeframe::M1)));
    // The server sends what was missed, possibly from before the cut.
    for (c, seq) in [
        (m1(60, "1.25", "1.3"), 22),
        (m1(60, "1.25", "1.35"), 23),
        (m1(120, "1.35", "1.4"), 24),
    ] {
        s.receive_text(&update_frame(&c, seq));
    }
    s.process_queue();
    assert_eq!(
        closes(&s),
        [
            (0, "1.25".to_owned()),
            (60, "1.35".to_owned()),
            (120, "1.4".to_owned())
        ]
    );
    assert_eq!(resume_point(&s).1, Some(24));
    assert_eq!(s.view().get_untracked().resyncs.resumed, 1);
}

#[wasm_bindgen_test]
fn out_of_order_and_revised_candles_land_in_place() {
    let (_owner, s) = stream(1000);
    s.receive_text(&snapshot_frame(Timeframe::M1, 1, 0, "subscribed", &[]));
    s.receive_text(&update_frame(&m1(180, "1.3", "1.31"), 1));
    s.receive_text(&update_frame(&m1(60, "1.1", "1.11"), 2));
    s.receive_text(&update_frame(&m1(120, "1.2", "1.21"), 3));
    let revised = m1(60, "1.1", "1.09").with_state(shared::CandleState::Revised);
    s.receive_text(&update_frame(&revised, 4));
    s.process_queue();
    assert_eq!(
        closes(&s),
        [
            (60, "1.09".to_owned()),
            (120, "1.21".to_owned()),
            (180, "1.31".to_owned())
        ]
    );
}

#[wasm_bindgen_test]
fn a_timeframe_switch_drops_the_old_series() {
    let (_owner, s) = stream(1000);
    s.receive_text(&snapshot_frame(
        Timeframe::M1,
        1,
        5,
        "subscribed",
        &[m1(0, "1.1", "1.2")],
    ));
    s.process_queue();
    s.show(shared::Asset::new("EURUSD_otc"), Timeframe::M5);
    assert!(s.chart_data().is_empty());
    assert_eq!(resume_point(&s), (None, None, Some(Timeframe::M5)));
    // A late one-minute update is not drawn on the five-minute chart.
    s.receive_text(&update_frame(&m1(60, "1.2", "1.3"), 6));
    s.receive_text(&snapshot_frame(
        Timeframe::M5,
        1,
        2,
        "subscribed",
        &[candle(Timeframe::M5, 0, "1.1", "1.3", 12)],
    ));
    s.process_queue();
    assert_eq!(closes(&s), [(0, "1.3".to_owned())]);
    assert_eq!(s.view().get_untracked().timeframe, Timeframe::M5);
}

#[wasm_bindgen_test]
fn a_queue_overflow_starts_over_from_a_snapshot() {
    let (_owner, s) = stream(1000);
    s.receive_text(&snapshot_frame(Timeframe::M1, 1, 5, "subscribed", &[]));
    s.process_queue();
    let frame = ServerMessage::from_json(&update_frame(&m1(0, "1.1", "1.2"), 6)).unwrap();
    // The first few are drawn as they come (the frame's budget), the rest
    // queue until the queue overflows.
    for _ in 0..=MAX_QUEUED + usize::from(DRAWS_PER_FRAME) {
        s.receive(frame.clone());
    }
    assert_eq!(resume_point(&s).1, None, "no resume after lost updates");
    s.process_queue();
    assert_eq!(s.view().get_untracked().resyncs.overflowed, 1);
}

#[wasm_bindgen_test]
fn a_switch_keeps_the_messages_that_are_not_candles() {
    let (_owner, s) = stream(1000);
    s.receive_text(&snapshot_frame(Timeframe::M1, 1, 5, "subscribed", &[]));
    s.receive_text(&update_frame(&m1(0, "1.1", "1.2"), 6));
    s.receive_text(
        r#"{"event":"stream_started","data":{"asset":"EURUSD_otc","timestamp":"2026-11-26T00:00:00.000Z"}}"#,
    );
    s.receive_text(r#"{"event":"error","data":{"message":"slow down"}}"#);
    s.show(shared::Asset::new("EURUSD_otc"), Timeframe::M5);
    s.process_queue();
    assert!(s.chart_data().is_empty(), "the old series' update is gone");
    let view = s.view().get_untracked();
    assert_eq!(
        view.streaming,
        client::model::Streaming::Running(shared::Asset::new("EURUSD_otc"))
    );
    assert_eq!(view.error.as_deref(), Some("slow down"));
}
