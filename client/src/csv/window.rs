//! [`newest_within`]: how many of a file's candles the chart takes. The
//! chart library's work grows with the points it holds (a million bars
//! blocked the page for seconds), so a file's chart holds at most
//! [`MAX_CHART_POINTS`] points, the newest candles and the whitespace of
//! their gaps; a wider timeframe shows more of the file.

use shared::{Candle, Timeframe};

use crate::chart::bars::gap_times;

/// Points (bars and gap whitespace) a file's chart holds at most.
pub const MAX_CHART_POINTS: usize = 10_000;

/// The index of the oldest of the newest `candles` (oldest first) whose
/// points, gaps included, are at most `max_points`.
#[must_use]
pub fn newest_within(candles: &[Candle], timeframe: Timeframe, max_points: usize) -> usize {
    let mut points = 0usize;
    let mut from = candles.len();
    while from > 0 {
        let candle = &candles[from - 1];
        let gap = candles.get(from).map_or(0, |next| {
            gap_times(candle.open_time(), next.open_time(), timeframe).count()
        });
        if points + 1 + gap > max_points {
            break;
        }
        points += 1 + gap;
        from -= 1;
    }
    from
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::model::testing::candle;

    #[wasm_bindgen_test]
    fn keeps_the_newest_candles_whose_points_fit() {
        let candles: Vec<Candle> = [0, 60, 120, 600, 660].map(|t| candle(t, "1.1")).into();
        assert_eq!(newest_within(&candles, Timeframe::M1, 100), 0);
        assert_eq!(newest_within(&candles, Timeframe::M1, 2), 3);
        // 600 after 120 leaves 7 empty minutes: 1 + 7 + 2 points from 120 on.
        assert_eq!(newest_within(&candles, Timeframe::M1, 9), 3);
        assert_eq!(newest_within(&candles, Timeframe::M1, 10), 2);
        assert_eq!(newest_within(&candles, Timeframe::M1, 0), 5);
        assert_eq!(newest_within(&[], Timeframe::M1, 10), 0);
    }
}
