//! Any bytes as a `POST /api/ticks` body: checking never panics, an
//! accepted batch is non-empty and within the limit, and every accepted tick
//! writes back to JSON that parses to the same tick (prices exact).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::{Tick, parse_batch};

/// A fixed clock, so runs are reproducible.
const NOW_MS: i64 = 1_705_314_600_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(ticks) = parse_batch(data, 100, NOW_MS, shared::batch::DEFAULT_MAX_FUTURE_SKEW_MS) {
        assert!(!ticks.is_empty() && ticks.len() <= 100);
        for tick in &ticks {
            let json = serde_json::to_string(tick).expect("a tick writes");
            let again: Tick = serde_json::from_str(&json).expect("a written tick parses");
            assert_eq!(&again, tick, "{json}");
        }
    }
});
