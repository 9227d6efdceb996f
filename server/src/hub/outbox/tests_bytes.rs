//! The outbox's byte accounting and its snapshots built when sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use shared::protocol::SnapshotReason;
use shared::{Asset, Timeframe};

use super::{CandleKey, Captured, Outbox, OutboxLimits, Pushed, SeriesKey, SnapshotSource};

fn key(t: i64) -> CandleKey {
    (Asset::new("A"), Timeframe::M1, t)
}

fn limited(frames: usize, bytes: usize) -> (Outbox, Arc<AtomicUsize>) {
    let total = Arc::new(AtomicUsize::new(0));
    let outbox = Outbox::bounded(OutboxLimits { frames, bytes }, total.clone(), None);
    (outbox, total)
}

#[tokio::test]
async fn bytes_are_counted_in_and_out_and_into_the_total() {
    let (outbox, total) = limited(100, 1_000);
    outbox.push_frame("reply".into());
    outbox.push_update(key(0), "u0".into(), None);
    assert_eq!((outbox.bytes(), total.load(Ordering::Relaxed)), (7, 7));
    // A replaced update counts its new size only.
    outbox.push_update(key(0), "u0-longer".into(), None);
    assert_eq!(outbox.bytes(), 14);
    assert_eq!(outbox.next().await.as_deref(), Some("reply"));
    assert_eq!(outbox.bytes(), 9);
    outbox.push_snapshot("snap".into());
    outbox.close();
    assert_eq!((outbox.bytes(), total.load(Ordering::Relaxed)), (0, 0));
    // A dropped outbox takes its bytes off the total too.
    let (other, total) = limited(100, 1_000);
    other.push_frame("held".into());
    drop(other);
    assert_eq!(total.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn updates_past_the_byte_bound_make_the_session_lag() {
    let (outbox, total) = limited(100, 10);
    outbox.push_frame("ok".into());
    assert_eq!(
        outbox.push_update(key(0), "aaaa".into(), None),
        Pushed::Queued
    );
    // 2 + 4 + 4 = 10: still within.
    assert_eq!(
        outbox.push_update(key(60), "bbbb".into(), None),
        Pushed::Queued
    );
    assert_eq!(
        outbox.push_update(key(120), "c".into(), None),
        Pushed::Lagged { dropped: 3 }
    );
    // The reply stays; the updates went.
    assert_eq!((outbox.len(), outbox.bytes()), (1, 2));
    assert_eq!(total.load(Ordering::Relaxed), 2);
    // A snapshot that would pass the bound drops what is droppable first.
    outbox.push_update(key(0), "dddd".into(), None);
    outbox.push_snapshot("snapshot".into());
    assert_eq!(outbox.bytes(), 10);
    assert_eq!(outbox.next().await.as_deref(), Some("ok"));
    assert_eq!(outbox.next().await.as_deref(), Some("snapshot"));
}

#[tokio::test]
async fn replies_past_twice_the_byte_bound_close_the_session() {
    let (outbox, total) = limited(100, 10);
    assert_eq!(outbox.push_frame("0123456789".into()), Pushed::Queued);
    assert_eq!(outbox.push_frame("0123456789".into()), Pushed::Queued);
    assert_eq!(outbox.push_frame("x".into()), Pushed::Closed);
    assert_eq!(total.load(Ordering::Relaxed), 0);
    assert_eq!(outbox.next().await, None);
}

/// Takes snapshots numbered 1, 2, ... (of no candles), counting them.
#[derive(Debug, Default)]
struct Counting {
    built: AtomicUsize,
}

impl SnapshotSource for Counting {
    fn snapshot(
        &self,
        series: SeriesKey,
        reason: SnapshotReason,
        outbox: &Outbox,
    ) -> Option<Captured> {
        let n = self.built.fetch_add(1, Ordering::Relaxed) + 1;
        outbox.snapshot_taken(series);
        Some(captured(series, n as u64, reason))
    }
}

fn captured(series: SeriesKey, seq: u64, reason: SnapshotReason) -> Captured {
    Captured {
        series,
        seq,
        epoch: 0,
        reason,
        candles: Arc::default(),
    }
}

fn with_source(frames: usize, bytes: usize) -> (Outbox, Arc<Counting>) {
    let source = Arc::new(Counting::default());
    let outbox = Outbox::bounded(
        OutboxLimits { frames, bytes },
        Arc::default(),
        Some(source.clone()),
    );
    (outbox, source)
}

fn seq_of(frame: &str) -> u64 {
    match shared::ServerMessage::from_json(frame).unwrap() {
        shared::ServerMessage::CandleSnapshot(s) => s.seq,
        other => panic!("not a snapshot: {other:?}"),
    }
}

#[tokio::test]
async fn a_snapshot_is_queued_once_per_series_with_the_updates_behind_it() {
    let (outbox, _) = with_source(100, 10_000);
    let series = (Asset::new("A"), Timeframe::M1);
    outbox.push_update(key(0), "before".into(), None);
    outbox.push_series_snapshot(captured(series, 5, SnapshotReason::Subscribed));
    outbox.push_update(key(60), "after".into(), None);
    // Subscribing again while it waits: the one queued and the update
    // behind it are as exact, nothing more is queued.
    outbox.push_series_snapshot(captured(series, 6, SnapshotReason::Subscribed));
    assert_eq!(outbox.len(), 3);
    assert!(outbox.bytes() > 128);
    assert_eq!(outbox.next().await.as_deref(), Some("before"));
    assert_eq!(seq_of(&outbox.next().await.unwrap()), 5);
    assert_eq!(outbox.next().await.as_deref(), Some("after"));
    // Once sent, a new subscribe gets a new one.
    outbox.push_series_snapshot(captured(series, 7, SnapshotReason::Subscribed));
    assert_eq!(seq_of(&outbox.next().await.unwrap()), 7);
    assert_eq!(outbox.bytes(), 0);
}

#[tokio::test]
async fn past_the_byte_bound_a_snapshot_waits_as_a_marker_taken_when_sent() {
    // An empty snapshot counts 128 bytes: over a 100-byte bound.
    let (outbox, source) = with_source(100, 100);
    let series = (Asset::new("A"), Timeframe::M1);
    outbox.push_update(key(0), "before".into(), None);
    for _ in 0..5 {
        outbox.push_series_snapshot(captured(series, 99, SnapshotReason::Subscribed));
    }
    // Updates of the series while its marker waits are inside it.
    outbox.push_update(key(60), "inside".into(), None);
    assert_eq!((outbox.len(), outbox.bytes()), (2, 6));
    assert!(outbox.awaits_snapshot(series));
    assert_eq!(outbox.next().await.as_deref(), Some("before"));
    assert_eq!(seq_of(&outbox.next().await.unwrap()), 1);
    assert!(!outbox.awaits_snapshot(series));
    // From then on they queue after it.
    outbox.push_update(key(60), "after".into(), None);
    assert_eq!(outbox.next().await.as_deref(), Some("after"));
    assert_eq!(source.built.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_lag_keeps_replies_and_markers_and_drops_captured_snapshots() {
    let (outbox, _) = with_source(4, 150);
    let (series, other) = (
        (Asset::new("A"), Timeframe::M1),
        (Asset::new("B"), Timeframe::M1),
    );
    outbox.push_frame("reply".into());
    // 5 + 128 fits: captured. The next one would not: a marker.
    outbox.push_series_snapshot(captured(other, 3, SnapshotReason::Subscribed));
    outbox.push_series_snapshot(captured(series, 3, SnapshotReason::Subscribed));
    outbox.push_update((other.0, other.1, 0), "u0".into(), None);
    assert_eq!(
        outbox.push_update((other.0, other.1, 60), "u1".into(), None),
        Pushed::Lagged { dropped: 3 }
    );
    assert!(!outbox.awaits_snapshot(other));
    assert!(outbox.awaits_snapshot(series));
    assert_eq!(outbox.next().await.as_deref(), Some("reply"));
    assert_eq!(seq_of(&outbox.next().await.unwrap()), 1);
}
