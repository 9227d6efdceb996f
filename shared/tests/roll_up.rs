//! Property test of the roll-up: for any timeframe X (`{n}M`, `{n}H`, `1D`,
//! `1W`), candles built directly from ticks at X equal the one-minute
//! candles of the same ticks rolled up to X ([`resample`]), and equal X's
//! base timeframe rolled up to X, which is how the server derives every
//! timeframe beyond the seven it builds from ticks.

use std::collections::BTreeMap;

use proptest::prelude::*;
use shared::{
    Aggregator, AggregatorConfig, Asset, Candle, Price, Tick, Timeframe, TimestampMs, resample,
};

/// 2024-01-15T10:30:00Z.
const START: i64 = 1_705_314_600_000;

/// Any timeframe: 1 to 1440 minutes, or a week.
fn any_timeframe() -> impl Strategy<Value = Timeframe> {
    prop_oneof![
        4 => (1..=1440u16).prop_map(|m| Timeframe::from_minutes(m).unwrap()),
        1 => Just(Timeframe::W1),
        1 => (1..=24u16).prop_map(|h| Timeframe::from_minutes(h * 60).unwrap()),
    ]
}

/// Ticks of two assets in time order, gaps up to six hours so weeks pass.
fn ticks() -> impl Strategy<Value = Vec<Tick>> {
    prop::collection::vec(
        (0..2usize, 0..21_600_000i64, 10_000..20_000u128, 0..8u8),
        1..300,
    )
    .prop_map(|steps| {
        let assets = [Asset::new("EURUSD_otc"), Asset::new("BTCUSD")];
        let mut at = START;
        steps
            .into_iter()
            .map(|(a, gap, units, short)| {
                // Mostly short gaps, so buckets hold several ticks.
                at += if short == 0 { gap } else { gap % 90_000 };
                Tick::new(
                    assets[a],
                    Price::from_units(units * 1_000_000).unwrap(),
                    TimestampMs::new(at),
                )
            })
            .collect()
    })
}

/// The final candles per (asset, timeframe), oldest first.
fn aggregate(
    ticks: &[Tick],
    timeframes: Vec<Timeframe>,
) -> BTreeMap<(Asset, Timeframe), Vec<Candle>> {
    let mut agg = Aggregator::new(AggregatorConfig {
        timeframes,
        grace_ms: 0,
    });
    let mut events = agg.ingest_all(ticks);
    agg.advance_to(TimestampMs::MAX, &mut events);
    let mut last: BTreeMap<(Asset, Timeframe, i64), Candle> = BTreeMap::new();
    for c in events.iter().filter_map(|e| e.candle()) {
        last.insert((c.asset(), c.timeframe(), c.open_time()), *c);
    }
    let mut out: BTreeMap<(Asset, Timeframe), Vec<Candle>> = BTreeMap::new();
    for ((asset, tf, _), c) in last {
        out.entry((asset, tf)).or_default().push(c);
    }
    out
}

fn same(a: &[Candle], b: &[Candle]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_data(y))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rolled_up_minutes_equal_candles_built_from_ticks(ticks in ticks(), x in any_timeframe()) {
        let base = x.base();
        let built = aggregate(&ticks, vec![Timeframe::M1, base, x]);
        for asset in [Asset::new("EURUSD_otc"), Asset::new("BTCUSD")] {
            let of = |tf: Timeframe| built.get(&(asset, tf)).cloned().unwrap_or_default();
            let direct = of(x);
            for t in &direct {
                prop_assert_eq!(x.bucket_start(t.open_time()), t.open_time());
            }
            let from_minutes = resample(&of(Timeframe::M1), x).unwrap();
            prop_assert!(same(&from_minutes, &direct), "{} from 1M: {:?} != {:?}", x, from_minutes, direct);
            let from_base = resample(&of(base), x).unwrap();
            prop_assert!(same(&from_base, &direct), "{} from {}", x, base);
        }
    }
}
