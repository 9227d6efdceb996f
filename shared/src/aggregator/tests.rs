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
fn a_tick_before_the_horizon_is_late_counted_and_changes_nothing() {
    let mut agg = one_minute(1_000);
    let mut out = agg.ingest_all(&[tick("A", "1", T0 + 70_000)]);
    let before = agg.forming(Asset::new("A"), Timeframe::M1);
    out.clear();
    // The horizon is the start of the minute holding T0 + 69 s.
    let late = tick("A", "9", T0 + 59_999);
    agg.ingest(&late, &mut out);
    assert_eq!(out, vec![CandleEvent::Late { tick: late }]);
    assert_eq!(agg.forming(Asset::new("A"), Timeframe::M1), before);
    assert_eq!(agg.stats().late, 1);
    assert_eq!(agg.stats().accepted, 1);
    // Within the horizon's minute, a tick more than the grace window behind
    // the newest is still live.
    out.clear();
    agg.ingest(&tick("A", "2", T0 + 60_000), &mut out);
    assert!(
        matches!(out[..], [CandleEvent::Updated(c)] if c.volume() == 2 && c.open().to_string() == "2")
    );
}

#[test]
fn the_same_tick_three_times_counts_once() {
    // Issue 11: "The same tick POSTed 3 times counts 3 in the live candle".
    let mut agg = Aggregator::new(AggregatorConfig::default());
    let t = tick("A", "1.5", T0 + 1_000);
    let out = agg.ingest_all(&[t, t, t]);
    assert_eq!(out.len(), 7 + 2);
    assert_eq!(out[7..], [CandleEvent::Duplicate { tick: t }; 2]);
    for tf in Timeframe::ALL {
        assert_eq!(
            agg.forming(Asset::new("A"), tf).unwrap().volume(),
            1,
            "{tf}"
        );
    }
    assert_eq!((agg.stats().accepted, agg.stats().duplicates), (1, 2));
    // The same time at another price is another tick.
    let out = agg.ingest_all(&[tick("A", "1.6", T0 + 1_000)]);
    assert!(matches!(out[0], CandleEvent::Updated(c) if c.volume() == 2));
}

#[test]
fn identities_are_held_only_from_the_horizon_on() {
    let mut agg = one_minute(2_000);
    for i in 0..600 {
        agg.ingest(&tick("A", "1", T0 + i * 1_000), &mut Vec::new());
    }
    // Newest at T0 + 599 s: the horizon is T0 + 540 s, so 60 identities.
    assert_eq!(agg.assets[0].ids.len(), 60);
    // An old copy of a tick is late, not a duplicate.
    let mut out = Vec::new();
    agg.ingest(&tick("A", "1", T0), &mut out);
    assert!(matches!(out[..], [CandleEvent::Late { .. }]));
}

#[test]
fn one_minute_candles_are_kept_from_the_horizons_day_only() {
    let mut agg = one_minute(2_000);
    const DAY: i64 = 86_400_000;
    let day = T0 - T0.rem_euclid(DAY);
    for i in 0..(2 * 1440) {
        agg.ingest(&tick("A", "1", day + i * 60_000 + 30_000), &mut Vec::new());
    }
    let minutes = &agg.assets[0].minutes;
    assert_eq!(minutes.held_from_ms(), day + DAY);
    assert_eq!(minutes.len(), 1440);
}

fn store_candle(tf: Timeframe, open_time: i64, [o, h, l, c]: [&str; 4], volume: u64) -> Candle {
    Candle::new_checked(
        Asset::new("A"),
        tf,
        open_time,
        Price::new(o),
        Price::new(h),
        Price::new(l),
        Price::new(c),
        volume,
        CandleState::Closed,
    )
    .unwrap()
}

#[test]
fn a_plan_names_every_bucket_once_with_its_split() {
    let mut agg = Aggregator::new(AggregatorConfig::default());
    // Live at T0 + 2 h: the horizon is T0 + 2 h - 1 min.
    agg.ingest(&tick("A", "1", T0 + 7_200_000), &mut Vec::new());
    let late = [
        tick("A", "2", T0 + 5_000),
        tick("A", "3", T0 + 65_000),
        tick("A", "4", T0 + 10_000),
    ];
    let plan = agg.plan(&late);
    let of = |tf: Timeframe| -> Vec<&Restatement> {
        plan.iter().filter(|r| r.timeframe == tf).collect()
    };
    assert_eq!(of(Timeframe::M1).len(), 2);
    assert!(of(Timeframe::M1).iter().all(|r| r.whole()));
    let h1 = of(Timeframe::H1);
    assert_eq!(h1.len(), 1);
    // 10:00 to 11:00 lies before the horizon: whole from the store.
    assert!(h1[0].whole());
    // The day is forming: the store's part ends at the newest late minute's
    // end, or at the first minute held if that is later.
    let d1 = of(Timeframe::D1)[0];
    let day_start = (T0 + 7_200_000 - 60_000).div_euclid(86_400_000) * 86_400_000;
    assert_eq!(d1.split_ms, (T0 + 120_000).max(day_start));
    assert!(!d1.whole());
}

