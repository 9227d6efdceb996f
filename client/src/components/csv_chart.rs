//! [`CsvChart`]: the chart of an open CSV file, below the live one, with
//! what it shows and a button to close it.

use leptos::html::Div;
use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::chart::{Chart, TimeFormat};
use crate::csv::{CsvShown, CsvView};

/// The CSV file's chart, shown while a file is open.
#[component]
pub fn CsvChart(
    /// The file.
    csv: CsvView,
    /// The zone times are shown in.
    zone: ReadSignal<String>,
) -> impl IntoView {
    let shown = csv.shown();
    view! {
        <Show when=move || shown.with(Option::is_some)>
            <CsvPanel csv=csv zone=zone />
        </Show>
    }
}

/// The heading, the close button and the chart of the file shown.
#[component]
fn CsvPanel(csv: CsvView, zone: ReadSignal<String>) -> impl IntoView {
    let shown = csv.shown();
    let container = NodeRef::<Div>::new();
    let chart: StoredValue<Option<SendWrapper<Chart>>> = StoredValue::new(None);
    let (points, set_points) = signal(0usize);
    let (problem, set_problem) = signal(None::<String>);

    Effect::new(move |_| {
        let Some(element) = container.get() else {
            return;
        };
        shown.with(|s| {
            let Some(s) = s else {
                return;
            };
            if chart.with_value(Option::is_none) {
                let made = TimeFormat::new(&zone.get_untracked())
                    .map_err(|_| "unknown time zone".to_owned())
                    .and_then(|f| Chart::new(&element, &f).map_err(|e| e.to_string()));
                match made {
                    Ok(c) => chart.set_value(Some(SendWrapper::new(c))),
                    Err(e) => {
                        set_problem.set(Some(e));
                        return;
                    }
                }
            }
            chart.update_value(|c| {
                if let Some(c) = c.as_mut() {
                    c.show_candles(&s.candles, s.timeframe);
                    set_points.set(c.points_drawn());
                }
            });
        });
    });

    Effect::new(move |_| {
        if let Ok(format) = TimeFormat::new(&zone.get()) {
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

    let attr = move |f: fn(&CsvShown) -> String| move || shown.with(|s| s.as_ref().map(f));
    view! {
        <section class="csv-view" aria-label="CSV file">
            <div class="csv-heading">
                <span class="csv-title" id="csv-title">{attr(|s| format!("CSV: {}", s.name))}</span>
                <span class="csv-summary" id="csv-summary">{attr(summary)}</span>
                <button id="csv-close" type="button" on:click=move |_| csv.close()>
                    "Close"
                </button>
            </div>
            <div
                class="chart csv-chart"
                id="csv-chart"
                node_ref=container
                data-points=move || points.get().to_string()
                data-candles=attr(|s| s.candles.len().to_string())
                data-total=attr(|s| s.total.to_string())
                data-timeframe=attr(|s| s.timeframe.to_string())
                data-asset=attr(|s| s.asset.to_string())
                data-last-close=attr(|s| s.candles.last().map(|c| c.close().to_string()).unwrap_or_default())
            ></div>
            {move || problem.get().map(|p| view! { <p class="chart-error" role="alert">{p}</p> })}
        </section>
    }
}

/// `EURUSD · 1M · 1,440 candles from 86,400 ticks`, saying when only the
/// newest are drawn.
fn summary(s: &CsvShown) -> String {
    let source = if s.ticks {
        let repeats = match s.repeats {
            0 => String::new(),
            1 => ", 1 repeat counted once".to_owned(),
            n => format!(", {} repeats counted once", grouped(n)),
        };
        format!("from {} ticks{repeats}", grouped(s.rows as u64))
    } else {
        "read as candles".to_owned()
    };
    let count = if s.total > s.candles.len() {
        format!(
            "the newest {} of {} candles (a wider timeframe shows more)",
            grouped(s.candles.len() as u64),
            grouped(s.total as u64)
        )
    } else {
        format!("{} candles", grouped(s.total as u64))
    };
    format!("{} · {} · {count} {source}", s.asset, s.timeframe)
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::grouped;

    #[wasm_bindgen_test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
