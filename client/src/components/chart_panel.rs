//! [`ChartPanel`]: one chart of the layout with its own pickers, legend and
//! data stream, fed over the page's one socket.

use leptos::prelude::*;

use crate::address::ChartSlot;
use crate::chart::Studies;
use crate::components::{
    AssetPicker, CandleChart, IndicatorMenu, Legend, StatusBadges, StreamControls, TimeframePicker,
};
use crate::stream::{DataStream, Link, StreamOptions, use_data_stream};

/// A chart with its asset and timeframe pickers, its indicator menu and its
/// legend. The first
/// chart also carries the status badges and the stream controls, and keeps
/// the page's historical element ids (`#asset`, `#timeframe`, `#chart`).
#[component]
pub fn ChartPanel(
    /// Its place in the layout, from 0.
    index: usize,
    /// The page's socket.
    link: Link<DataStream>,
    /// What it shows.
    choices: ChartSlot,
    /// The zone times are shown in.
    zone: ReadSignal<String>,
    /// How its stream runs (buffer size, processing interval).
    options: StreamOptions,
) -> impl IntoView {
    let options = StreamOptions {
        asset: choices.asset.get_untracked(),
        timeframe: choices.timeframe.get_untracked(),
        ..options
    };
    let stream = use_data_stream(link, &options);
    // The socket follows the user's choice of series.
    Effect::new(move |_| stream.show(choices.asset.get(), choices.timeframe.get()));
    let (hovered, set_hovered) = signal(None::<i64>);
    // The menu's changes reach the address through the slot's studies.
    let studies = Studies::new(choices.studies);
    let known = Signal::derive(move || stream.view().with(|v| v.known_assets.clone()));
    let first = (index == 0).then(|| {
        view! {
            <StatusBadges stream=stream />
            <StreamControls stream=stream />
        }
    });
    view! {
        <section class="chart-panel" data-index=index.to_string() aria-label=format!("Chart {}", index + 1)>
            <div class="controls">
                <AssetPicker
                    asset=choices.asset.read_only()
                    set_asset=choices.asset.write_only()
                    known=known
                    index=index
                />
                <TimeframePicker
                    timeframe=choices.timeframe.read_only()
                    set_timeframe=choices.timeframe.write_only()
                    index=index
                />
                {first}
                <IndicatorMenu studies=studies index=index />
            </div>
            <Legend stream=stream hovered=hovered zone=zone studies=studies index=index />
            <CandleChart
                stream=stream
                zone=zone
                set_hovered=set_hovered
                index=index
                studies=studies
            />
        </section>
    }
}
