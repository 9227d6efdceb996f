//! [`AssetPicker`]: the assets the server knows, or a typed name checked as
//! the server checks it.

use leptos::prelude::*;
use shared::Asset;

/// A text field with the known assets as suggestions. A valid name is
/// written to `set_asset` when committed (Enter, leaving the field, picking
/// a suggestion); an invalid one shows why, and the asset stays as it was.
#[component]
pub fn AssetPicker(
    /// The asset shown, the field's starting text.
    asset: ReadSignal<Asset>,
    /// Receives each valid name committed.
    set_asset: WriteSignal<Asset>,
    /// Names to suggest: what the server reported, sorted.
    known: Signal<Vec<Asset>>,
    /// Which chart it is for: the first one's ids are `asset` and
    /// `known-assets`, the others' end in `-{index}`.
    #[prop(optional)]
    index: usize,
) -> impl IntoView {
    let (id, list) = match index {
        0 => ("asset".to_owned(), "known-assets".to_owned()),
        i => (format!("asset-{i}"), format!("known-assets-{i}")),
    };
    let (text, set_text) = signal(asset.get_untracked().to_string());
    let problem =
        Memo::new(move |_| text.with(|t| Asset::new_checked(t).err().map(|e| e.to_string())));
    let on_input = move |ev| set_text.set(event_target_value(&ev));
    let on_change = move |ev| {
        if let Ok(chosen) = Asset::new_checked(&event_target_value(&ev)) {
            set_asset.set(chosen);
        }
    };
    view! {
        <label class="field">
            <span>"Asset"</span>
            <input
                id=id
                type="text"
                list=list.clone()
                maxlength="40"
                spellcheck="false"
                autocomplete="off"
                prop:value=text
                aria-invalid=move || problem.get().is_some().to_string()
                on:input=on_input
                on:change=on_change
            />
            <datalist id=list>
                <For
                    each=move || known.get()
                    key=|a| *a
                    children=|a: Asset| view! { <option value=a.to_string()></option> }
                />
            </datalist>
        </label>
        {move || problem.get().map(|p| view! { <p class="field-error" role="alert">{p}</p> })}
    }
}