#[test]
fn a_restated_forming_candle_merges_the_store_part_with_the_live_minutes() {
    let mut agg = Aggregator::new(AggregatorConfig {
        timeframes: vec![Timeframe::M1, Timeframe::H1],
        grace_ms: 2_000,
    });
    // Live: 10:30:00.5 and 10:45:00; a late tick at 10:31:10 is sent back.
    let mut out = agg.ingest_all(&[tick("A", "5", T0 + 500), tick("A", "7", T0 + 900_000)]);
    out.clear();
    agg.ingest(&tick("A", "1", T0 + 70_000), &mut out);
    assert!(matches!(out[..], [CandleEvent::Late { .. }]));
    let plan = agg.plan(&[tick("A", "1", T0 + 70_000)]);
    // The store holds 10:30:00.5 and the late one, before the split.
    let h1 = plan.iter().find(|r| r.timeframe == Timeframe::H1).unwrap();
    assert_eq!(h1.split_ms, T0 + 120_000);
    let h1_open = Timeframe::H1.bucket_of_millis(T0);
    let part = store_candle(Timeframe::H1, h1_open, ["5", "5", "1", "1"], 2);
    out.clear();
    assert_eq!(agg.restate(h1, Some(&part), &mut out), Restated::Done);
    let [CandleEvent::Updated(c)] = out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(c.state(), CandleState::Forming);
    assert_eq!(
        ohlcv(&c),
        ("5".into(), "7".into(), "1".into(), "7".into(), 3)
    );
    // A later live tick extends the merged candle.
    out.clear();
    agg.ingest(&tick("A", "0.5", T0 + 960_000), &mut out);
    let c = agg.forming(Asset::new("A"), Timeframe::H1).unwrap();
    assert_eq!(
        ohlcv(&c),
        ("5".into(), "7".into(), "0.5".into(), "0.5".into(), 4)
    );
}

#[test]
fn a_restated_minute_is_kept_for_later_merges_and_a_closed_candle_is_revised() {
    let mut agg = Aggregator::new(AggregatorConfig {
        timeframes: vec![Timeframe::M1, Timeframe::M5],
        grace_ms: 2_000,
    });
    agg.ingest_all(&[
        tick("A", "2", T0 + 1_000),
        tick("A", "3", T0 + 61_000),
        tick("A", "4", T0 + 400_000),
    ]);
    // Late at 10:30:30: the one-minute candle comes whole from the store.
    let late = tick("A", "9", T0 + 30_000);
    let plan = agg.plan(&[late]);
    let m1 = plan[0];
    assert_eq!((m1.timeframe, m1.whole()), (Timeframe::M1, true));
    let mut out = Vec::new();
    let minute = store_candle(Timeframe::M1, T0 / 1000, ["2", "9", "2", "9"], 2);
    agg.restate(&m1, Some(&minute), &mut out);
    assert!(
        matches!(out[..], [CandleEvent::Revised(c)] if c.volume() == 2 && c.close().to_string() == "9")
    );
    // The 5M bucket 10:30-10:35 ended before the horizon: whole too.
    let m5 = plan.iter().find(|r| r.timeframe == Timeframe::M5).unwrap();
    assert!(m5.whole());
    out.clear();
    let five = store_candle(Timeframe::M5, T0 / 1000, ["2", "9", "2", "3"], 3);
    agg.restate(m5, Some(&five), &mut out);
    let [CandleEvent::Revised(c)] = out[..] else {
        panic!("{out:?}")
    };
    assert_eq!((c.state(), c.volume()), (CandleState::Revised, 3));
    assert_eq!(agg.stats().revisions, 2);
}

#[test]
fn a_restatement_across_a_new_day_is_asked_again() {
    let mut agg = one_minute(2_000);
    const DAY: i64 = 86_400_000;
    let day = T0 - T0.rem_euclid(DAY);
    agg.ingest(&tick("A", "1", day + DAY - 30_000), &mut Vec::new());
    // Planned while the minutes of this day are held ...
    let mut plan = agg.plan(&[tick("A", "1", day + 10_000)]);
    plan.retain(|r| r.timeframe == Timeframe::D1);
    assert!(
        plan.is_empty(),
        "only kept timeframes and the minute are planned"
    );
    let d1 = Restatement {
        asset: Asset::new("A"),
        timeframe: Timeframe::D1,
        open_time: day / 1000,
        close_time: day / 1000 + 86_400,
        late_until_ms: day + 60_000,
        split_ms: day + 60_000,
    };
    // ... and applied after the next day began: those minutes are gone.
    agg.ingest(&tick("A", "1", day + DAY + 5_000), &mut Vec::new());
    let again = agg.restate(&d1, None, &mut Vec::new());
    assert_eq!(
        again,
        Restated::AskAgain(Restatement {
            split_ms: day + DAY,
            ..d1
        })
    );
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
