//! [`Chart`]: one lightweight-charts chart with a candlestick series and a
//! volume (tick count) histogram on its own price scale, drawn from a
//! [`CandleBuffer`](crate::model::CandleBuffer) a
//! [`Redraw`](crate::model::Redraw) at a time ([`draw`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use shared::indicators::Study;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use super::bindings::{
    CANDLESTICK_SERIES, HISTOGRAM_SERIES, IChartApi, ISeriesApi, create_chart, library_loaded,
};
use super::js::options;
use super::study_lines::StudyLines;
use super::study_track::{Changed, Track};
use super::time_zone::TimeFormat;
use super::zone_time::{self, ZoneClock, ZoneTimes};

mod draw;
mod readout;

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
