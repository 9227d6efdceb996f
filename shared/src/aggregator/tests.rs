//! Unit tests of the aggregator's rules, one rule a test.

use super::*;
use crate::{CandleState, Price};

const T0: i64 = 1_705_314_600_000; // 2024-01-15T10:30:00Z, a 30-minute boundary

fn tick(asset: &str, price: &str, at: i64) -> Tick {
    Tick::new(Asset::new(asset), Price::new(price), TimestampMs::new(at))
}

fn one_minute(grace_ms: i64) -> Aggregator {
    Aggregator::new(AggregatorConfig {
        timeframes: vec![Timeframe::M1],
        grace_ms,
    })
}

fn ohlcv(c: &Candle) -> (String, String, String, String, u64) {
    (
        c.open().to_string(),
        c.high().to_string(),
        c.low().to_string(),
        c.close().to_string(),
        c.volume(),
    )
}

#[test]
fn ticks_in_one_bucket_update_the_forming_candle() {
    let mut agg = one_minute(0);
    let events = agg.ingest_all(&[
        tick("EURUSD", "1.0823", T0 + 1_000),
        tick("EURUSD", "1.0830", T0 + 2_000),
        tick("EURUSD", "1.0810", T0 + 3_000),
        tick("EURUSD", "1.0825", T0 + 4_000),
    ]);
    assert_eq!(events.len(), 4);
    assert!(
        events
            .iter()
            .all(|e| matches!(e, CandleEvent::Updated(c) if c.state() == CandleState::Forming))
    );
    let c = agg.forming(Asset::new("EURUSD"), Timeframe::M1).unwrap();
    assert_eq!(c.open_time(), T0 / 1000);
    assert_eq!(
        ohlcv(&c),
        (
            "1.0823".into(),
            "1.083".into(),
            "1.081".into(),
            "1.0825".into(),
            4
        )
    );
}

#[test]
fn a_later_bucket_closes_the_candle() {
    let mut agg = one_minute(0);
    let events = agg.ingest_all(&[tick("A", "1", T0), tick("A", "2", T0 + 60_000)]);
    assert!(
        matches!(events[1], CandleEvent::Closed(c) if c.open_time() == T0 / 1000 && c.state() == CandleState::Closed)
    );
    assert!(matches!(events[2], CandleEvent::Updated(c) if c.open_time() == T0 / 1000 + 60));
}

#[test]
fn the_clock_closes_a_quiet_market() {
    let mut agg = one_minute(0);
    let mut out = agg.ingest_all(&[tick("A", "1", T0 + 5_000)]);
    out.clear();
    agg.advance_to(TimestampMs::new(T0 + 59_999), &mut out);
    assert!(out.is_empty(), "bucket has not ended yet");
    agg.advance_to(TimestampMs::new(T0 + 60_000), &mut out);
    assert!(matches!(out.as_slice(), [CandleEvent::Closed(c)] if c.volume() == 1));
    assert_eq!(agg.forming(Asset::new("A"), Timeframe::M1), None);
    // The clock never runs back.
    out.clear();
    agg.advance_to(TimestampMs::new(T0), &mut out);
    assert!(out.is_empty());
}

