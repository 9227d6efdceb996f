//! Chart points from candles: the one place where an exact [`Price`] becomes
//! a JS number, for drawing only. Missing buckets between two candles become
//! whitespace points, so a gap in the data shows as a gap.
//!
//! [`Price`]: shared::Price

use serde::Serialize;
use shared::price::PRICE_SCALE;
use shared::{Candle, Price, Timeframe};

/// Whitespace points drawn for one gap at most: a longer gap (a weekend at
/// one minute) still shows, just not at full width.
pub const MAX_GAP_POINTS: i64 = 240;

/// Colour of a rising candle's volume bar.
const UP_VOLUME: &str = "rgba(38,166,154,0.45)";
/// Colour of a falling candle's volume bar.
const DOWN_VOLUME: &str = "rgba(239,83,80,0.45)";

/// A point of the candlestick series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BarPoint {
    /// A candle.
    Bar {
        /// Open time, Unix seconds.
        time: i64,
        /// Open price.
        open: f64,
        /// High price.
        high: f64,
        /// Low price.
        low: f64,
        /// Close price.
        close: f64,
    },
    /// A bucket without ticks.
    Gap {
        /// Open time of the empty bucket.
        time: i64,
    },
}

/// A point of the volume (tick count) histogram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum VolumePoint {
    /// The tick count of a candle, coloured by its direction.
    Bar {
        /// Open time, Unix seconds.
        time: i64,
        /// Ticks.
        value: f64,
        /// Up or down colour.
        color: &'static str,
    },
    /// A bucket without ticks.
    Gap {
        /// Open time of the empty bucket.
        time: i64,
    },
}

impl BarPoint {
    /// The same point at `time` (the shifted time the chart is handed).
    #[must_use]
    pub const fn at(self, time: i64) -> Self {
        match self {
            Self::Bar {
                open,
                high,
                low,
                close,
                ..
            } => Self::Bar {
                time,
                open,
                high,
                low,
                close,
            },
            Self::Gap { .. } => Self::Gap { time },
        }
    }
}

impl VolumePoint {
    /// The same point at `time` (the shifted time the chart is handed).
    #[must_use]
    pub const fn at(self, time: i64) -> Self {
        match self {
            Self::Bar { value, color, .. } => Self::Bar { time, value, color },
            Self::Gap { .. } => Self::Gap { time },
        }
    }
}

/// The candlestick point of `candle`.
#[must_use]
pub fn bar(candle: &Candle) -> BarPoint {
    BarPoint::Bar {
        time: candle.open_time(),
        open: to_f64(candle.open()),
        high: to_f64(candle.high()),
        low: to_f64(candle.low()),
        close: to_f64(candle.close()),
    }
}

/// The volume point of `candle`.
#[must_use]
pub fn volume(candle: &Candle) -> VolumePoint {
    #[allow(clippy::cast_precision_loss)]
    let value = candle.volume() as f64;
    VolumePoint::Bar {
        time: candle.open_time(),
        value,
        color: if candle.close() >= candle.open() {
            UP_VOLUME
        } else {
            DOWN_VOLUME
        },
    }
}

/// Open times of the empty buckets strictly between `previous` and `next`,
/// at most [`MAX_GAP_POINTS`] of them.
pub fn gap_times(previous: i64, next: i64, timeframe: Timeframe) -> impl Iterator<Item = i64> {
    let step = timeframe.seconds();
    (1..=MAX_GAP_POINTS)
        .map(move |k| previous + k * step)
        .take_while(move |t| *t < next)
}

/// Every point for `candles` (oldest first), with whitespace for the gaps.
#[must_use]
pub fn points<'a>(
    candles: impl IntoIterator<Item = &'a Candle>,
    timeframe: Timeframe,
) -> (Vec<BarPoint>, Vec<VolumePoint>) {
    let candles = candles.into_iter();
    let mut bars = Vec::with_capacity(candles.size_hint().0);
    let mut volumes = Vec::with_capacity(candles.size_hint().0);
    let mut previous: Option<i64> = None;
    for c in candles {
        if let Some(p) = previous {
            for time in gap_times(p, c.open_time(), timeframe) {
                bars.push(BarPoint::Gap { time });
                volumes.push(VolumePoint::Gap { time });
            }
        }
        bars.push(bar(c));
        volumes.push(volume(c));
        previous = Some(c.open_time());
    }
    (bars, volumes)
}

