//! [`App`]: the trading page: pickers, stream controls, status badges, the
//! OHLC legend and the live candlestick chart; and a CSV file's chart below
//! it when one is open.

use leptos::prelude::*;

use crate::chart::{Studies, UTC};
use crate::components::{
    AssetPicker, CandleChart, CsvChart, IndicatorMenu, Legend, OpenCsv, StatusBadges,
    StreamControls, TimeZonePicker, TimeframePicker,
};
use crate::csv::CsvView;
use crate::stream::{StreamOptions, use_data_stream};

/// The asset shown when the page opens.
pub const DEFAULT_ASSET: &str = "EURUSD_otc";

/// The whole page.
#[component]
pub fn App(
    /// How the data stream runs; the defaults connect to the page's `/ws`.
    #[prop(optional)]
    options: Option<StreamOptions>,
) -> impl IntoView {
    let options = options.unwrap_or_default();
    let (asset, set_asset) = signal(options.asset);
    let (timeframe, set_timeframe) = signal(options.timeframe);
    let (zone, set_zone) = signal(UTC.to_owned());
    let (hovered, set_hovered) = signal(None::<i64>);
    let studies = Studies::new(RwSignal::new(Vec::new()));
    let stream = use_data_stream(options);
    // The socket follows the user's choice of series.
    Effect::new(move |_| stream.show(asset.get(), timeframe.get()));
    // A CSV file is charted at the timeframe picked, too.
    let csv = CsvView::new();
    Effect::new(move |_| csv.follow(timeframe.get()));
    let known = Signal::derive(move || stream.view().with(|v| v.known_assets.clone()));
    view! {
        <main class="page">
            <header class="masthead">
                <h1>"tickstream"</h1>
                <StatusBadges stream=stream />
            </header>
            <section class="controls" aria-label="Chart settings">
                <AssetPicker asset=asset set_asset=set_asset known=known />
                <TimeframePicker timeframe=timeframe set_timeframe=set_timeframe />
                <TimeZonePicker zone=zone set_zone=set_zone />
                <StreamControls stream=stream />
                <OpenCsv csv=csv />
                <IndicatorMenu studies=studies />
            </section>
            <Legend stream=stream hovered=hovered zone=zone studies=studies />
            <CandleChart stream=stream zone=zone set_hovered=set_hovered studies=studies />
            <CsvChart csv=csv zone=zone />
            <footer class="credits">
                "Charts by "
                <a href="https://www.tradingview.com/" rel="noopener">
                    "TradingView Lightweight Charts"
                </a>
                ", Copyright (c) 2023 TradingView, Inc., https://www.tradingview.com/"
            </footer>
        </main>
    }
}
