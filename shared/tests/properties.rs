//! Property tests of the shared core:
//! (a) the aggregator equals a naive reference, in order and shuffled within
//!     the grace window, and (e) with duplicates and ticks up to an hour late
//!     restated from a store;
//! (b) 5M, 15M and 1H candles resampled from 1M candles equal those built
//!     from the ticks;
//! (c) every accepted price round-trips text-exact through JSON;
//! (d) no byte string makes the protocol parsers panic.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use shared::{
    Aggregator, AggregatorConfig, Asset, Candle, CandleEvent, CandleState, ClientMessage, Price,
    Restated, ServerMessage, Tick, Timeframe, TimestampMs, resample,
};

const START: i64 = 1_705_314_600_000;
const GRACE_MS: i64 = 5_000;

type Key = (Asset, Timeframe, i64);

/// Ticks in timestamp order: up to three assets, gaps up to 3 minutes,
/// prices between 1.0000 and 1.9999 with few distinct values so ties occur.
fn ordered_ticks() -> impl Strategy<Value = Vec<Tick>> {
    prop::collection::vec(
        (0..3usize, 0..180_000i64, 10_000..20_000u128, 0..4u8),
        1..300,
    )
    .prop_map(|steps| {
        let assets = [
            Asset::new("EURUSD_otc"),
            Asset::new("BTCUSD"),
            Asset::new("X"),
        ];
        let mut at = START;
        steps
            .into_iter()
            .map(|(a, gap, units, same_time)| {
                // Now and then several ticks share a timestamp.
                if same_time != 0 {
                    at += gap;
                }
                Tick::new(
                    assets[a],
                    Price::from_units(units * 1_000_000).unwrap(),
                    TimestampMs::new(at),
                )
            })
            .collect()
    })
}

/// The same ticks delivered out of order, but never more than `GRACE_MS`
/// behind the newest one already delivered.
fn shuffled_within_grace() -> impl Strategy<Value = Vec<Tick>> {
    ordered_ticks().prop_flat_map(|ticks| {
        let n = ticks.len();
        (Just(ticks), prop::collection::vec(0..=GRACE_MS, n)).prop_map(|(ticks, jitter)| {
            let mut keyed: Vec<(i64, usize, Tick)> = ticks
                .into_iter()
                .zip(jitter)
                .enumerate()
                .map(|(i, (t, j))| (t.timestamp.millis() + j, i, t))
                .collect();
            keyed.sort_by_key(|(key, i, _)| (*key, *i));
            keyed.into_iter().map(|(_, _, t)| t).collect()
        })
    })
}

/// Ticks up to an hour late, others within the grace window, some sent
/// twice, delivered in batches of the given size.
fn late_and_repeated() -> impl Strategy<Value = (Vec<Tick>, usize)> {
    ordered_ticks().prop_flat_map(|ticks| {
        let n = ticks.len();
        (
            Just(ticks),
            prop::collection::vec((0..4u8, 0..=3_600_000i64, 0..3u8), n),
            1..40usize,
        )
            .prop_map(|(ticks, delays, batch)| {
                let mut keyed = Vec::new();
                for (i, (t, (kind, d, repeat))) in ticks.into_iter().zip(delays).enumerate() {
                    let delay = match kind {
                        0 => d,
                        1 => d % GRACE_MS,
                        _ => 0,
                    };
                    let at = t.timestamp.millis();
                    keyed.push((at + delay, i, t));
                    if repeat == 0 {
                        keyed.push((at + delay / 2 + 1_000, i, t));
                    }
                }
                keyed.sort_by_key(|(key, i, _)| (*key, *i));
                (keyed.into_iter().map(|(_, _, t)| t).collect(), batch)
            })
    })
}

/// The distinct ticks, in the order of their first arrival.
fn distinct(arrivals: &[Tick]) -> Vec<Tick> {
    let mut seen = HashSet::new();
    arrivals
        .iter()
        .filter(|t| seen.insert(**t))
        .copied()
        .collect()
}

/// The naive reference: group the distinct ticks by bucket, take
/// first/max/min/last/count in timestamp order (a stable sort keeps arrival
/// order among equal times).
fn reference(arrivals: &[Tick], tf: Timeframe) -> BTreeMap<Key, (Price, Price, Price, Price, u64)> {
    let mut sorted = distinct(arrivals);
    sorted.sort_by_key(|t| t.timestamp);
    let mut out: BTreeMap<Key, (Price, Price, Price, Price, u64)> = BTreeMap::new();
    for t in sorted {
        let key = (t.asset, tf, tf.bucket_of_millis(t.timestamp.millis()));
        let p = t.price;
        out.entry(key)
            .and_modify(|(_, h, l, c, v)| {
                *h = (*h).max(p);
                *l = (*l).min(p);
                *c = p;
                *v += 1;
            })
            .or_insert((p, p, p, p, 1));
    }
    out
}

