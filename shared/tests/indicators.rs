//! Indicators: pushed a value at a time, each output equals the study
//! recomputed from scratch, by its published Pine formula, over the values
//! seen so far; and [`compute`] over candles equals pushing their closes.

use proptest::prelude::*;
use shared::indicators::{Bands, Indicator, MacdValue, Study, Value, compute};
use shared::{Asset, Candle, CandleState, Price, Timeframe};

/// The mean of `xs`, summed oldest first as [`shared::indicators::Sma`] does.
fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Pine's `ema` over the whole of `xs`: the last value.
fn ema(xs: &[f64], n: usize) -> f64 {
    let alpha = 2.0 / (n as f64 + 1.0);
    xs[1..]
        .iter()
        .fold(xs[0], |prev, x| alpha * x + (1.0 - alpha) * prev)
}

/// Pine's `rma` of `xs` seeded with the mean of the first `n`.
fn rma(xs: &[f64], n: usize) -> f64 {
    let alpha = 1.0 / n as f64;
    xs[n..]
        .iter()
        .fold(mean(&xs[..n]), |prev, x| alpha * x + (1.0 - alpha) * prev)
}

/// The study over the whole of `xs`, from scratch: its value at the last.
fn from_scratch(study: Study, xs: &[f64]) -> Option<Value> {
    let line = |value| Some(Value::Line { value });
    match study {
        Study::Sma { period } if xs.len() < period => None,
        Study::Sma { period } => line(mean(&xs[xs.len() - period..])),
        Study::Ema { period } => line(ema(xs, period)),
        Study::Rsi { period } => {
            if xs.len() <= period {
                return None;
            }
            let changes: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
            let gains: Vec<f64> = changes.iter().map(|c| c.max(0.0)).collect();
            let losses: Vec<f64> = changes.iter().map(|c| (-c).max(0.0)).collect();
            let (up, down) = (rma(&gains, period), rma(&losses, period));
            let rsi = if down == 0.0 {
                100.0
            } else if up == 0.0 {
                0.0
            } else {
                100.0 - 100.0 / (1.0 + up / down)
            };
            line(rsi)
        }
        Study::Bb { period, mult } => {
            if xs.len() < period {
                return None;
            }
            let window = &xs[xs.len() - period..];
            let basis = mean(window);
            let squares: f64 = window
                .iter()
                .map(|v| v - basis)
                .map(|d| if d.abs() <= 1e-10 { 0.0 } else { d * d })
                .sum();
            let dev = mult * (squares / period as f64).sqrt();
            Some(Value::Bands(Bands {
                basis,
                upper: basis + dev,
                lower: basis - dev,
            }))
        }
        Study::Macd { fast, slow, signal } => {
            let line: Vec<f64> = (1..=xs.len())
                .map(|k| ema(&xs[..k], fast) - ema(&xs[..k], slow))
                .collect();
            let macd = line[line.len() - 1];
            let signal = ema(&line, signal);
            Some(Value::Macd(MacdValue {
                macd,
                signal,
                histogram: macd - signal,
            }))
        }
    }
}

fn study() -> impl Strategy<Value = Study> {
    prop_oneof![
        (1usize..12).prop_map(|period| Study::Sma { period }),
        (1usize..12).prop_map(|period| Study::Ema { period }),
        (1usize..12).prop_map(|period| Study::Rsi { period }),
        (1usize..12, 0.1f64..4.0).prop_map(|(period, mult)| Study::Bb { period, mult }),
        (1usize..6, 1usize..10, 1usize..6).prop_map(|(fast, slow, signal)| Study::Macd {
            fast,
            slow,
            signal
        }),
    ]
}

/// Closes of at most 4 decimals, some repeated (flat runs).
fn closes() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![1u32..30_000, Just(10_000u32)], 0..60)
        .prop_map(|v| v.into_iter().map(|u| f64::from(u) / 10_000.0).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pushed_equals_recomputed_from_scratch(study in study(), xs in closes()) {
        let mut indicator = Indicator::new(study);
        for k in 1..=xs.len() {
            let pushed = indicator.push(xs[k - 1]);
            prop_assert_eq!(pushed, from_scratch(study, &xs[..k]), "{} after {} values", study, k);
        }
    }
}

/// A minute's open time (2023-11-14).
const T0: i64 = 1_699_999_980;

#[test]
fn compute_over_candles_pushes_their_closes_and_keeps_their_open_times() {
    let asset = Asset::new("EURUSD");
    let closes = ["1.0823", "1.0825", "1.0821", "1.0830", "1.0829"];
    let candles: Vec<Candle> = closes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = Price::new(c);
            let open_time = T0 + 60 * i as i64;
            Candle::new_checked(
                asset,
                Timeframe::M1,
                open_time,
                p,
                p,
                p,
                p,
                1,
                CandleState::Closed,
            )
            .unwrap()
        })
        .collect();
    let study: Study = "sma:3".parse().unwrap();
    let points = compute(study, &candles);
    let times: Vec<i64> = points.iter().map(|p| p.time).collect();
    assert_eq!(times, [T0 + 120, T0 + 180, T0 + 240]);
    let Value::Line { value } = points[0].value else {
        panic!("sma is a line")
    };
    assert_eq!(value, (1.0823 + 1.0825 + 1.0821) / 3.0);
}
