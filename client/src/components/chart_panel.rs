//! [`ChartPanel`]: one chart of the layout with its own pickers, legend and
//! data stream, fed over the page's one socket.

use leptos::prelude::*;

use crate::address::ChartSlot;
use crate::components::{
    AssetPicker, CandleChart, Legend, StatusBadges, StreamControls, TimeframePicker,
};
use crate::stream::{Link, StreamOptions, use_data_stream};

/// A chart with its asset and timeframe pickers and its legend. The first
/// chart also carries the status badges and the stream controls, and keeps
/// the page's historical element ids (`#asset`, `#timeframe`, `#chart`).
#[component]
pub fn ChartPanel(
    /// Its place in the layout, from 0.
    index: usize,
    /// The page's socket.
    link: Link,
    /// What it shows.
    slot: ChartSlot,
    /// The zone times are shown in.
    zone: ReadSignal<String>,
    /// How its stream runs (buffer size, processing interval).
    options: StreamOptions,
) -> impl IntoView {
    let options = StreamOptions {
        asset: slot.asset.get_untracked(),
        timeframe: slot.timeframe.get_untracked(),
        ..options
    };
    let stream = use_data_stream(link, &options);
    // The socket follows the user's choice of series.
    Effect::new(move |_| stream.show(slot.asset.get(), slot.timeframe.get()));
    let (hovered, set_hovered) = signal(None::<i64>);
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
                    asset=slot.asset.read_only()
                    set_asset=slot.asset.write_only()
                    known=known
                    index=index
                />
                <TimeframePicker
                    timeframe=slot.timeframe.read_only()
                    set_timeframe=slot.timeframe.write_only()
                    index=index
                />
                {first}
            </div>
            <Legend stream=stream hovered=hovered zone=zone />
            <CandleChart
                stream=stream
                zone=zone
                set_hovered=set_hovered
                index=index
                studies=slot.studies
            />
        </section>
    }
}