/// Feeds every tick, closes everything, and keeps the last version of each
/// candle that the events reported.
fn aggregate(arrivals: &[Tick]) -> BTreeMap<Key, Candle> {
    let mut agg = Aggregator::new(AggregatorConfig {
        timeframes: Timeframe::ALL.to_vec(),
        grace_ms: GRACE_MS,
    });
    let mut events = agg.ingest_all(arrivals);
    agg.advance_to(TimestampMs::MAX, &mut events);
    assert_eq!(agg.stats().late, 0);
    let mut out = BTreeMap::new();
    for e in &events {
        if let CandleEvent::Duplicate { .. } = e {
            continue;
        }
        let c = e.candle().expect("no tick is late here");
        out.insert((c.asset(), c.timeframe(), c.open_time()), *c);
    }
    out
}

/// What a store computes over `from_ms..until_ms`: ticks in time order,
/// ties in insertion order.
fn store_part(
    store: &[Tick],
    asset: Asset,
    tf: Timeframe,
    open_time: i64,
    from_ms: i64,
    until_ms: i64,
) -> Option<Candle> {
    let mut inside: Vec<&Tick> = store
        .iter()
        .filter(|t| t.asset == asset && (from_ms..until_ms).contains(&t.timestamp.millis()))
        .collect();
    inside.sort_by_key(|t| t.timestamp);
    let (first, last) = (inside.first()?, inside.last()?);
    let high = inside.iter().map(|t| t.price).max()?;
    let low = inside.iter().map(|t| t.price).min()?;
    Candle::new_checked(
        asset,
        tf,
        open_time,
        first.price,
        high,
        low,
        last.price,
        inside.len() as u64,
        CandleState::Closed,
    )
    .ok()
}

/// The server's two paths in miniature: batches go to the store and to the
/// aggregator; each batch's late ticks are restated from the store.
fn converge(arrivals: &[Tick], batch: usize) -> BTreeMap<Key, Candle> {
    let mut agg = Aggregator::new(AggregatorConfig {
        timeframes: Timeframe::ALL.to_vec(),
        grace_ms: GRACE_MS,
    });
    let mut store: Vec<Tick> = Vec::new();
    let mut stored = HashSet::new();
    let mut events = Vec::new();
    for chunk in arrivals.chunks(batch) {
        store.extend(chunk.iter().filter(|t| stored.insert(**t)));
        let mut out = Vec::new();
        for t in chunk {
            agg.ingest(t, &mut out);
        }
        let late: Vec<Tick> = out
            .iter()
            .filter_map(|e| match e {
                CandleEvent::Late { tick } => Some(*tick),
                _ => None,
            })
            .collect();
        events.append(&mut out);
        let mut plan = agg.plan(&late);
        plan.reverse();
        while let Some(r) = plan.pop() {
            let part = store_part(
                &store,
                r.asset,
                r.timeframe,
                r.open_time,
                r.start_ms(),
                r.split_ms,
            );
            if let Restated::AskAgain(again) = agg.restate(&r, part.as_ref(), &mut events) {
                plan.push(again);
            }
        }
    }
    agg.advance_to(TimestampMs::MAX, &mut events);
    let mut out = BTreeMap::new();
    for c in events.iter().filter_map(CandleEvent::candle) {
        out.insert((c.asset(), c.timeframe(), c.open_time()), *c);
    }
    out
}

