//! [`Chart`]: one lightweight-charts chart with a candlestick series and a
//! volume (tick count) histogram on its own price scale, drawn from a
//! [`CandleBuffer`] a [`Redraw`] at a time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use shared::indicators::Study;
use shared::{Candle, Timeframe};
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use super::bars::{self, BarPoint, VolumePoint};
use super::bindings::{
    CANDLESTICK_SERIES, HISTOGRAM_SERIES, IChartApi, ISeriesApi, create_chart, library_loaded,
};
use super::js::{options, to_js};
use super::study_lines::StudyLines;
use super::study_track::{Changed, Track};
use super::time_zone::TimeFormat;
use super::zone_time::{self, ZoneClock, ZoneTimes};
use crate::model::{CandleBuffer, Redraw};

mod readout;

/// Bars kept in view when a new series opens.
const BARS_IN_VIEW: f64 = 120.0;

/// The DOM events with which the user starts moving the view (drag, pinch,
/// wheel); after one, view changes are theirs.
const USER_INPUT: [&str; 3] = ["pointerdown", "touchstart", "wheel"];

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The lightweight-charts script is not on the page.
    #[error("the chart library (lightweight-charts) is not loaded")]
    NotLoaded,
    /// The library refused.
    #[error("the chart could not be created: {0}")]
    Library(String),
}

/// Time formatting closures handed to the library; kept alive while in use.
struct Formatters {
    _crosshair: Closure<dyn Fn(f64) -> String>,
    _ticks: Closure<dyn Fn(f64, u32) -> String>,
}

/// A chart and what it has drawn.
pub struct Chart {
    api: IChartApi,
    candles: ISeriesApi,
    volume: ISeriesApi,
    /// Times of the points drawn (bars and whitespace), ascending.
    drawn: Vec<i64>,
    /// The times the library holds: each point's shifted into the zone
    /// shown (see [`zone_time`]); shared with the time formatters.
    times: Rc<RefCell<ZoneTimes>>,
    /// Decimals of the price axis.
    precision: u32,
    formatters: Formatters,
    crosshair: Option<Closure<dyn Fn(JsValue)>>,
    range: Option<Closure<dyn Fn(JsValue)>>,
    /// Whether the user has moved the view of this series (set by
    /// [`USER_INPUT`] on the container, cleared when a series opens).
    user_moved: Rc<Cell<bool>>,
    /// The container and the listener that sets `user_moved`.
    input: (HtmlElement, Closure<dyn Fn()>),
    /// The studies' series.
    studies: StudyLines,
}

impl Chart {
    /// A chart filling `container`, with times shown as `format` says.
    ///
    /// # Errors
    ///
    /// [`ChartError`] when the library is missing or refuses.
    pub fn new(container: &HtmlElement, format: &TimeFormat) -> Result<Self, ChartError> {
        if !library_loaded() {
            return Err(ChartError::NotLoaded);
        }
        let chart_options = options(&serde_json::json!({
            "autoSize": true,
            "layout": {
                "background": { "type": "solid", "color": "#0f1419" },
                "textColor": "#aab4c0",
                "fontSize": 12,
                "attributionLogo": true,
            },
            "grid": {
                "vertLines": { "color": "#1a222c" },
                "horzLines": { "color": "#1a222c" },
            },
            "rightPriceScale": {
                "borderColor": "#243040",
                "scaleMargins": { "top": 0.08, "bottom": 0.26 },
            },
            "timeScale": {
                "borderColor": "#243040",
                "timeVisible": true,
                "secondsVisible": false,
                "rightOffset": 4,
            },
            "crosshair": { "mode": 0 },
        }));
        let api = create_chart(container, &chart_options)
            .map_err(|e| ChartError::Library(format!("{e:?}")))?;
        let candles = CANDLESTICK_SERIES.with(|definition| {
            api.add_series(
                definition,
                &options(&serde_json::json!({
                    "upColor": "#26a69a",
                    "downColor": "#ef5350",
                    "borderVisible": false,
                    "wickUpColor": "#26a69a",
                    "wickDownColor": "#ef5350",
                    "priceFormat": { "type": "price", "precision": 5, "minMove": 0.00001 },
                })),
            )
        });
        let volume = HISTOGRAM_SERIES.with(|definition| {
            api.add_series(
                definition,
                &options(&serde_json::json!({
                    "priceScaleId": "volume",
                    "priceFormat": { "type": "volume" },
                    "lastValueVisible": false,
                    "priceLineVisible": false,
                })),
            )
        });
        // The tick count gets the bottom fifth, on a scale of its own.
        api.price_scale("volume")
            .apply_scale_options(&options(&serde_json::json!({
                "scaleMargins": { "top": 0.8, "bottom": 0 },
            })));
        let clock =
            ZoneClock::new(format.zone()).map_err(|e| ChartError::Library(format!("{e:?}")))?;
        let times = Rc::new(RefCell::new(ZoneTimes::new(clock)));
        let formatters = Self::formatters(&api, format, &times);
        let user_moved = Rc::new(Cell::new(false));
        let moved = user_moved.clone();
        let listener = Closure::<dyn Fn()>::new(move || moved.set(true));
        for event in USER_INPUT {
            // Capture: seen before the library handles (and maybe stops) it.
            let _ = container.add_event_listener_with_callback_and_bool(
                event,
                listener.as_ref().unchecked_ref(),
                true,
            );
        }
        Ok(Self {
            api,
            candles,
            volume,
            drawn: Vec::new(),
            times,
            precision: 5,
            formatters,
            crosshair: None,
            range: None,
            user_moved,
            input: (container.clone(), listener),
            studies: StudyLines::default(),
        })
    }

