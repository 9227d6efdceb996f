//! The indicators of `shared` against an independent oracle: pandas
//! (Debian's python3-pandas) computing Pine v5's published definitions
//! (`oracle/indicators.py`) over a fixed pseudo-random walk of closes.
//! Every value agrees within 1e-9 relative (1e-12 absolute near zero), and
//! both give nothing (Pine's na) at the same candles.

use std::collections::BTreeMap;
use std::io::Write;

use shared::Price;
use shared::indicators::{Indicator, Study, Value};

/// Debian's interpreter, where python3-pandas is installed.
const PYTHON: &str = "/usr/bin/python3";
/// How many closes the series has.
const CLOSES: usize = 3_000;
/// The studies compared: TradingView's defaults and the edges of the ranges.
const STUDIES: &[&str] = &[
    "sma:20",
    "sma:1",
    "sma:500",
    "ema:20",
    "ema:1",
    "ema:500",
    "rsi:14",
    "rsi:1",
    "rsi:500",
    "bb:20:2",
    "bb:5:0.5",
    "bb:500:3",
    "macd:12:26:9",
    "macd:3:7:2",
];

/// A random walk from 1.08 in steps of up to 25 pips, a quarter of them
/// flat, from a fixed seed: the same closes on every run.
fn closes() -> Vec<Price> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut pips: i64 = 108_000;
    (0..CLOSES)
        .map(|_| {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
            let step = if r.is_multiple_of(4) {
                0
            } else {
                (r % 51) as i64 - 25
            };
            pips = (pips + step).max(1);
            Price::new(&format!("{}.{:05}", pips / 100_000, pips % 100_000))
        })
        .collect()
}

/// The named values of one output.
fn named(value: Value) -> Vec<(&'static str, f64)> {
    match value {
        Value::Line { value } => vec![("value", value)],
        Value::Bands(b) => vec![("basis", b.basis), ("upper", b.upper), ("lower", b.lower)],
        Value::Macd(m) => vec![
            ("macd", m.macd),
            ("signal", m.signal),
            ("histogram", m.histogram),
        ],
    }
}

type Oracle = BTreeMap<String, BTreeMap<String, Vec<Option<f64>>>>;

#[test]
fn indicators_agree_with_pandas_on_a_random_walk() {
    let closes = closes();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for c in &closes {
        writeln!(file, "{c}").unwrap();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/indicators.py");
    let output = std::process::Command::new(PYTHON)
        .arg(script)
        .arg(file.path())
        .args(STUDIES)
        .output()
        .expect("Debian's python3 (apt: python3-pandas)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let oracle: Oracle = serde_json::from_slice(&output.stdout).unwrap();

    let mut worst = 0.0f64;
    for text in STUDIES {
        let study: Study = text.parse().unwrap();
        let want = &oracle[*text];
        let mut indicator = Indicator::new(study);
        for (i, close) in closes.iter().enumerate() {
            match indicator.push_price(*close) {
                None => {
                    for (name, series) in want {
                        assert_eq!(series[i], None, "{text} {name} at {i}: Rust has none");
                    }
                }
                Some(value) => {
                    for (name, got) in named(value) {
                        let Some(expected) = want[name][i] else {
                            panic!("{text} {name} at {i}: pandas has none, Rust {got}");
                        };
                        let error = (got - expected).abs();
                        let scale = got.abs().max(expected.abs());
                        assert!(
                            error <= 1e-9 * scale || error <= 1e-12,
                            "{text} {name} at {i}: {got} != {expected}"
                        );
                        if scale > 0.0 {
                            worst = worst.max(error / scale);
                        }
                    }
                }
            }
        }
    }
    println!("largest relative difference from pandas: {worst:e}");
}
