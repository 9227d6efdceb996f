//! [`IndicatorMenu`]: adds a study to the chart (its kind, period or
//! periods, multiplier), checked by `shared`'s [`Study`] limits, and removes
//! each one enabled.

use leptos::prelude::*;
use shared::indicators::{MAX_PERIOD, Study, StudyParams};

use crate::chart::Studies;
use crate::chart::studies::label;

/// The kinds offered, as `shared` names them, with what the menu shows.
const KINDS: [(&str, &str); 5] = [
    ("sma", "SMA"),
    ("ema", "EMA"),
    ("rsi", "RSI"),
    ("bb", "Bollinger"),
    ("macd", "MACD"),
];

/// A number field of the menu, shown while `shown` holds.
fn number_field(
    id: String,
    caption: &'static str,
    value: RwSignal<String>,
    shown: impl Fn() -> bool + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <label class="field indicator-field" hidden=move || !shown()>
            <span>{caption}</span>
            <input
                id=id
                type="number"
                min="1"
                max=MAX_PERIOD.to_string()
                step="any"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

/// The indicator menu: kind, parameters, Add, and the studies on.
#[component]
pub fn IndicatorMenu(
    /// The chart's studies.
    studies: Studies,
    /// Its chart's place in the layout: the first chart's menu has the ids
    /// `indicator-menu`, `indicator-kind`, …; the others' end in `-{index}`.
    #[prop(optional)]
    index: usize,
) -> impl IntoView {
    let id = move |name: &str| match index {
        0 => name.to_owned(),
        i => format!("{name}-{i}"),
    };
    let kind = RwSignal::new("sma".to_owned());
    let period = RwSignal::new("20".to_owned());
    let mult = RwSignal::new("2".to_owned());
    let fast = RwSignal::new("12".to_owned());
    let slow = RwSignal::new("26".to_owned());
    let signal_period = RwSignal::new("9".to_owned());
    let (problem, set_problem) = signal(None::<String>);
    let is = move |k: &'static str| move || kind.with(|v| v == k);

    let on_kind = move |ev| {
        let k = event_target_value(&ev);
        period.set(if k == "rsi" { "14" } else { "20" }.to_owned());
        kind.set(k);
    };
    let on_add = move |_| {
        let k = kind.get_untracked();
        let (p, m, f, s, g) = (
            period.get_untracked(),
            mult.get_untracked(),
            fast.get_untracked(),
            slow.get_untracked(),
            signal_period.get_untracked(),
        );
        let macd = k == "macd";
        let params = StudyParams {
            period: (!macd).then_some(p.trim()),
            mult: (k == "bb").then_some(m.trim()),
            fast: macd.then_some(f.trim()),
            slow: macd.then_some(s.trim()),
            signal: macd.then_some(g.trim()),
        };
        let added = Study::from_params(&k, &params)
            .map_err(|e| e.to_string())
            .and_then(|study| studies.add(study));
        set_problem.set(added.err());
    };
    let enabled = studies.enabled();

    view! {
        <div class="indicator-menu" id=id("indicator-menu") role="group" aria-label="Indicators">
            <label class="field">
                <span>"Indicator"</span>
                <select id=id("indicator-kind") on:change=on_kind prop:value=move || kind.get()>
                    {KINDS
                        .map(|(k, name)| view! { <option value=k>{name}</option> })
                        .collect_view()}
                </select>
            </label>
            {number_field(id("indicator-period"), "Period", period, move || !is("macd")())}
            {number_field(id("indicator-mult"), "Mult", mult, is("bb"))}
            {number_field(id("indicator-fast"), "Fast", fast, is("macd"))}
            {number_field(id("indicator-slow"), "Slow", slow, is("macd"))}
            {number_field(id("indicator-signal"), "Signal", signal_period, is("macd"))}
            <button id=id("indicator-add") type="button" on:click=on_add>"Add"</button>
            {move || problem.get().map(|p| view! { <span class="indicator-problem" role="alert">{p}</span> })}
            <ul class="indicator-list">
                {move || {
                    enabled
                        .get()
                        .into_iter()
                        .map(|study| {
                            let name = label(&study);
                            view! {
                                <li class="indicator-on">
                                    {name.clone()}
                                    <button
                                        type="button"
                                        class="indicator-remove"
                                        data-study=study.to_string()
                                        aria-label=format!("Remove {name}")
                                        on:click=move |_| studies.remove(study)
                                    >
                                        "×"
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}