    /// Hands the library time formatters for `format`'s zone, reading the
    /// real time of each shifted time it passes.
    fn formatters(
        api: &IChartApi,
        format: &TimeFormat,
        times: &Rc<RefCell<ZoneTimes>>,
    ) -> Formatters {
        let real = {
            let times = times.clone();
            move |t: f64| times.try_borrow().map_or(t, |z| z.unshift(t as i64) as f64)
        };
        let (f, unshift) = (format.clone(), real.clone());
        let crosshair =
            Closure::<dyn Fn(f64) -> String>::new(move |t: f64| f.date_time(unshift(t)));
        let f = format.clone();
        let ticks = Closure::<dyn Fn(f64, u32) -> String>::new(move |t: f64, kind: u32| {
            f.tick_mark(real(t), kind)
        });
        let o = Object::new();
        let localization = Object::new();
        let time_scale = Object::new();
        let _ = Reflect::set(&localization, &"timeFormatter".into(), crosshair.as_ref());
        let _ = Reflect::set(&time_scale, &"tickMarkFormatter".into(), ticks.as_ref());
        let _ = Reflect::set(&o, &"localization".into(), &localization);
        let _ = Reflect::set(&o, &"timeScale".into(), &time_scale);
        api.apply_options(&o);
        Formatters {
            _crosshair: crosshair,
            _ticks: ticks,
        }
    }

    /// Shows times in another zone: the points move to their times in it.
    pub fn set_time_format(&mut self, format: &TimeFormat) {
        if let Ok(clock) = ZoneClock::new(format.zone()) {
            let moved = self.times.borrow_mut().set_clock(clock);
            zone_time::retime(&self.candles, &moved);
            zone_time::retime(&self.volume, &moved);
            self.studies.retime(&moved);
        }
        // The new closures replace the old ones in the library before the
        // old ones are dropped.
        self.formatters = Self::formatters(&self.api, format, &self.times);
    }

    /// Calls `handler` with the open time under the crosshair, or `None`.
    pub fn on_crosshair(&mut self, handler: impl Fn(Option<i64>) + 'static) {
        let times = self.times.clone();
        let closure = Closure::<dyn Fn(JsValue)>::new(move |param: JsValue| {
            let time = Reflect::get(&param, &"time".into())
                .ok()
                .and_then(|t| t.as_f64());
            #[allow(clippy::cast_possible_truncation)]
            let real = time.and_then(|t| times.try_borrow().ok().map(|z| z.unshift(t as i64)));
            handler(real);
        });
        self.api
            .subscribe_crosshair_move(closure.as_ref().unchecked_ref());
        self.crosshair = Some(closure);
    }

    /// Calls `handler` with the logical index at the left edge of the view
    /// whenever the user pans or zooms (below 0 is left of the oldest bar).
    ///
    /// Changes the page makes before the user touched the series' view are
    /// not passed on: while the first data is set, the library reports its
    /// default view (6 px a bar from the right; on a 1,200 px chart holding
    /// 150 bars it starts 45 bars left of the oldest) before the page's first
    /// view is applied, which would read as a scroll to the left edge.
    pub fn on_visible_range(&mut self, handler: impl Fn(f64) + 'static) {
        let user_moved = self.user_moved.clone();
        let closure = Closure::<dyn Fn(JsValue)>::new(move |range: JsValue| {
            if !user_moved.get() {
                return;
            }
            if let Some(from) = Reflect::get(&range, &"from".into())
                .ok()
                .and_then(|f| f.as_f64())
            {
                handler(from);
            }
        });
        self.api
            .time_scale()
            .subscribe_visible_logical_range_change(closure.as_ref().unchecked_ref());
        self.range = Some(closure);
    }

    /// Draws `studies` from now on, in their order (see [`StudyLines`]).
    pub fn set_studies(&mut self, studies: &[Study]) {
        self.studies.set(&self.api, studies, self.precision);
    }

    /// Draws what changed in the `index`th study's `track`.
    pub fn draw_study(&self, index: usize, track: &Track, changed: &Changed) {
        self.studies
            .draw(index, track, changed, &self.times.borrow());
    }

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

    /// Frees the chart and its handlers.
    pub fn remove(self) {
        if let Some(c) = &self.crosshair {
            self.api
                .unsubscribe_crosshair_move(c.as_ref().unchecked_ref::<Function>());
        }
        if let Some(c) = &self.range {
            self.api
                .time_scale()
                .unsubscribe_visible_logical_range_change(c.as_ref().unchecked_ref::<Function>());
        }
        let (container, listener) = &self.input;
        for event in USER_INPUT {
            let _ = container.remove_event_listener_with_callback_and_bool(
                event,
                listener.as_ref().unchecked_ref(),
                true,
            );
        }
        self.api.remove();
    }
}

fn range(from: f64, to: f64) -> JsValue {
    let r = Object::new();
    let _ = Reflect::set(&r, &"from".into(), &from.into());
    let _ = Reflect::set(&r, &"to".into(), &to.into());
    r.into()
}
