//! [`OpenCsv`]: the "Open CSV" control: a file input, the reading progress,
//! and why a file was refused.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, HtmlInputElement};

use crate::csv::{CsvStatus, CsvView};

/// A file input for a local CSV of ticks or candles; the file is read in
/// the browser only. Shows progress while it is read and the bad line when
/// it is refused.
#[component]
pub fn OpenCsv(
    /// Where the file goes.
    csv: CsvView,
) -> impl IntoView {
    let on_change = move |ev: Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            let name = file.name();
            csv.open(file.into(), name);
        }
        // Choosing the same file again (after editing it) opens it again.
        input.set_value("");
    };
    let status = csv.status();
    view! {
        <label class="field csv-open">
            <span>"Open CSV"</span>
            <input id="csv-file" type="file" accept=".csv,.txt,text/csv,text/plain" on:change=on_change />
        </label>
        {move || status.with(|s| match s {
            CsvStatus::Idle => None,
            CsvStatus::Reading { name, share } => Some(progress("Reading", name, *share).into_any()),
            CsvStatus::Building { name, share } => {
                Some(progress("Building candles of", name, *share).into_any())
            }
            CsvStatus::Refused { name, reason } => Some(
                view! {
                    <p class="field-error" id="csv-error" role="alert">
                        {format!("{name} refused: {reason}")}
                    </p>
                }
                    .into_any(),
            ),
        })}
    }
}

/// A progress bar with what is being done to which file.
fn progress(doing: &'static str, name: &str, share: f64) -> impl IntoView {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let percent = (share.clamp(0.0, 1.0) * 100.0).round() as u8;
    view! {
        <p class="csv-progress" id="csv-progress" role="status">
            <progress max="100" value=percent.to_string()></progress>
            {format!(" {doing} {name}: {percent}%")}
        </p>
    }
}
