//! [`AssetPicker`]: a typed asset name, checked as the server checks it.

use leptos::prelude::*;
use shared::Asset;

use crate::app::DEFAULT_ASSET;

/// A text field for an asset name. A valid name is written to `set_asset`; an
/// invalid one shows why, and the chosen asset stays as it was.
#[component]
pub fn AssetPicker(
    /// Receives each valid name typed.
    set_asset: WriteSignal<Asset>,
) -> impl IntoView {
    let (text, set_text) = signal(DEFAULT_ASSET.to_owned());
    let problem =
        Memo::new(move |_| text.with(|t| Asset::new_checked(t).err().map(|e| e.to_string())));
    let on_input = move |ev| {
        let typed = event_target_value(&ev);
        if let Ok(asset) = Asset::new_checked(&typed) {
            set_asset.set(asset);
        }
        set_text.set(typed);
    };
    view! {
        <label class="field">
            <span>"Asset"</span>
            <input
                id="asset"
                type="text"
                maxlength="40"
                spellcheck="false"
                autocomplete="off"
                prop:value=text
                aria-invalid=move || problem.get().is_some().to_string()
                on:input=on_input
            />
        </label>
        {move || problem.get().map(|p| view! { <p class="field-error" role="alert">{p}</p> })}
    }
}
