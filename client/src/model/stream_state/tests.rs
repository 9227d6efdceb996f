//! The stream state driven by server messages, as the old design's
//! `useDataStream` tests drove the hook, and beyond: resume, out-of-order and
//! revised candles, timeframe switches.

use shared::protocol::{
    CandleSnapshot, CandleUpdate, HistoricalData, HistorySource, RedisStatus, SnapshotReason,
    Subscribe,
};
use shared::{Asset, ClientMessage, ServerMessage, Timeframe};
use wasm_bindgen_test::wasm_bindgen_test;

use super::*;
use crate::model::testing::{BASE, candle, candle_of};

fn eur() -> Asset {
    Asset::new("EURUSD_otc")
}

fn update(c: Candle, seq: u64) -> ServerMessage {
    ServerMessage::RedisUpdate(CandleUpdate { data: c, seq })
}

fn snapshot(epoch: u64, seq: u64, reason: SnapshotReason, data: Vec<Candle>) -> ServerMessage {
    ServerMessage::CandleSnapshot(CandleSnapshot {
        asset: eur(),
        timeframe: Timeframe::M1,
        seq,
        epoch,
        reason,
        data,
    })
}

fn status(connected: bool) -> ServerMessage {
    ServerMessage::RedisStatus(RedisStatus {
        connected,
        redis_info: serde_json::Map::new(),
        batch_status: serde_json::Map::new(),
        live: serde_json::Map::new(),
        feeds: Default::default(),
        timestamp: "2026-01-01T00:00:00Z".into(),
    })
}

fn closes(s: &StreamState) -> Vec<(i64, String)> {
    s.buffer()
        .iter()
        .map(|c| (c.open_time() - BASE, c.close().to_string()))
        .collect()
}

fn subscription(s: &mut StreamState) -> Subscribe {
    match s.subscribe() {
        ClientMessage::SubscribeRedisUpdates(sub) => sub,
        other => panic!("not a subscription: {other:?}"),
    }
}

#[wasm_bindgen_test]
fn a_redis_update_sets_last_message_and_redis_connected() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    assert_eq!(s.redis_connected(), None);
    let message = update(candle(0, "1.0823"), 1);
    s.handle(message.clone(), 0.0);
    assert_eq!(s.last_message(), Some(&message));
    assert_eq!(s.redis_connected(), Some(true));
    assert_eq!(closes(&s), [(0, "1.0823".to_owned())]);
}

#[wasm_bindgen_test]
fn with_max_buffer_size_5_ten_updates_leave_five_candles() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 5);
    for i in 0..10 {
        s.handle(update(candle(i * 60, "1.0820"), 1 + i.unsigned_abs()), 0.0);
    }
    assert_eq!(s.buffer().len(), 5);
    assert_eq!(closes(&s)[0].0, 300, "the oldest went first");
}

#[wasm_bindgen_test]
fn redis_status_sets_redis_connected_and_wins_over_updates() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    s.handle(status(true), 0.0);
    assert_eq!(s.redis_connected(), Some(true));
    s.handle(status(false), 0.0);
    s.handle(update(candle(0, "1.1"), 1), 0.0);
    assert_eq!(s.redis_connected(), Some(false));
}

#[wasm_bindgen_test]
fn a_resume_applies_each_missed_update_once() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    let _ = s.subscribe();
    s.handle(
        snapshot(7, 10, SnapshotReason::Subscribed, vec![candle(0, "1.10")]),
        0.0,
    );
    s.handle(update(candle(0, "1.11"), 11), 0.0);
    s.handle(update(candle(60, "1.12"), 12), 0.0);
    // The socket drops; the reconnection resumes after update 12 of epoch 7.
    let sub = subscription(&mut s);
    assert_eq!((sub.epoch, sub.last_seq), (Some(7), Some(12)));
    assert_eq!(sub.timeframe, Some(Timeframe::M1));
    // The server may repeat what was applied; only what is new counts.
    for (c, seq) in [
        (candle(60, "1.12"), 12),
        (candle(60, "1.13"), 13),
        (candle(120, "1.14"), 15),
        (candle(60, "1.13"), 13),
    ] {
        s.handle(update(c, seq), 0.0);
    }
    assert_eq!(
        closes(&s),
        [
            (0, "1.11".to_owned()),
            (60, "1.13".to_owned()),
            (120, "1.14".to_owned())
        ]
    );
    assert_eq!(s.cursor().position(), Some((7, 15)));
    assert_eq!(s.resyncs().resumed, 1);
    assert_eq!(s.resyncs().restarts(), 0);
}

