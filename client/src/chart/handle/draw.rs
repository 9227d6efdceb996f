//! Drawing a [`Chart`]: a redraw's changes one bar at a time where the
//! library allows it, else all the data again, keeping the user's view;
//! the price axis's precision follows the prices.

use js_sys::{Object, Reflect};
use shared::{Candle, Timeframe};
use wasm_bindgen::JsValue;

use super::Chart;
use crate::chart::bars::{self, BarPoint, VolumePoint};
use crate::chart::js::{options, to_js};
use crate::model::{CandleBuffer, Redraw};

/// Bars kept in view when a new series opens.
const BARS_IN_VIEW: f64 = 120.0;

impl Chart {
    /// Draws what changed in `buffer`.
    pub fn draw(&mut self, redraw: &Redraw, buffer: &CandleBuffer, timeframe: Timeframe) {
        if redraw.is_full() || self.drawn.is_empty() {
            self.set_all(buffer, timeframe, redraw.fit());
            return;
        }
        for &time in redraw.changed() {
            if !self.update(buffer, timeframe, time) {
                // Not placeable one by one (a new bar in the middle, or the
                // library refused): set everything again.
                self.set_all(buffer, timeframe, false);
                return;
            }
        }
    }

    /// Draws the candle opening at `time` incrementally; `false` when that
    /// is not possible.
    fn update(&mut self, buffer: &CandleBuffer, timeframe: Timeframe, time: i64) -> bool {
        let Some(candle) = buffer.get(time) else {
            // Evicted since: nothing to draw.
            return true;
        };
        self.show_precision(bars::decimals(candle), false);
        let last = self.drawn.last().copied().unwrap_or(i64::MIN);
        if time >= last {
            if time > last && !self.drawn.is_empty() {
                for gap in bars::gap_times(last, time, timeframe) {
                    let ok = self.put(
                        &BarPoint::Gap { time: gap },
                        &VolumePoint::Gap { time: gap },
                        false,
                    );
                    if !ok {
                        return false;
                    }
                    self.drawn.push(gap);
                }
            }
            if !self.put(&bars::bar(candle), &bars::volume(candle), false) {
                return false;
            }
            if time > last {
                self.drawn.push(time);
            }
            return true;
        }
        // An older bar: only a time already drawn can be replaced.
        self.drawn.binary_search(&time).is_ok()
            && self.put(&bars::bar(candle), &bars::volume(candle), true)
    }

    fn put(&self, bar: &BarPoint, volume: &VolumePoint, historical: bool) -> bool {
        let shown = self.times.borrow_mut().shift(bars::time_of(bar));
        self.candles
            .update(&to_js(&bar.at(shown)), historical)
            .is_ok()
            && self
                .volume
                .update(&to_js(&volume.at(shown)), historical)
                .is_ok()
    }

    /// Draws `candles` (oldest first) as all the data, the newest in view:
    /// a chart of a whole series at once, such as a CSV file's.
    pub fn show_candles(&mut self, candles: &[Candle], timeframe: Timeframe) {
        let points = bars::points(candles, timeframe);
        let decimals = candles.iter().map(bars::decimals).max();
        self.set_points(points, decimals, true);
    }

    /// Sets every point again; keeps the user's view unless `fit`.
    fn set_all(&mut self, buffer: &CandleBuffer, timeframe: Timeframe, fit: bool) {
        let points = bars::points(buffer.iter(), timeframe);
        let decimals = buffer.iter().map(bars::decimals).max();
        self.set_points(points, decimals, fit);
    }

    /// Sets `points` as all the data, the price axis showing `decimals`.
    fn set_points(
        &mut self,
        (bar_points, volume_points): (Vec<BarPoint>, Vec<VolumePoint>),
        decimals: Option<u32>,
        fit: bool,
    ) {
        if let Some(decimals) = decimals {
            self.show_precision(decimals, true);
        }
        let time_scale = self.api.time_scale();
        // The first candles of a chart are shown like a new series.
        let fit = fit || self.drawn.is_empty();
        if fit {
            // A series opens: its view is the page's until the user moves it.
            self.user_moved.set(false);
        }
        let kept = if fit { None } else { self.view_anchor() };
        let real: Vec<i64> = bar_points.iter().map(bars::time_of).collect();
        let shown = self.times.borrow_mut().shift_all(&real).to_vec();
        let shifted = |(p, t): (&BarPoint, &i64)| p.at(*t);
        let shifted_bars: Vec<BarPoint> = bar_points.iter().zip(&shown).map(shifted).collect();
        let shifted_volumes: Vec<VolumePoint> = volume_points
            .iter()
            .zip(&shown)
            .map(|(p, t)| p.at(*t))
            .collect();
        self.candles.set_data(&to_js(&shifted_bars));
        self.volume.set_data(&to_js(&shifted_volumes));
        let old_drawn = std::mem::replace(&mut self.drawn, real);
        match kept {
            Some((from, to, anchor_time)) => {
                // Keep the same bars under the user's eyes: shift the
                // logical range by how far the anchor bar moved.
                let old_index = old_drawn.partition_point(|t| *t < anchor_time);
                let new_index = self.drawn.partition_point(|t| *t < anchor_time);
                #[allow(clippy::cast_precision_loss)]
                let shift = new_index as f64 - old_index as f64;
                if shift != 0.0 {
                    let _ = time_scale.set_visible_logical_range(&range(from + shift, to + shift));
                }
            }
            None if fit => {
                #[allow(clippy::cast_precision_loss)]
                let n = self.drawn.len() as f64;
                if n > BARS_IN_VIEW {
                    let _ = time_scale.set_visible_logical_range(&range(n - BARS_IN_VIEW, n + 3.0));
                } else {
                    time_scale.fit_content();
                }
            }
            None => {}
        }
    }

    /// The visible logical range and the time of the bar at its left edge.
    fn view_anchor(&self) -> Option<(f64, f64, i64)> {
        let r = self.api.time_scale().visible_logical_range();
        let from = Reflect::get(&r, &"from".into()).ok()?.as_f64()?;
        let to = Reflect::get(&r, &"to".into()).ok()?.as_f64()?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let index = from.max(0.0).floor() as usize;
        let anchor = *self.drawn.get(index).or(self.drawn.last())?;
        Some((from, to, anchor))
    }

    /// Shows as many decimals on the price axis as the prices have
    /// (2 to 10); fewer only when `may_shrink` (all the data was set).
    fn show_precision(&mut self, decimals: u32, may_shrink: bool) {
        let wanted = decimals.clamp(2, 10);
        if wanted == self.precision || (!may_shrink && wanted < self.precision) {
            return;
        }
        self.precision = wanted;
        let min_move = 10f64.powi(-i32::try_from(wanted).unwrap_or(10));
        self.candles
            .apply_series_options(&options(&serde_json::json!({
                "priceFormat": { "type": "price", "precision": wanted, "minMove": min_move },
            })));
        self.studies.show_precision(wanted);
    }
}

fn range(from: f64, to: f64) -> JsValue {
    let r = Object::new();
    let _ = Reflect::set(&r, &"from".into(), &from.into());
    let _ = Reflect::set(&r, &"to".into(), &to.into());
    r.into()
}
