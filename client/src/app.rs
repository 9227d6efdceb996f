//! [`App`]: the trading page: the layout of one, two or four charts (each
//! with its pickers, legend and live candlestick chart, all over one
//! socket), the zone, and a CSV file's chart below them when one is open.
//! The view is opened from the address and kept in it.

use leptos::prelude::*;

use crate::address::{PageState, page_view_of_address};
use crate::components::{ChartPanel, CsvChart, LayoutPicker, OpenCsv, TimeZonePicker};
use crate::csv::CsvView;
use crate::model::ChartView;
use crate::stream::{StreamOptions, use_link};

/// The whole page.
#[component]
pub fn App(
    /// How the data streams run; the defaults connect to the page's `/ws`.
    /// Its asset and timeframe are the first chart's when the address has
    /// no query.
    #[prop(optional)]
    options: Option<StreamOptions>,
) -> impl IntoView {
    let options = options.unwrap_or_default();
    let state = PageState::new(page_view_of_address(ChartView {
        asset: options.asset,
        timeframe: options.timeframe,
        studies: Vec::new(),
    }));
    state.mirror_in_address();
    let link = use_link(options.url.clone(), options.connect);
    // A CSV file is charted at the first chart's timeframe.
    let csv = CsvView::new();
    let first = state.slots[0];
    Effect::new(move |_| csv.follow(first.timeframe.get()));
    let zone = state.zone;
    view! {
        <main class="page">
            <header class="masthead">
                <h1>"tickstream"</h1>
            </header>
            <section class="controls" aria-label="Page settings">
                <LayoutPicker layout=state.layout.read_only() set_layout=state.layout.write_only() />
                <TimeZonePicker zone=zone.read_only() set_zone=zone.write_only() />
                <OpenCsv csv=csv />
            </section>
            <div class="charts" data-layout=move || state.layout.get().to_string()>
                <For
                    each=move || 0..state.layout.get()
                    key=|i| *i
                    children=move |i| {
                        view! {
                            <ChartPanel
                                index=i
                                link=link
                                choices=state.slots[i]
                                zone=zone.read_only()
                                options=options.clone()
                            />
                        }
                    }
                />
            </div>
            <CsvChart csv=csv zone=zone.read_only() />
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
