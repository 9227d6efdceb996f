//! [`App`]: the page: the product's name, the asset and timeframe pickers.

use leptos::prelude::*;
use shared::{Asset, Timeframe};

use crate::components::{AssetPicker, TimeframePicker};

/// The asset shown when the page opens.
pub const DEFAULT_ASSET: &str = "EURUSD_otc";

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let (asset, set_asset) = signal(Asset::new(DEFAULT_ASSET));
    let (timeframe, set_timeframe) = signal(Timeframe::M1);
    view! {
        <main class="page">
            <header class="masthead">
                <h1>"tickstream"</h1>
                <p class="tagline">"Real-time market data: price ticks in, OHLC candles out, every tick kept."</p>
            </header>
            <section class="controls" aria-label="Chart settings">
                <AssetPicker set_asset=set_asset />
                <TimeframePicker timeframe=timeframe set_timeframe=set_timeframe />
            </section>
            <p class="selection">
                {move || format!("{} · {}", asset.get(), timeframe.get())}
            </p>
        </main>
    }
}
