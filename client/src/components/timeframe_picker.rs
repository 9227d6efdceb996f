//! [`TimeframePicker`]: one of the seven candle widths.

use leptos::prelude::*;
use shared::Timeframe;

/// A select listing every timeframe the server builds, `1M` to `1D`.
#[component]
pub fn TimeframePicker(
    /// The timeframe shown as selected.
    timeframe: ReadSignal<Timeframe>,
    /// Receives the user's choice.
    set_timeframe: WriteSignal<Timeframe>,
    /// Which chart it is for: the first one's id is `timeframe`, the
    /// others' `timeframe-{index}`.
    #[prop(optional)]
    index: usize,
) -> impl IntoView {
    let id = match index {
        0 => "timeframe".to_owned(),
        i => format!("timeframe-{i}"),
    };
    let on_change = move |ev| {
        if let Ok(tf) = event_target_value(&ev).parse::<Timeframe>() {
            set_timeframe.set(tf);
        }
    };
    view! {
        <label class="field">
            <span>"Timeframe"</span>
            <select id=id on:change=on_change prop:value=move || timeframe.get().to_string()>
                {Timeframe::ALL
                    .map(|tf| view! { <option value=tf.to_string()>{tf.to_string()}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}