#[wasm_bindgen_test]
fn a_resume_too_old_or_a_lag_joining_the_candles_merges_and_is_counted() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    s.handle(
        snapshot(7, 3, SnapshotReason::Subscribed, vec![candle(0, "1.1")]),
        0.0,
    );
    s.handle(
        snapshot(
            8,
            50,
            SnapshotReason::ResumeTooOld,
            vec![candle(0, "1.2"), candle(60, "1.3")],
        ),
        0.0,
    );
    s.handle(
        snapshot(8, 90, SnapshotReason::Lagged, vec![candle(60, "1.4")]),
        0.0,
    );
    assert_eq!(closes(&s), [(0, "1.2".to_owned()), (60, "1.4".to_owned())]);
    assert_eq!(s.resyncs().resume_too_old, 1);
    assert_eq!(s.resyncs().lagged, 1);
    assert_eq!(s.cursor().position(), Some((8, 90)));
    let redraw = s.take_redraw();
    assert!(redraw.is_full());
}

#[wasm_bindgen_test]
fn out_of_order_and_revised_candles_update_in_place() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    s.handle(snapshot(1, 0, SnapshotReason::Subscribed, vec![]), 0.0);
    s.take_redraw();
    s.handle(update(candle(120, "1.3"), 1), 0.0);
    s.handle(update(candle(0, "1.1"), 2), 0.0);
    s.handle(update(candle(60, "1.2"), 3), 0.0);
    let revised = candle(0, "1.15").with_state(shared::CandleState::Revised);
    s.handle(update(revised, 4), 0.0);
    assert_eq!(
        closes(&s),
        [
            (0, "1.15".to_owned()),
            (60, "1.2".to_owned()),
            (120, "1.3".to_owned())
        ]
    );
    let redraw = s.take_redraw();
    assert!(!redraw.is_full());
    assert_eq!(redraw.changed(), [BASE + 120, BASE, BASE + 60, BASE]);
    assert!(s.take_redraw().is_empty());
}

#[wasm_bindgen_test]
fn a_timeframe_switch_starts_the_new_series_from_scratch() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    s.handle(
        snapshot(7, 10, SnapshotReason::Subscribed, vec![candle(0, "1.1")]),
        0.0,
    );
    s.switch(eur(), Timeframe::M5);
    assert!(s.buffer().is_empty());
    let sub = subscription(&mut s);
    assert_eq!(
        (sub.timeframe, sub.last_seq, sub.epoch),
        (Some(Timeframe::M5), None, None)
    );
    // A late frame of the old series changes nothing.
    s.handle(update(candle(60, "1.2"), 11), 0.0);
    assert!(s.buffer().is_empty());
    s.handle(update(candle_of(Timeframe::M5, 300, "1.3", 4), 1), 0.0);
    assert_eq!(closes(&s), [(300, "1.3".to_owned())]);
    assert!(s.take_redraw().fit());
}

#[wasm_bindgen_test]
fn history_fills_in_behind_live_candles_and_names_its_source() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    s.handle(
        snapshot(1, 5, SnapshotReason::Subscribed, vec![candle(120, "2.0")]),
        0.0,
    );
    s.handle(
        ServerMessage::CachedHistoricalData(HistoricalData {
            asset: eur(),
            timeframe: Timeframe::M1,
            data: Some(vec![
                candle(0, "1.0"),
                candle(60, "1.0"),
                candle(120, "1.0"),
            ]),
            source: HistorySource::Database,
        }),
        0.0,
    );
    assert_eq!(s.history_source(), Some(HistorySource::Database));
    assert_eq!(
        closes(&s),
        [
            (0, "1".to_owned()),
            (60, "1".to_owned()),
            (120, "2".to_owned())
        ]
    );
    let request = s.older_request(300).unwrap();
    assert_eq!(request.to, BASE - 60);
    let older = [candle(-120, "0.9"), candle(-60, "0.9")];
    assert_eq!(s.add_older(&request, &older), OlderOutcome::Added(2));
    assert_eq!(s.buffer().len(), 5);
}

