//! [`CandleChart`]: the lightweight-charts chart in the page, drawn from the
//! data stream once per animation frame with something new.

use leptos::html::Div;
use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::chart::{Chart, Studies, TimeFormat};
use crate::stream::DataStream;

/// Logical index from the left edge under which older history is fetched.
const LOAD_OLDER_WITHIN: f64 = 10.0;

/// The chart. Pan with drag or the wheel, zoom with the wheel or a pinch;
/// scrolling to the left edge fetches older candles.
#[component]
pub fn CandleChart(
    /// Where the candles come from.
    stream: DataStream,
    /// The zone times are shown in.
    zone: ReadSignal<String>,
    /// Receives the open time under the crosshair.
    set_hovered: WriteSignal<Option<i64>>,
    /// Its place in the layout: the first chart's id is `chart`, the
    /// others' `chart-{index}`.
    #[prop(optional)]
    index: usize,
    /// The studies drawn over and under the candles (none when absent).
    #[prop(optional)]
    studies: Option<Studies>,
) -> impl IntoView {
    let id = match index {
        0 => "chart".to_owned(),
        i => format!("chart-{i}"),
    };
    let container = NodeRef::<Div>::new();
    let chart: StoredValue<Option<SendWrapper<Chart>>> = StoredValue::new(None);
    let (problem, set_problem) = signal(None::<String>);
    let (points, set_points) = signal(0usize);
    let (panes, set_panes) = signal(1u32);
    let painted = StoredValue::new(false);

    Effect::new(move |_| {
        stream.frame().track();
        if let Some(s) = studies {
            s.track();
        }
        let Some(element) = container.get() else {
            return;
        };
        if chart.with_value(Option::is_none) {
            let format = TimeFormat::new(&zone.get_untracked());
            let made = format
                .map_err(|_| "unknown time zone".to_owned())
                .and_then(|f| Chart::new(&element, &f).map_err(|e| e.to_string()));
            match made {
                Ok(mut c) => {
                    c.on_crosshair(move |time| {
                        set_hovered.try_set(time);
                    });
                    c.on_visible_range(move |from| {
                        if from < LOAD_OLDER_WITHIN {
                            stream.load_older();
                        }
                    });
                    chart.set_value(Some(SendWrapper::new(c)));
                }
                Err(e) => {
                    set_problem.set(Some(e));
                    return;
                }
            }
        }
        let redraw = stream.take_redraw();
        if redraw.is_empty() && studies.is_none() {
            return;
        }
        let drawn = chart.try_update_value(|c| {
            let c = c.as_mut()?;
            let series = stream.view().with_untracked(|v| (v.asset, v.timeframe));
            stream.with_buffer(|b| {
                if !redraw.is_empty() {
                    c.draw(&redraw, b, series.1);
                }
                if let Some(s) = studies {
                    s.sync(c, &redraw, b, series);
                }
            });
            let n = c.pane_count();
            if panes.get_untracked() != n {
                set_panes.set(n);
            }
            Some(c.points_drawn())
        });
        if let Some(Some(n)) = drawn {
            set_points.set(n);
            if n > 0 && !painted.get_value() {
                painted.set_value(true);
                if index == 0 {
                    mark_first_paint(n);
                }
            }
        }
    });

    Effect::new(move |_| {
        let zone = zone.get();
        if let Ok(format) = TimeFormat::new(&zone) {
            chart.update_value(|c| {
                if let Some(c) = c.as_mut() {
                    c.set_time_format(&format);
                }
            });
        }
    });

    on_cleanup(move || {
        if let Some(Some(c)) = chart.try_update_value(Option::take) {
            c.take().remove();
        }
    });

    view! {
        <div class="chart-frame">
            <div
                class="chart"
                id=id
                node_ref=container
                data-points=move || points.get().to_string()
                data-panes=move || panes.get().to_string()
            ></div>
            {move || problem.get().map(|p| view! { <p class="chart-error" role="alert">{p}</p> })}
        </div>
    }
}

/// `performance.mark("chart-first-paint")` in the frame after the first
/// `points` were handed to the chart, and their count in the chart's
/// `data-first-paint-points`: what the paint figure reads.
fn mark_first_paint(points: usize) {
    request_animation_frame(move || {
        if let Some(window) = web_sys::window() {
            if let Some(p) = window.performance() {
                let _ = p.mark("chart-first-paint");
            }
            if let Some(chart) = window.document().and_then(|d| d.get_element_by_id("chart")) {
                let _ = chart.set_attribute("data-first-paint-points", &points.to_string());
            }
        }
    });
}
