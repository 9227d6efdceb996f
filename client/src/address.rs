//! The page's view as signals ([`PageState`]), opened from the address and
//! written back to it with `history.replaceState` on every change, so a view
//! can be bookmarked and sent (no reload, no history entry per change).

use leptos::prelude::*;
use shared::indicators::Study;
use shared::{Asset, Timeframe};

use crate::chart::TimeFormat;
use crate::model::{ChartView, PageView};
use crate::stream::MAX_SERIES;

/// One chart's choices.
#[derive(Clone, Copy)]
pub struct ChartSlot {
    /// The asset shown.
    pub asset: RwSignal<Asset>,
    /// The timeframe shown.
    pub timeframe: RwSignal<Timeframe>,
    /// The studies drawn over it.
    pub studies: RwSignal<Vec<Study>>,
}

impl ChartSlot {
    fn new(view: ChartView) -> Self {
        Self {
            asset: RwSignal::new(view.asset),
            timeframe: RwSignal::new(view.timeframe),
            studies: RwSignal::new(view.studies),
        }
    }

    fn view(&self) -> ChartView {
        ChartView {
            asset: self.asset.get(),
            timeframe: self.timeframe.get(),
            studies: self.studies.get(),
        }
    }
}

/// Everything the address holds, as signals.
#[derive(Clone, Copy)]
pub struct PageState {
    /// The zone times are shown in.
    pub zone: RwSignal<String>,
    /// How many charts are shown: 1, 2 or 4.
    pub layout: RwSignal<usize>,
    /// Every chart's choices; those past `layout` are kept for when it grows.
    pub slots: [ChartSlot; MAX_SERIES],
}

impl PageState {
    /// The state of `view`.
    #[must_use]
    pub fn new(view: PageView) -> Self {
        let layout = view.charts.len();
        let mut charts = view.charts.into_iter();
        Self {
            zone: RwSignal::new(view.zone),
            layout: RwSignal::new(layout),
            slots: std::array::from_fn(|_| ChartSlot::new(charts.next().unwrap_or_default())),
        }
    }

    /// The view shown now (tracked).
    #[must_use]
    pub fn view(&self) -> PageView {
        PageView {
            zone: self.zone.get(),
            charts: self.slots[..self.layout.get().min(MAX_SERIES)]
                .iter()
                .map(ChartSlot::view)
                .collect(),
        }
    }

    /// Keeps the address in step with the view, from now on.
    pub fn mirror_in_address(self) {
        Effect::new(move |_| replace_address(&self.view().to_query()));
    }
}

/// The view the page's address asks for; `fallback` (one chart) when the
/// address has no query.
#[must_use]
pub fn page_view_of_address(fallback: ChartView) -> PageView {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    if search.len() <= 1 {
        return PageView {
            charts: vec![fallback],
            ..PageView::default()
        };
    }
    PageView::from_query(&search, |zone| TimeFormat::new(zone).is_ok())
}

/// Replaces the address's query with `query`, without a reload or a new
/// history entry; nothing when it is already that.
pub fn replace_address(query: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if window.location().search().ok().as_deref() == Some(query) {
        return;
    }
    if let Ok(history) = window.history() {
        let location = window.location();
        let path = location.pathname().unwrap_or_default();
        let hash = location.hash().unwrap_or_default();
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}{query}{hash}")),
        );
    }
}