fn check_against_reference(arrivals: &[Tick]) -> Result<(), TestCaseError> {
    let built = aggregate(arrivals);
    for tf in Timeframe::ALL {
        let expected = reference(arrivals, tf);
        let got: BTreeMap<Key, (Price, Price, Price, Price, u64)> = built
            .iter()
            .filter(|((_, t, _), _)| *t == tf)
            .map(|(k, c)| (*k, (c.open(), c.high(), c.low(), c.close(), c.volume())))
            .collect();
        prop_assert_eq!(got, expected, "timeframe {}", tf);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_in_order_ticks_match_the_reference(ticks in ordered_ticks()) {
        check_against_reference(&ticks)?;
    }

    #[test]
    fn a_shuffled_ticks_within_grace_match_the_reference(ticks in shuffled_within_grace()) {
        check_against_reference(&ticks)?;
    }

    #[test]
    fn e_late_and_repeated_ticks_converge_to_the_reference((ticks, batch) in late_and_repeated()) {
        let built = converge(&ticks, batch);
        for tf in Timeframe::ALL {
            let expected = reference(&ticks, tf);
            let got: BTreeMap<Key, (Price, Price, Price, Price, u64)> = built
                .iter()
                .filter(|((_, t, _), _)| *t == tf)
                .map(|(k, c)| (*k, (c.open(), c.high(), c.low(), c.close(), c.volume())))
                .collect();
            prop_assert_eq!(got, expected, "timeframe {}", tf);
        }
    }

    #[test]
    fn b_resampled_minutes_equal_candles_built_from_ticks(ticks in shuffled_within_grace()) {
        let built = aggregate(&ticks);
        for asset in [Asset::new("EURUSD_otc"), Asset::new("BTCUSD"), Asset::new("X")] {
            let of = |tf: Timeframe| -> Vec<Candle> {
                built.iter().filter(|((a, t, _), _)| *a == asset && *t == tf).map(|(_, c)| *c).collect()
            };
            let minutes = of(Timeframe::M1);
            for wide in [Timeframe::M5, Timeframe::M15, Timeframe::H1] {
                let merged = resample(&minutes, wide).unwrap();
                let direct = of(wide);
                prop_assert_eq!(merged.len(), direct.len());
                for (m, d) in merged.iter().zip(&direct) {
                    prop_assert!(m.same_data(d), "{:?} != {:?}", m, d);
                }
            }
        }
    }

    #[test]
    fn c_accepted_prices_round_trip_text_exact(int in "[0-9]{1,12}", frac in proptest::option::of("[0-9]{1,12}")) {
        let text = match &frac { Some(f) => format!("{int}.{f}"), None => int.clone() };
        if let Ok(price) = Price::new_checked(&text) {
            // The canonical text is the input without padding zeros.
            let int_part = int.trim_start_matches('0');
            let frac_part = frac.as_deref().unwrap_or("").trim_end_matches('0');
            let canonical = match (int_part.is_empty(), frac_part.is_empty()) {
                (_, true) => int_part.to_owned(),
                (true, false) => format!("0.{frac_part}"),
                (false, false) => format!("{int_part}.{frac_part}"),
            };
            prop_assert_eq!(price.to_string(), canonical.as_str());
            let as_json = serde_json::to_string(&price).unwrap();
            prop_assert_eq!(&as_json, &canonical);
            prop_assert_eq!(serde_json::from_str::<Price>(&as_json).unwrap(), price);
            prop_assert_eq!(serde_json::from_str::<Price>(&format!("\"{text}\"")).unwrap(), price);
        } else {
            // Refused only for a reason: zero, over 10 integer or 10 fractional digits.
            let digits_int = int.trim_start_matches('0').len();
            let digits_frac = frac.as_deref().unwrap_or("").trim_end_matches('0').len();
            let zero = digits_int == 0 && digits_frac == 0;
            prop_assert!(zero || digits_int > 10 || digits_frac > 10, "{} refused", text);
        }
    }

    #[test]
    fn c_every_unit_value_round_trips(units in 1u128..=Price::MAX.units()) {
        let price = Price::from_units(units).unwrap();
        let json = serde_json::to_string(&price).unwrap();
        prop_assert_eq!(&json, &price.to_string());
        prop_assert_eq!(serde_json::from_str::<Price>(&json).unwrap(), price);
        prop_assert_eq!(json.parse::<Price>().unwrap(), price);
    }

    #[test]
    fn d_no_byte_string_makes_the_parsers_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ClientMessage::from_slice(&bytes);
        let _ = ServerMessage::from_slice(&bytes);
    }

    #[test]
    fn d_no_json_like_text_makes_the_parsers_panic(
        parts in prop::collection::vec(prop::sample::select(vec![
            "{", "}", "[", "]", ":", ",", "\"event\"", "\"data\"", "\"asset\"", "\"timeframe\"",
            "\"subscribe_redis_updates\"", "\"cache_historical_data\"", "\"redis_update\"",
            "\"EURUSD_otc\"", "\"1M\"", "1.0823", "-1", "1e400", "null", "true", "\"\\u0000\"",
            "\"open\"", "\"high\"", "\"low\"", "\"close\"", "\"volume\"", "\"timestamp\"", "1705314600",
            "99999999999999999999999", "\"seq\"", "\"\u{1F4C8}\"",
        ]), 0..64)
    ) {
        let text: String = parts.concat();
        let _ = ClientMessage::from_json(&text);
        let _ = ServerMessage::from_json(&text);
    }
}

#[test]
fn every_event_of_the_design_is_known() {
    let design_client = [
        "subscribe_redis_updates",
        "unsubscribe_redis_updates",
        "start_stream",
        "stop_stream",
        "get_cached_historical_data",
        "cache_historical_data",
        "clear_cached_historical_data",
        "get_redis_status",
    ];
    let design_server = [
        "redis_update",
        "redis_subscribed",
        "redis_unsubscribed",
        "stream_started",
        "stream_stopped",
        "stream_error",
        "cached_historical_data",
        "historical_data_cached",
        "historical_data_cache_cleared",
        "redis_status",
        "error",
    ];
    // Every event of the design, plus `authenticate` (the admin token
    // without a URL) ...
    assert_eq!(ClientMessage::EVENTS[..design_client.len()], design_client);
    assert_eq!(
        ClientMessage::EVENTS[design_client.len()..],
        ["authenticate"]
    );
    // ... and `candle_snapshot` for snapshots and resync, `authenticated`
    // for its answer.
    for name in design_server {
        assert!(ServerMessage::EVENTS.contains(&name), "{name}");
    }
    for name in ["candle_snapshot", "authenticated"] {
        assert!(ServerMessage::EVENTS.contains(&name), "{name}");
    }
    assert_eq!(ServerMessage::EVENTS.len(), design_server.len() + 2);
    // Each name parses (a payload error, never "unknown event").
    for name in design_client {
        let err = ClientMessage::from_json(&format!(r#"{{"event":"{name}","data":{{}}}}"#)).err();
        assert!(
            !matches!(err, Some(shared::ProtocolError::UnknownEvent(_))),
            "{name}"
        );
    }
}