#[wasm_bindgen_test]
fn an_overflow_of_the_page_queue_asks_for_a_snapshot() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    s.handle(snapshot(7, 10, SnapshotReason::Subscribed, vec![]), 0.0);
    s.overflowed();
    assert_eq!(subscription(&mut s).last_seq, None);
    assert_eq!(s.resyncs().overflowed, 1);
}

#[wasm_bindgen_test]
fn evictions_redraw_everything_once_a_tenth_has_gone() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 20);
    s.handle(snapshot(1, 0, SnapshotReason::Subscribed, vec![]), 0.0);
    for i in 0..21 {
        s.handle(update(candle(i * 60, "1.1"), 1 + i.unsigned_abs()), 0.0);
    }
    s.take_redraw();
    s.handle(update(candle(21 * 60, "1.1"), 30), 0.0);
    assert!(!s.take_redraw().is_full(), "one evicted of 20");
    s.handle(update(candle(22 * 60, "1.1"), 31), 0.0);
    assert!(s.take_redraw().is_full(), "two evicted of 20: a tenth");
    s.handle(update(candle(23 * 60, "1.1"), 32), 0.0);
    assert!(!s.take_redraw().is_full());
}

#[wasm_bindgen_test]
fn history_is_asked_for_once_per_series_after_its_snapshot() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    let _ = s.subscribe();
    assert_eq!(s.history_request(), None, "not before the snapshot");
    s.handle(snapshot(1, 0, SnapshotReason::Subscribed, vec![]), 0.0);
    assert_eq!(s.history_request(), None, "not before the chart has it");
    let _ = s.take_redraw();
    assert!(matches!(
        s.history_request(),
        Some(ClientMessage::GetCachedHistoricalData(_))
    ));
    assert_eq!(s.history_request(), None, "once");
    // The connection dropped before the answer: asked again after resuming.
    let _ = s.subscribe();
    assert!(s.history_request().is_some());
    s.switch(eur(), Timeframe::H1);
    assert_eq!(s.history_request(), None);
}

#[wasm_bindgen_test]
fn the_server_judging_the_source_stale_shows_until_an_update_comes() {
    use shared::protocol::FeedHealth;
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    s.handle(update(candle(0, "1.0823"), 1), 0.0);
    assert_eq!(s.feed(100.0), FeedState::Live);
    let ServerMessage::RedisStatus(mut st) = status(true) else {
        unreachable!()
    };
    st.feeds.insert(
        eur(),
        FeedHealth {
            stale: true,
            last_tick_ms: 0,
            usual_interval_ms: Some(200),
        },
    );
    s.handle(ServerMessage::RedisStatus(st.clone()), 200.0);
    assert_eq!(s.feed(300.0), FeedState::Stale, "the server knows better");
    s.handle(update(candle(0, "1.0824"), 2), 400.0);
    assert_eq!(s.feed(500.0), FeedState::Live, "a fresh update clears it");
    // Another asset's staleness is not this chart's.
    st.feeds.insert(
        eur(),
        FeedHealth {
            stale: false,
            last_tick_ms: 0,
            usual_interval_ms: Some(200),
        },
    );
    st.feeds.insert(
        Asset::new("BTCUSD"),
        FeedHealth {
            stale: true,
            last_tick_ms: 0,
            usual_interval_ms: None,
        },
    );
    s.handle(ServerMessage::RedisStatus(st), 600.0);
    assert_eq!(s.feed(700.0), FeedState::Live);
}

#[wasm_bindgen_test]
fn history_is_asked_for_on_the_tick_after_the_snapshot_however_busy_the_feed() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    let _ = s.subscribe();
    // One tick: the snapshot and more updates; the chart has not drawn.
    s.handle(
        snapshot(1, 0, SnapshotReason::Subscribed, vec![candle(0, "1.0")]),
        0.0,
    );
    s.handle(update(candle(0, "1.1"), 1), 0.0);
    assert_eq!(
        s.end_tick(),
        None,
        "the snapshot's own tick leaves it to the chart"
    );
    // The next ticks bring updates again, so something always waits to be
    // drawn: the request goes out anyway, once.
    for seq in 2..6 {
        s.handle(update(candle(0, "1.2"), seq), 0.0);
        assert!(s.needs_redraw());
        let request = s.end_tick();
        assert_eq!(
            request.is_some(),
            seq == 2,
            "tick with update {seq}: {request:?}"
        );
    }
}

