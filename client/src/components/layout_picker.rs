//! [`LayoutPicker`]: one, two or four charts.

use leptos::prelude::*;

use crate::model::page_view::LAYOUTS;

/// A select of the chart counts a layout may have.
#[component]
pub fn LayoutPicker(
    /// The count shown as selected.
    layout: ReadSignal<usize>,
    /// Receives the user's choice.
    set_layout: WriteSignal<usize>,
) -> impl IntoView {
    let on_change = move |ev| {
        if let Ok(n) = event_target_value(&ev).parse::<usize>()
            && LAYOUTS.contains(&n)
        {
            set_layout.set(n);
        }
    };
    view! {
        <label class="field">
            <span>"Charts"</span>
            <select id="layout" on:change=on_change prop:value=move || layout.get().to_string()>
                {LAYOUTS
                    .map(|n| view! { <option value=n.to_string()>{n.to_string()}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}
