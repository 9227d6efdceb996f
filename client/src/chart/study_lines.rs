//! [`StudyLines`]: the series a chart draws its studies with. SMA, EMA
//! and Bollinger (basis, upper, lower) on the price pane; RSI and MACD
//! (line, signal, histogram) each in a pane of its own below it.

use serde::Serialize;
use shared::indicators::{Study, Value};
use wasm_bindgen::JsCast;

use super::bindings::{HISTOGRAM_SERIES, IChartApi, IPaneApi, ISeriesApi, LINE_SERIES};
use super::js::{options, to_js};
use super::study_track::{Changed, Track};
use super::zone_time::{self, ZoneTimes};

/// Colours of successive price-pane studies.
const PRICE_COLOURS: [&str; 4] = ["#f0b429", "#4fc3f7", "#ce93d8", "#a5d6a7"];
/// The price pane's height against each study pane's.
const PRICE_PANE_STRETCH: f64 = 3.0;

/// A point of a line or histogram series.
#[derive(Serialize)]
struct LinePoint {
    time: i64,
    value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<&'static str>,
}

/// The numbers each series of a study draws, in the order of its series.
fn series_values(value: &Value) -> Vec<f64> {
    match value {
        Value::Line { value } => vec![*value],
        Value::Bands(b) => vec![b.basis, b.upper, b.lower],
        Value::Macd(m) => vec![m.macd, m.signal, m.histogram],
    }
}

/// The series of every study drawn.
#[derive(Default)]
pub struct StudyLines {
    /// Per study, in order: its series, one per number of its value.
    series: Vec<Vec<ISeriesApi>>,
    /// The studies, in the same order.
    studies: Vec<Study>,
}

/// The price format of `decimals` decimals.
fn price_format(decimals: u32) -> serde_json::Value {
    let min_move = 10f64.powi(-i32::try_from(decimals).unwrap_or(10));
    serde_json::json!({ "type": "price", "precision": decimals, "minMove": min_move })
}

impl StudyLines {
    /// Draws `studies` from now on (none drawn yet): removes the series of
    /// the studies before, then adds one set per study, each study with a
    /// pane of its own after the price pane's.
    pub fn set(&mut self, api: &IChartApi, studies: &[Study], precision: u32) {
        for s in self.series.drain(..).flatten() {
            api.remove_series(&s);
        }
        self.studies = studies.to_vec();
        let mut pane = 0u32;
        let mut colour = PRICE_COLOURS.iter().cycle();
        for study in studies {
            let line = |colour: &str, pane: u32, format: &serde_json::Value| {
                LINE_SERIES.with(|d| {
                    api.add_series_in_pane(
                        d,
                        &options(&serde_json::json!({
                            "color": colour, "lineWidth": 1, "priceLineVisible": false,
                            "crosshairMarkerVisible": false, "priceFormat": format,
                        })),
                        pane,
                    )
                })
            };
            let set = match study {
                Study::Sma { .. } | Study::Ema { .. } => {
                    let c = colour.next().copied().unwrap_or("#f0b429");
                    vec![line(c, 0, &price_format(precision))]
                }
                Study::Bb { .. } => {
                    let c = colour.next().copied().unwrap_or("#4fc3f7");
                    let f = price_format(precision);
                    vec![line(c, 0, &f), line(c, 0, &f), line(c, 0, &f)]
                }
                Study::Rsi { .. } => {
                    pane += 1;
                    vec![line("#b39ddb", pane, &price_format(2))]
                }
                Study::Macd { .. } => {
                    pane += 1;
                    let f = price_format(precision);
                    let histogram = HISTOGRAM_SERIES.with(|d| {
                        api.add_series_in_pane(
                            d,
                            &options(&serde_json::json!({
                                "priceLineVisible": false, "priceFormat": f,
                            })),
                            pane,
                        )
                    });
                    vec![
                        line("#2962ff", pane, &f),
                        line("#ff6d00", pane, &f),
                        histogram,
                    ]
                }
            };
            self.series.push(set);
        }
        let price = api.panes().get(0);
        if !price.is_undefined() {
            price
                .unchecked_into::<IPaneApi>()
                .set_stretch_factor(PRICE_PANE_STRETCH);
        }
    }

    /// Shows `decimals` decimals on the studies in prices (all but RSI).
    pub fn show_precision(&self, decimals: u32) {
        let format = options(&serde_json::json!({ "priceFormat": price_format(decimals) }));
        for (study, set) in self.studies.iter().zip(&self.series) {
            if !matches!(study, Study::Rsi { .. }) {
                for s in set {
                    s.apply_series_options(&format);
                }
            }
        }
    }

    /// Moves every study's points to their times in a new zone (see
    /// [`zone_time::retime`]).
    pub fn retime(&self, moved: &[(i64, i64)]) {
        for s in self.series.iter().flatten() {
            zone_time::retime(s, moved);
        }
    }

    /// Draws what changed in study `index`'s `track`, at the times `times`
    /// shows its candles at.
    pub fn draw(&self, index: usize, track: &Track, changed: &Changed, times: &ZoneTimes) {
        let Some(set) = self.series.get(index) else {
            return;
        };
        if let Changed::Newest(newest) = changed {
            let placed = newest.iter().all(|t| {
                track.at(*t).is_none_or(|v| {
                    let numbers = series_values(&v);
                    set.iter().zip(numbers).enumerate().all(|(i, (s, n))| {
                        s.update(
                            &to_js(&point(times.shown(*t), n, i == 2 && is_macd(track))),
                            false,
                        )
                        .is_ok()
                    })
                })
            });
            if placed {
                return;
            }
        }
        let values: Vec<(i64, Vec<f64>)> = track
            .values()
            .map(|(t, v)| (t, series_values(&v)))
            .collect();
        for (i, s) in set.iter().enumerate() {
            let histogram = i == 2 && is_macd(track);
            let points: Vec<LinePoint> = values
                .iter()
                .filter_map(|(t, n)| Some(point(times.shown(*t), *n.get(i)?, histogram)))
                .collect();
            s.set_data(&to_js(&points));
        }
    }

    /// The newest point's `field` (`"value"`, `"time"`) in each series,
    /// per study: what is drawn.
    #[must_use]
    pub fn newest_drawn(&self, field: &str) -> Vec<Vec<Option<f64>>> {
        self.series
            .iter()
            .map(|set| set.iter().map(|s| newest_of(s, field)).collect())
            .collect()
    }
}

/// The newest point's `field` in `series`, when a number.
pub fn newest_of(series: &ISeriesApi, field: &str) -> Option<f64> {
    js_sys::Reflect::get(&series.data().pop(), &field.into())
        .ok()
        .and_then(|v| v.as_f64())
}

const fn is_macd(track: &Track) -> bool {
    matches!(track.study(), Study::Macd { .. })
}

/// A series point; a histogram bar coloured by its sign.
fn point(time: i64, value: f64, histogram: bool) -> LinePoint {
    let color = histogram.then_some(if value >= 0.0 {
        "rgba(38,166,154,0.6)"
    } else {
        "rgba(239,83,80,0.6)"
    });
    LinePoint { time, value, color }
}
