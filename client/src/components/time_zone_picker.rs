//! [`TimeZonePicker`]: the zone the chart's times are shown in.

use leptos::prelude::*;

use crate::chart::time_zone::offered_zones;

/// A select of UTC (the default), the browser's zone and the main market
/// centres.
#[component]
pub fn TimeZonePicker(
    /// The zone shown as selected.
    zone: ReadSignal<String>,
    /// Receives the user's choice.
    set_zone: WriteSignal<String>,
) -> impl IntoView {
    let mut zones = offered_zones();
    // A zone opened from the address is offered too.
    let opened = zone.get_untracked();
    if !zones.contains(&opened) {
        zones.push(opened);
    }
    view! {
        <label class="field">
            <span>"Time zone"</span>
            <select
                id="time-zone"
                on:change=move |ev| set_zone.set(event_target_value(&ev))
                prop:value=move || zone.get()
            >
                {zones
                    .into_iter()
                    .map(|z| {
                        let label = z.replace('_', " ");
                        view! { <option value=z>{label}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
