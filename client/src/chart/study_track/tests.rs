//! The track against `shared::indicators::compute` over the whole history,
//! as the server computes it.

use shared::indicators::{Study, compute, study_state};
use shared::{Candle, CandleState};
use wasm_bindgen_test::wasm_bindgen_test;

use super::{Changed, ServerValues, Track};
use crate::model::testing::candle;

/// `n` one-minute candles walking up and down in 0.00001 steps.
fn history(n: i64) -> Vec<Candle> {
    (0..n)
        .map(|k| {
            let units = 108_000 + (k * 37 % 23) - (k % 7) * 3 + k / 5;
            candle(
                k * 60,
                &format!("{}.{:05}", units / 100_000, units % 100_000),
            )
        })
        .collect()
}

/// What the server answers for `study` over `candles`, its state included.
fn server(study: Study, candles: &[Candle]) -> ServerValues {
    let closed: Vec<Candle> = candles
        .iter()
        .map(|c| c.with_state(CandleState::Closed))
        .collect();
    // Asked `to` before the page's forming candle, the newest held.
    let to = candles[candles.len() - 2].open_time();
    ServerValues {
        points: compute(study, candles)
            .into_iter()
            .map(|p| (p.time, p.value))
            .collect(),
        state: study_state(study, &closed, to).map(|s| (s.time, s.averages)),
    }
}

const STUDIES: [&str; 5] = ["sma:20", "ema:20", "bb:20:2", "macd:12:26:9", "rsi:14"];

#[wasm_bindgen_test]
fn seeded_with_the_servers_values_it_steps_on_exactly_as_the_server() {
    let all = history(400);
    for text in STUDIES {
        let study: Study = text.parse().unwrap();
        // The page holds the newest 150 candles; the server saw 300 more.
        let (known, live) = all.split_at(320);
        let mut held: Vec<Candle> = known[170..].to_vec();
        let mut track = Track::new(study);
        track.set_server(server(study, known), &held);
        for (k, c) in live.iter().enumerate() {
            held.push(*c);
            held.remove(0);
            let changed = track.update(&held, &[c.open_time()]);
            assert!(matches!(changed, Changed::Newest(_)), "{text} at {k}");
        }
        let truth = compute(study, &all);
        for p in &truth[truth.len() - 150..] {
            assert_eq!(track.at(p.time).unwrap(), p.value, "{text} at {}", p.time);
        }
    }
}

#[wasm_bindgen_test]
fn with_the_whole_history_every_study_is_exact_and_a_forming_candle_moves_the_newest() {
    for text in STUDIES {
        let study: Study = text.parse().unwrap();
        let mut all = history(120);
        let mut track = Track::new(study);
        track.set_server(server(study, &all[..100]), &all[..100]);
        all[119] = candle(119 * 60, "1.2");
        let stepped: Vec<i64> = all[99..].iter().map(Candle::open_time).collect();
        assert_eq!(track.update(&all, &[]), Changed::Newest(stepped), "{text}");
        let truth = compute(study, &all);
        let newest = all[119].open_time();
        assert_eq!(
            track.at(newest),
            Some(truth.last().unwrap().value),
            "{text}"
        );
        // A revised closed candle: all again; with the server's new values
        // (the page asks again), exact again.
        all[50] = candle(50 * 60, "1.3");
        assert_eq!(track.update(&all, &[all[50].open_time()]), Changed::All);
        track.set_server(server(study, &all[..100]), &all);
        let truth = compute(study, &all);
        for p in &truth {
            assert_eq!(track.at(p.time), Some(p.value), "{text} at {}", p.time);
        }
    }
}

#[wasm_bindgen_test]
fn without_the_servers_values_it_computes_from_what_it_holds() {
    let all = history(60);
    let mut track = Track::new("sma:20".parse().unwrap());
    track.rebuild(&all);
    let truth = compute("sma:20".parse().unwrap(), &all);
    assert_eq!(track.values().count(), truth.len());
    assert_eq!(track.at(all[59].open_time()), Some(truth[40].value));
    assert_eq!(track.at(all[10].open_time()), None);
}
