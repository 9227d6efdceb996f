//! [`Legend`]: open, high, low, close and tick count of the candle under the
//! crosshair, or of the newest one, with the exact prices the server sent;
//! and each study enabled, named (`SMA 20`) with its value there.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use shared::Candle;

use crate::chart::TimeFormat;
use crate::chart::bars::decimals;
use crate::chart::studies::{Studies, label};
use crate::stream::DataStream;
use shared::indicators::{Study, Value};

/// The OHLC line above the chart. Its `data-*` attributes carry the candle
/// shown (open time, close, volume) and how many are held.
#[component]
pub fn Legend(
    /// Where the candles are.
    stream: DataStream,
    /// The open time under the crosshair, if any.
    hovered: ReadSignal<Option<i64>>,
    /// The zone times are shown in.
    zone: ReadSignal<String>,
    /// The chart's studies, named with their values (none when absent).
    #[prop(optional)]
    studies: Option<Studies>,
    /// Its chart's place in the layout: the first chart's legend has the
    /// id `legend`, the others' `legend-{index}`.
    #[prop(optional)]
    index: usize,
) -> impl IntoView {
    let id = match index {
        0 => "legend".to_owned(),
        i => format!("legend-{i}"),
    };
    let view = stream.view();
    let shown = Memo::new(move |_| {
        let latest = view.with(|v| v.latest);
        match hovered.get() {
            Some(t) => stream
                .with_buffer(|b| b.get(t).copied())
                .flatten()
                .or(latest),
            None => latest,
        }
    });
    // The price axis's decimals: those of the prices held, 2 to 10.
    let precision = Memo::new(move |_| {
        view.track();
        stream
            .with_buffer(|b| b.iter().map(decimals).max())
            .flatten()
            .map_or(5, |d| d.clamp(2, 10))
    });
    let study_items = move || {
        let studies = studies?;
        let time = hovered
            .get()
            .or_else(|| view.with(|v| v.latest.map(|c| c.open_time())));
        let precision = precision.get();
        let items = studies
            .readout(time)
            .into_iter()
            .map(|(study, value)| {
                let text = value.map(|v| value_text(&study, &v, precision));
                let attribute = text.clone();
                view! {
                    <span class="study" data-study=study.to_string() data-value=attribute>
                        {label(&study)}
                        {text.map(|t| view! { " " <b>{t}</b> })}
                    </span>
                }
            })
            .collect_view();
        Some(items)
    };
    // Formatters are built once per zone, not per crosshair move.
    let format: StoredValue<Option<SendWrapper<TimeFormat>>> = StoredValue::new(None);
    let time_text = move |c: &Candle| {
        #[allow(clippy::cast_precision_loss)]
        let t = c.open_time() as f64;
        zone.with(|z| {
            format.update_value(|f| {
                if f.as_ref().map(|f| f.zone()) != Some(z.as_str()) {
                    *f = TimeFormat::new(z).ok().map(SendWrapper::new);
                }
            });
        });
        format
            .with_value(|f| f.as_ref().map(|f| f.date_time(t)))
            .unwrap_or_default()
    };
    view! {
        <div
            class="legend"
            id=id
            data-time=move || shown.get().map(|c| c.open_time().to_string())
            data-close=move || shown.get().map(|c| c.close().to_string())
            data-volume=move || shown.get().map(|c| c.volume().to_string())
            data-candles=move || view.with(|v| v.candles.to_string())
        >
            <span class="selection">{move || view.with(|v| format!("{} · {}", v.asset, v.timeframe))}</span>
            {move || match shown.get() {
                None => view! { <span class="legend-empty">"no candles yet"</span> }.into_any(),
                Some(c) => {
                    let direction = if c.close() >= c.open() { "up" } else { "down" };
                    view! {
                        <span class="legend-time">{time_text(&c)} " " {move || zone.get()}</span>
                        <span class="ohlc" data-direction=direction>
                            <span>"O "<b>{c.open().to_string()}</b></span>
                            <span>"H "<b>{c.high().to_string()}</b></span>
                            <span>"L "<b>{c.low().to_string()}</b></span>
                            <span>"C "<b>{c.close().to_string()}</b></span>
                            <span>"Ticks "<b>{c.volume()}</b></span>
                        </span>
                    }
                        .into_any()
                }
            }}
            {study_items}
        </div>
    }
}

/// A study's value as shown: RSI with 2 decimals, the others with the
/// price's `precision`; Bollinger as basis, upper, lower; MACD as line,
/// signal, histogram.
fn value_text(study: &Study, value: &Value, precision: u32) -> String {
    let p = if matches!(study, Study::Rsi { .. }) {
        2
    } else {
        precision as usize
    };
    match value {
        Value::Line { value } => format!("{value:.p$}"),
        Value::Bands(b) => format!("{:.p$} {:.p$} {:.p$}", b.basis, b.upper, b.lower),
        Value::Macd(m) => format!("{:.p$} {:.p$} {:.p$}", m.macd, m.signal, m.histogram),
    }
}