#[wasm_bindgen_test]
fn a_snapshot_after_a_long_disconnection_replaces_the_candles_and_asks_history_again() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 1000);
    let _ = s.subscribe();
    s.handle(
        snapshot(
            7,
            10,
            SnapshotReason::Subscribed,
            vec![candle(0, "1.0"), candle(60, "1.1")],
        ),
        0.0,
    );
    let _ = s.take_redraw();
    assert!(s.history_request().is_some());
    let history = ServerMessage::CachedHistoricalData(HistoricalData {
        asset: eur(),
        timeframe: Timeframe::M1,
        data: Some(vec![candle(-60, "0.9")]),
        source: HistorySource::Database,
    });
    s.handle(history, 0.0);
    let _ = s.take_redraw();
    let generation = s.generation();
    let late = s.older_request(300).unwrap();
    // Disconnected for long: the resume is too old, and the snapshot starts
    // ten periods after the newest candle held.
    let sub = subscription(&mut s);
    assert_eq!(sub.last_seq, Some(10));
    assert_eq!(s.history_request(), None, "answered before the cut");
    s.handle(
        snapshot(
            8,
            500,
            SnapshotReason::ResumeTooOld,
            vec![candle(660, "1.5"), candle(720, "1.6")],
        ),
        0.0,
    );
    assert_eq!(
        closes(&s),
        [(660, "1.5".to_owned()), (720, "1.6".to_owned())],
        "no stale candles left before a hole"
    );
    assert_eq!(s.resyncs().resume_too_old, 1);
    assert_eq!(s.history_source(), None);
    assert_ne!(s.generation(), generation, "older history starts over");
    assert_eq!(
        s.add_older(&late, &[candle(-120, "0.8")]),
        OlderOutcome::Stale,
        "a page asked for before the hole is dropped"
    );
    let redraw = s.take_redraw();
    assert!(redraw.is_full() && redraw.fit());
    assert!(
        matches!(
            s.history_request(),
            Some(ClientMessage::GetCachedHistoricalData(_))
        ),
        "history is asked again to fill in behind the snapshot"
    );
    // A lagged snapshot that joins what is held (one period on) still merges.
    s.handle(
        snapshot(8, 600, SnapshotReason::Lagged, vec![candle(780, "1.7")]),
        0.0,
    );
    assert_eq!(closes(&s).len(), 3);
}

#[wasm_bindgen_test]
fn older_history_ends_only_on_an_empty_page_and_drops_stale_pages() {
    let mut s = StreamState::new(eur(), Timeframe::M1, 4);
    assert_eq!(s.older_request(300), None, "nothing held yet");
    s.handle(
        snapshot(1, 0, SnapshotReason::Subscribed, vec![candle(600, "1.0")]),
        0.0,
    );
    let request = s.older_request(300).unwrap();
    assert_eq!((request.to, request.limit), (BASE + 540, 3));
    // Candles already held are no end of history.
    s.buffer.apply(candle(540, "1.0"));
    assert_eq!(
        s.add_older(&request, &[candle(540, "0.9")]),
        OlderOutcome::Added(0)
    );
    assert_eq!(s.add_older(&request, &[]), OlderOutcome::Exhausted);
    assert_eq!(
        s.add_older(&request, &[candle(420, "0.9"), candle(480, "0.9")]),
        OlderOutcome::Added(2)
    );
    assert_eq!(s.older_request(300).unwrap().limit, 0, "full");
    assert_eq!(
        s.add_older(&request, &[candle(0, "0.9")]),
        OlderOutcome::Full
    );
    // A switch A→B→A: same series, but a request from before is stale.
    s.switch(eur(), Timeframe::M5);
    s.switch(eur(), Timeframe::M1);
    s.handle(
        snapshot(1, 0, SnapshotReason::Subscribed, vec![candle(600, "1.0")]),
        0.0,
    );
    assert_eq!(
        s.add_older(&request, &[candle(540, "0.9")]),
        OlderOutcome::Stale
    );
    assert_eq!(closes(&s), [(600, "1".to_owned())]);
}