#[test]
fn a_late_tick_inside_the_grace_window_revises() {
    let mut agg = one_minute(5_000);
    let mut out = agg.ingest_all(&[tick("A", "1.5", T0 + 58_000), tick("A", "1.6", T0 + 61_000)]);
    out.clear();
    // 3 s behind the newest tick, in the closed bucket, and the earliest of it.
    agg.ingest(&tick("A", "1.4", T0 + 57_000), &mut out);
    let [CandleEvent::Revised(c)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(c.state(), CandleState::Revised);
    assert_eq!(
        ohlcv(c),
        ("1.4".into(), "1.5".into(), "1.4".into(), "1.5".into(), 2)
    );
    assert_eq!(agg.stats().revisions, 1);
}

#[test]
fn a_late_tick_may_create_the_candle_its_bucket_lacked() {
    let mut agg = one_minute(120_000);
    let mut out = agg.ingest_all(&[tick("A", "1", T0), tick("A", "3", T0 + 120_000)]);
    out.clear();
    agg.ingest(&tick("A", "2", T0 + 60_000), &mut out);
    assert!(
        matches!(out.as_slice(), [CandleEvent::Revised(c)] if c.open_time() == T0 / 1000 + 60 && c.volume() == 1)
    );
}

#[test]
fn a_tick_after_the_timer_closed_its_bucket_revises() {
    let mut agg = one_minute(10_000);
    let mut out = agg.ingest_all(&[tick("A", "1", T0 + 50_000)]);
    agg.advance_to(TimestampMs::new(T0 + 60_500), &mut out);
    out.clear();
    agg.ingest(&tick("A", "2", T0 + 59_900), &mut out);
    assert!(
        matches!(out.as_slice(), [CandleEvent::Revised(c)] if c.close().to_string() == "2" && c.volume() == 2)
    );
}

#[test]
fn too_late_is_rejected_counted_and_changes_nothing() {
    let mut agg = one_minute(1_000);
    let mut out = agg.ingest_all(&[tick("A", "1", T0 + 10_000)]);
    let before = agg.forming(Asset::new("A"), Timeframe::M1);
    out.clear();
    let late = tick("A", "9", T0 + 8_999);
    agg.ingest(&late, &mut out);
    assert_eq!(
        out,
        vec![CandleEvent::LateTickRejected {
            tick: late,
            newest: TimestampMs::new(T0 + 10_000)
        }]
    );
    assert_eq!(agg.forming(Asset::new("A"), Timeframe::M1), before);
    assert_eq!(agg.stats().late_rejected, 1);
    assert_eq!(agg.stats().accepted, 1);
}

#[test]
fn equal_timestamps_keep_arrival_order() {
    let mut agg = one_minute(0);
    agg.ingest_all(&[tick("A", "2", T0), tick("A", "1", T0), tick("A", "3", T0)]);
    let c = agg.forming(Asset::new("A"), Timeframe::M1).unwrap();
    assert_eq!(
        (c.open().to_string(), c.close().to_string()),
        ("2".into(), "3".into())
    );
}

#[test]
fn assets_and_timeframes_are_independent() {
    let mut agg = Aggregator::new(AggregatorConfig::default());
    let events = agg.ingest_all(&[tick("A", "1", T0), tick("B", "5", T0 + 1)]);
    assert_eq!(events.len(), 14, "one update per timeframe per tick");
    for tf in Timeframe::ALL {
        assert_eq!(
            agg.forming(Asset::new("A"), tf)
                .unwrap()
                .close()
                .to_string(),
            "1"
        );
        assert_eq!(
            agg.forming(Asset::new("B"), tf)
                .unwrap()
                .close()
                .to_string(),
            "5"
        );
        assert_eq!(
            agg.forming(Asset::new("B"), tf).unwrap().open_time(),
            tf.bucket_of_millis(T0)
        );
    }
    assert_eq!(agg.forming(Asset::new("C"), Timeframe::M1), None);
}

#[test]
fn reports_silent_assets() {
    let mut agg = one_minute(0);
    agg.ingest_all(&[tick("A", "1", T0), tick("B", "1", T0 + 50_000)]);
    assert_eq!(agg.last_tick(Asset::new("A")), Some(TimestampMs::new(T0)));
    assert_eq!(agg.last_tick(Asset::new("Z")), None);
    let silent: Vec<_> = agg
        .silent_since(TimestampMs::new(T0 + 60_000), 30_000)
        .collect();
    assert_eq!(silent, vec![(Asset::new("A"), TimestampMs::new(T0))]);
}

#[test]
fn duplicate_timeframes_in_the_config_are_ignored() {
    let agg = Aggregator::new(AggregatorConfig {
        timeframes: vec![Timeframe::H1, Timeframe::M1, Timeframe::H1],
        grace_ms: -5,
    });
    assert_eq!(agg.timeframes(), &[Timeframe::M1, Timeframe::H1]);
}

#[test]
fn a_forgotten_asset_starts_over_and_the_others_keep_their_candles() {
    let mut agg = one_minute(0);
    agg.ingest_all(&[
        tick("SIM", "1.5", T0 + 1_000),
        tick("EURUSD", "1.0823", T0 + 1_000),
        tick("BTCUSD", "65000", T0 + 1_000),
    ]);
    assert!(agg.forget(Asset::new("SIM")));
    assert!(!agg.forget(Asset::new("SIM")));
    assert_eq!(agg.forming(Asset::new("SIM"), Timeframe::M1), None);
    assert_eq!(agg.last_tick(Asset::new("SIM")), None);
    // The asset moved into the freed place is still found.
    let btc = agg.forming(Asset::new("BTCUSD"), Timeframe::M1).unwrap();
    assert_eq!(btc.close().to_string(), "65000");
    // An earlier tick than the forgotten newest one is not late any more.
    let events = agg.ingest_all(&[tick("SIM", "500", T0 + 500)]);
    assert!(
        matches!(events[..], [CandleEvent::Updated(c)] if c.volume() == 1 && c.open().to_string() == "500")
    );
    assert_eq!(
        agg.forming(Asset::new("EURUSD"), Timeframe::M1)
            .unwrap()
            .volume(),
        1
    );
}