/// Digits after the decimal point in `candle`'s prices (their exact text).
#[must_use]
pub fn decimals(candle: &Candle) -> u32 {
    [candle.open(), candle.high(), candle.low(), candle.close()]
        .iter()
        .map(|p| fraction_digits(p.units()))
        .max()
        .unwrap_or(0)
}

/// Fractional digits of the shortest exact text of a price of `units`
/// (10⁻¹⁰ each): its scale less its trailing zeros.
fn fraction_digits(mut units: u128) -> u32 {
    let mut digits = PRICE_SCALE;
    while digits > 0 && units.is_multiple_of(10) {
        units /= 10;
        digits -= 1;
    }
    digits
}

/// The nearest `f64` to `price`, as [`Price::to_f64_lossy`] gives it but
/// without text: below 2⁵³ units, the units and 10¹⁰ are exact `f64`s and
/// one division rounds their quotient correctly, as parsing does.
fn to_f64(price: Price) -> f64 {
    const EXACT: u128 = 1 << 53;
    let units = price.units();
    if units <= EXACT {
        #[allow(clippy::cast_precision_loss)]
        let exact = units as f64;
        exact / 1e10
    } else {
        price.to_f64_lossy()
    }
}

/// The time of a point.
#[must_use]
pub const fn time_of(point: &BarPoint) -> i64 {
    match point {
        BarPoint::Bar { time, .. } | BarPoint::Gap { time } => *time,
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::model::testing::{BASE, candle};

    #[wasm_bindgen_test]
    fn missing_buckets_become_whitespace() {
        let candles = [candle(0, "1.1"), candle(60, "1.2"), candle(240, "1.3")];
        let (bars, volumes) = points(&candles, Timeframe::M1);
        let times: Vec<i64> = bars.iter().map(|p| time_of(p) - BASE).collect();
        assert_eq!(times, [0, 60, 120, 180, 240]);
        assert_eq!(bars[2], BarPoint::Gap { time: BASE + 120 });
        assert_eq!(volumes[3], VolumePoint::Gap { time: BASE + 180 });
        assert!(matches!(bars[4], BarPoint::Bar { close, .. } if (close - 1.3).abs() < 1e-12));
    }

    #[wasm_bindgen_test]
    fn a_long_gap_is_capped() {
        let n = gap_times(BASE, BASE + 10_000 * 60, Timeframe::M1).count();
        assert_eq!(i64::try_from(n).unwrap(), MAX_GAP_POINTS);
        assert_eq!(gap_times(BASE, BASE + 60, Timeframe::M1).count(), 0);
    }

    #[wasm_bindgen_test]
    fn counts_the_decimals_of_the_exact_prices() {
        assert_eq!(decimals(&candle(0, "1.08231")), 5);
        assert_eq!(decimals(&candle(0, "64000")), 0);
        assert_eq!(decimals(&candle(0, "0.0000000001")), 10);
        assert_eq!(decimals(&candle(0, "9999999999.9999999999")), 10);
    }

    #[wasm_bindgen_test]
    fn prices_become_the_nearest_f64_as_their_text_parses() {
        for text in [
            "1.0823",
            "0.1",
            "0.3",
            "1.08231",
            "64000",
            "0.0000000001",
            "900719.9254740992",
            "900719.9254740993",
            "9999999999.9999999999",
            "123456.7890123456",
        ] {
            let p = Price::new(text);
            assert_eq!(to_f64(p), p.to_f64_lossy(), "{text}");
        }
    }

    #[wasm_bindgen_test]
    fn points_serialise_as_the_library_expects() {
        let json = serde_json::to_string(&points(&[candle(0, "1.5")], Timeframe::M1)).unwrap();
        assert_eq!(
            json,
            format!(
                r#"[[{{"time":{BASE},"open":1.5,"high":1.5,"low":1.5,"close":1.5}}],[{{"time":{BASE},"value":1.0,"color":"rgba(38,166,154,0.45)"}}]]"#
            )
        );
    }
}
