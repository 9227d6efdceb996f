//! wasm-bindgen bindings to the parts of TradingView's lightweight-charts 5
//! (the global `LightweightCharts` of its standalone build) the page uses.

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

#[wasm_bindgen]
extern "C" {
    /// `IChartApi`: one chart.
    pub type IChartApi;
    /// `ISeriesApi`: one series of a chart.
    pub type ISeriesApi;
    /// `ITimeScaleApi`: a chart's time axis.
    pub type ITimeScaleApi;
    /// `IPriceScaleApi`: one price axis.
    pub type IPriceScaleApi;
    /// `IPaneApi`: one pane of a chart (the price pane is the first).
    pub type IPaneApi;

    /// `LightweightCharts.createChart(container, options)`.
    #[wasm_bindgen(catch, js_namespace = LightweightCharts, js_name = createChart)]
    pub fn create_chart(container: &HtmlElement, options: &JsValue) -> Result<IChartApi, JsValue>;

    /// `LightweightCharts.CandlestickSeries`, the series definition.
    #[wasm_bindgen(thread_local_v2, js_namespace = LightweightCharts, js_name = CandlestickSeries)]
    pub static CANDLESTICK_SERIES: JsValue;

    /// `LightweightCharts.HistogramSeries`, the series definition.
    #[wasm_bindgen(thread_local_v2, js_namespace = LightweightCharts, js_name = HistogramSeries)]
    pub static HISTOGRAM_SERIES: JsValue;

    /// `LightweightCharts.LineSeries`, the series definition.
    #[wasm_bindgen(thread_local_v2, js_namespace = LightweightCharts, js_name = LineSeries)]
    pub static LINE_SERIES: JsValue;

    /// `chart.addSeries(definition, options, paneIndex)`: a pane index one
    /// past the last makes a new pane.
    #[wasm_bindgen(method, js_name = addSeries)]
    pub fn add_series_in_pane(
        this: &IChartApi,
        definition: &JsValue,
        options: &JsValue,
        pane: u32,
    ) -> ISeriesApi;

    /// `chart.removeSeries(series)`; a pane left empty goes with it.
    #[wasm_bindgen(method, js_name = removeSeries)]
    pub fn remove_series(this: &IChartApi, series: &ISeriesApi);

    /// `chart.panes()`.
    #[wasm_bindgen(method)]
    pub fn panes(this: &IChartApi) -> js_sys::Array;

    /// `pane.setStretchFactor(factor)`: its height relative to the others.
    #[wasm_bindgen(method, js_name = setStretchFactor)]
    pub fn set_stretch_factor(this: &IPaneApi, factor: f64);

    /// `series.data()`: the points it holds, oldest first.
    #[wasm_bindgen(method)]
    pub fn data(this: &ISeriesApi) -> js_sys::Array;

    /// `chart.addSeries(definition, options)`.
    #[wasm_bindgen(method, js_name = addSeries)]
    pub fn add_series(this: &IChartApi, definition: &JsValue, options: &JsValue) -> ISeriesApi;

    /// `chart.applyOptions(options)`.
    #[wasm_bindgen(method, js_name = applyOptions)]
    pub fn apply_options(this: &IChartApi, options: &JsValue);

    /// `chart.timeScale()`.
    #[wasm_bindgen(method, js_name = timeScale)]
    pub fn time_scale(this: &IChartApi) -> ITimeScaleApi;

    /// `chart.priceScale(id)`.
    #[wasm_bindgen(method, js_name = priceScale)]
    pub fn price_scale(this: &IChartApi, id: &str) -> IPriceScaleApi;

    /// `chart.subscribeCrosshairMove(handler)`.
    #[wasm_bindgen(method, js_name = subscribeCrosshairMove)]
    pub fn subscribe_crosshair_move(this: &IChartApi, handler: &Function);

    /// `chart.unsubscribeCrosshairMove(handler)`.
    #[wasm_bindgen(method, js_name = unsubscribeCrosshairMove)]
    pub fn unsubscribe_crosshair_move(this: &IChartApi, handler: &Function);

    /// `chart.remove()`: frees the chart and its canvases.
    #[wasm_bindgen(method)]
    pub fn remove(this: &IChartApi);

    /// `series.setData(points)`.
    #[wasm_bindgen(method, js_name = setData)]
    pub fn set_data(this: &ISeriesApi, points: &JsValue);

    /// `series.update(point, historicalUpdate)`; throws for a point it
    /// cannot place (older than the last without `historicalUpdate`, or a
    /// time it does not hold).
    #[wasm_bindgen(method, catch)]
    pub fn update(this: &ISeriesApi, point: &JsValue, historical: bool) -> Result<(), JsValue>;

    /// `series.applyOptions(options)`.
    #[wasm_bindgen(method, js_name = applyOptions)]
    pub fn apply_series_options(this: &ISeriesApi, options: &JsValue);

    /// `priceScale.applyOptions(options)`.
    #[wasm_bindgen(method, js_name = applyOptions)]
    pub fn apply_scale_options(this: &IPriceScaleApi, options: &JsValue);

    /// `timeScale.fitContent()`.
    #[wasm_bindgen(method, js_name = fitContent)]
    pub fn fit_content(this: &ITimeScaleApi);

    /// `timeScale.scrollToRealTime()`.
    #[wasm_bindgen(method, js_name = scrollToRealTime)]
    pub fn scroll_to_real_time(this: &ITimeScaleApi);

    /// `timeScale.getVisibleLogicalRange()`: `{from, to}` or `null`.
    #[wasm_bindgen(method, js_name = getVisibleLogicalRange)]
    pub fn visible_logical_range(this: &ITimeScaleApi) -> JsValue;

    /// `timeScale.setVisibleLogicalRange({from, to})`.
    #[wasm_bindgen(method, catch, js_name = setVisibleLogicalRange)]
    pub fn set_visible_logical_range(this: &ITimeScaleApi, range: &JsValue) -> Result<(), JsValue>;

    /// `timeScale.subscribeVisibleLogicalRangeChange(handler)`.
    #[wasm_bindgen(method, js_name = subscribeVisibleLogicalRangeChange)]
    pub fn subscribe_visible_logical_range_change(this: &ITimeScaleApi, handler: &Function);

    /// `timeScale.unsubscribeVisibleLogicalRangeChange(handler)`.
    #[wasm_bindgen(method, js_name = unsubscribeVisibleLogicalRangeChange)]
    pub fn unsubscribe_visible_logical_range_change(this: &ITimeScaleApi, handler: &Function);
}

/// Whether the lightweight-charts script has loaded (`window.LightweightCharts`).
#[must_use]
pub fn library_loaded() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("LightweightCharts"))
        .unwrap_or(false)
}
