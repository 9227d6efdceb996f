//! Timeframes against an independent oracle: pandas (Debian's
//! python3-pandas, `oracle/resample.py`) resampling the same ticks with
//! `origin='epoch'` for `7M`, `90M`, `5H`, weeks from Monday, and daily and
//! weekly sessions opening at 17:00 America/New_York through the 2026-03-08
//! daylight-saving change. `shared` builds them as the server does: rolled
//! up from the base timeframe's candles, and (days) by the aggregator with
//! `DAY_START`'s sessions.

use std::collections::BTreeMap;
use std::io::Write;

use shared::{
    Aggregator, AggregatorConfig, Asset, Candle, DayStart, Price, Sessions, Tick, Timeframe,
    TimestampMs, resample_in,
};

const PYTHON: &str = "/usr/bin/python3";
/// Friday 2026-02-20T00:00:00Z.
const T0: i64 = 1_771_545_600_000;

/// Ticks from a fixed seed: gaps up to 30 minutes (a tenth of them 0, so
/// times repeat), prices a random walk in pips; each tick once (a tick is
/// its asset, time and price: the same again is a duplicate, not counted).
fn ticks() -> Vec<Tick> {
    let mut seen = std::collections::HashSet::new();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32
    };
    let (mut at, mut pips) = (T0, 108_000_i64);
    (0..4_000)
        .map(|_| {
            let r = next();
            if r % 10 != 0 {
                at += (next() % 1_800_000) as i64;
            }
            pips = (pips + (r % 41) as i64 - 20).max(1);
            Tick::new(
                Asset::new("ORACLE"),
                Price::new(&format!("{}.{:05}", pips / 100_000, pips % 100_000)),
                TimestampMs::new(at),
            )
        })
        .filter(|t| seen.insert(*t))
        .collect()
}

/// The final candles of `timeframes` built from the ticks.
fn aggregate(
    ticks: &[Tick],
    timeframes: &[Timeframe],
    sessions: &Sessions,
) -> BTreeMap<Timeframe, Vec<Candle>> {
    let mut agg = Aggregator::new(AggregatorConfig {
        timeframes: timeframes.to_vec(),
        grace_ms: 0,
    })
    .with_sessions(sessions.clone());
    let mut events = agg.ingest_all(ticks);
    agg.advance_to(TimestampMs::MAX, &mut events);
    let mut last: BTreeMap<(Timeframe, i64), Candle> = BTreeMap::new();
    for c in events.iter().filter_map(|e| e.candle()) {
        last.insert((c.timeframe(), c.open_time()), *c);
    }
    let mut out: BTreeMap<Timeframe, Vec<Candle>> = BTreeMap::new();
    for ((tf, _), c) in last {
        out.entry(tf).or_default().push(c);
    }
    out
}

type Row = (i64, String, String, String, String, u64);

fn oracle(ticks: &[Tick], specs: &[&str]) -> BTreeMap<String, Vec<Row>> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for t in ticks {
        writeln!(file, "{},{}", t.timestamp.millis(), t.price).unwrap();
    }
    let out = std::process::Command::new(PYTHON)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/oracle/resample.py"
        ))
        .arg(file.path())
        .args(specs)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_matches(spec: &str, ours: &[Candle], theirs: &[Row]) {
    assert_eq!(ours.len(), theirs.len(), "{spec}: candle counts");
    for (c, (open, o, h, l, cl, n)) in ours.iter().zip(theirs) {
        let got = (
            c.open_time(),
            c.open(),
            c.high(),
            c.low(),
            c.close(),
            c.volume(),
        );
        let want = (
            *open,
            Price::new(o),
            Price::new(h),
            Price::new(l),
            Price::new(cl),
            *n,
        );
        assert_eq!(got, want, "{spec}");
    }
}

#[test]
fn epoch_aligned_timeframes_equal_pandas() {
    let ticks = ticks();
    let specs = ["7min", "90min", "5h", "1W"];
    let theirs = oracle(&ticks, &specs);
    let utc = Sessions::utc();
    for (spec, name) in specs.iter().zip(["7M", "90M", "5H", "1W"]) {
        let tf: Timeframe = name.parse().unwrap();
        let built = aggregate(&ticks, &[Timeframe::M1, tf.base()], &utc);
        let ours = resample_in(&built[&tf.base()], tf, &utc).unwrap();
        assert_matches(spec, &ours, &theirs[*spec]);
    }
}

#[test]
fn new_york_sessions_equal_pandas_across_the_march_change() {
    let ticks = ticks();
    let specs = ["1D@17:00@America/New_York", "1W@17:00@America/New_York"];
    let theirs = oracle(&ticks, &specs);
    let day_start: DayStart = "17:00 America/New_York".parse().unwrap();
    let sessions = day_start.sessions();
    let built = aggregate(&ticks, &[Timeframe::M15, Timeframe::D1], &sessions);
    // Days built from ticks, and rolled up from 15M as the store's are.
    assert_matches(specs[0], &built[&Timeframe::D1], &theirs[specs[0]]);
    let rolled = resample_in(&built[&Timeframe::M15], Timeframe::D1, &sessions).unwrap();
    assert_matches(specs[0], &rolled, &theirs[specs[0]]);
    let weeks = resample_in(&built[&Timeframe::D1], Timeframe::W1, &sessions).unwrap();
    assert_matches(specs[1], &weeks, &theirs[specs[1]]);
    // The change is inside: a 23-hour session opening Saturday 7 March.
    let opens: Vec<i64> = built[&Timeframe::D1]
        .iter()
        .map(Candle::open_time)
        .collect();
    assert!(
        opens.windows(2).any(|w| w[1] - w[0] == 23 * 3600),
        "{opens:?}"
    );
}
