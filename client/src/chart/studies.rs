//! [`Studies`]: the studies of one chart. Which are enabled is a plain
//! `RwSignal<Vec<Study>>` that the indicator menu (or the page's address)
//! sets; their values are computed and drawn by the chart, each frame, and
//! read by the legend.

use leptos::prelude::*;
use shared::indicators::{Study, Value};
use shared::{Asset, Candle, Timeframe};

use super::Chart;
use super::study_fetch::server_values;
use super::study_track::{Changed, ServerValues, Track as StudyTrack};
use crate::model::{CandleBuffer, Redraw};

/// Most studies on one chart; more in the list are not drawn.
pub const MAX_STUDIES: usize = 8;

/// A chart's studies; cheap to copy.
#[derive(Clone, Copy)]
pub struct Studies {
    /// The studies enabled, in the order drawn.
    enabled: RwSignal<Vec<Study>>,
    state: StoredValue<State>,
    /// Changes whenever the values do: the legend reads them again.
    version: RwSignal<u64>,
    /// Changes when the server's values arrive: the chart takes them.
    arrived: RwSignal<u64>,
}

/// What the chart computed and what the server answered.
#[derive(Default)]
struct State {
    /// One per study drawn, in order.
    tracks: Vec<StudyTrack>,
    /// The series the values are of.
    series: Option<(Asset, Timeframe)>,
    /// The oldest open time the server's values were asked from.
    asked_from: Option<i64>,
    /// The server's answers, not yet taken.
    arrivals: Vec<(Study, ServerValues)>,
    /// Counts requests: answers to an older one are dropped.
    request: u64,
    /// A closed candle the server had answered for changed: ask again.
    stale: bool,
}

/// `SMA 20`, `RSI 14`, `BB 20 2`, `MACD 12 26 9`: a study as the legend and
/// the menu name it.
#[must_use]
pub fn label(study: &Study) -> String {
    match study {
        Study::Sma { period } => format!("SMA {period}"),
        Study::Ema { period } => format!("EMA {period}"),
        Study::Rsi { period } => format!("RSI {period}"),
        Study::Bb { period, mult } => format!("BB {period} {mult}"),
        Study::Macd { fast, slow, signal } => format!("MACD {fast} {slow} {signal}"),
    }
}

/// The studies of `list` that are drawn: each once, at most [`MAX_STUDIES`].
#[must_use]
pub fn drawn(list: &[Study]) -> Vec<Study> {
    let mut out: Vec<Study> = Vec::with_capacity(list.len().min(MAX_STUDIES));
    for s in list {
        if out.len() < MAX_STUDIES && !out.contains(s) {
            out.push(*s);
        }
    }
    out
}

impl Studies {
    /// The studies of a chart, `enabled` saying which.
    #[must_use]
    pub fn new(enabled: RwSignal<Vec<Study>>) -> Self {
        Self {
            enabled,
            state: StoredValue::new(State::default()),
            version: RwSignal::new(0),
            arrived: RwSignal::new(0),
        }
    }

    /// The studies enabled: set it to show others, read it to save them.
    #[must_use]
    pub const fn enabled(&self) -> RwSignal<Vec<Study>> {
        self.enabled
    }

    /// Enables `study`.
    ///
    /// # Errors
    ///
    /// A sentence for the user when it is on already or the chart is full.
    pub fn add(&self, study: Study) -> Result<(), String> {
        let list = self.enabled.get_untracked();
        if list.contains(&study) {
            return Err(format!("{} is on the chart already", label(&study)));
        }
        if drawn(&list).len() >= MAX_STUDIES {
            return Err(format!("at most {MAX_STUDIES} indicators on a chart"));
        }
        self.enabled.update(|l| l.push(study));
        Ok(())
    }

    /// Removes `study`.
    pub fn remove(&self, study: Study) {
        self.enabled.update(|l| l.retain(|s| *s != study));
    }

    /// Each study drawn with its value at the candle opening at `time`;
    /// reactive.
    #[must_use]
    pub fn readout(&self, time: Option<i64>) -> Vec<(Study, Option<Value>)> {
        self.version.track();
        let wanted = drawn(&self.enabled.get());
        self.state
            .try_with_value(|st| {
                wanted
                    .iter()
                    .map(|s| {
                        let track = st.tracks.iter().find(|t| t.study() == *s);
                        (*s, time.and_then(|t| track?.at(t)))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Subscribes the caller (the chart's drawing effect) to what makes
    /// the chart draw studies anew: the list, and the server's answers.
    pub fn track(&self) {
        self.enabled.track();
        self.arrived.track();
    }

    /// Brings `chart`'s studies up to date with `buffer` (of `series`)
    /// after `redraw`, asking the server for its values when they are
    /// missing or stale.
    pub fn sync(
        &self,
        chart: &mut Chart,
        redraw: &Redraw,
        buffer: &CandleBuffer,
        series: (Asset, Timeframe),
    ) {
        let wanted = drawn(&self.enabled.get_untracked());
        let candles: Vec<Candle> = if wanted.is_empty() {
            Vec::new()
        } else {
            buffer.to_vec()
        };
        let ask = self.state.try_update_value(|st| {
            let mut all = redraw.is_full();
            if st
                .tracks
                .iter()
                .map(StudyTrack::study)
                .ne(wanted.iter().copied())
            {
                let mut old = std::mem::take(&mut st.tracks);
                st.tracks = wanted
                    .iter()
                    .map(|s| match old.iter().position(|t| t.study() == *s) {
                        Some(i) => old.swap_remove(i),
                        None => StudyTrack::new(*s),
                    })
                    .collect();
                chart.set_studies(&wanted);
                st.asked_from = None;
                all = true;
            }
            if st.series != Some(series) {
                st.series = Some(series);
                st.tracks = wanted.iter().map(|s| StudyTrack::new(*s)).collect();
                st.asked_from = None;
                st.arrivals.clear();
                all = true;
            }
            for (study, values) in st.arrivals.drain(..) {
                if let Some(t) = st.tracks.iter_mut().find(|t| t.study() == study) {
                    t.set_server(values, &candles);
                    all = true;
                }
            }
            for (i, t) in st.tracks.iter_mut().enumerate() {
                let changed = if all {
                    t.rebuild(&candles);
                    Changed::All
                } else {
                    let changed = t.update(&candles, redraw.changed());
                    let answered = t.server_newest().unwrap_or(i64::MIN);
                    st.stale |= redraw.changed().iter().any(|c| *c <= answered);
                    changed
                };
                chart.draw_study(i, t, &changed);
            }
            let oldest = candles.first().map(Candle::open_time)?;
            let newest = candles.last().map(Candle::open_time)?;
            let missing = st.asked_from.is_none_or(|from| oldest < from);
            if !(missing || st.stale) {
                return None;
            }
            st.asked_from = Some(oldest);
            st.stale = false;
            st.request += 1;
            Some((st.request, oldest, newest))
        });
        if !wanted.is_empty() {
            // (With none, the legend follows `enabled` alone.)
            self.version.try_update(|v| *v = v.wrapping_add(1));
        }
        if let Some(Some((request, from, before))) = ask {
            self.ask(&wanted, series, request, from, before);
        }
    }

    /// Asks the server for the values of `studies` over `from..before`.
    fn ask(
        &self,
        studies: &[Study],
        (asset, timeframe): (Asset, Timeframe),
        request: u64,
        from: i64,
        before: i64,
    ) {
        for study in studies.iter().copied() {
            let this = *self;
            wasm_bindgen_futures::spawn_local(async move {
                let Ok(values) = server_values(asset, timeframe, study, from, before).await else {
                    // The page's own values stand.
                    return;
                };
                let current = this.state.try_update_value(|st| {
                    let current = st.request == request;
                    if current {
                        st.arrivals.push((study, values));
                    }
                    current
                });
                if current == Some(true) {
                    this.arrived.try_update(|n| *n = n.wrapping_add(1));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn names_each_study_as_the_legend_shows_it() {
        let names: Vec<String> = ["sma:20", "ema:9", "rsi:14", "bb:20:2", "bb:20:2.5", "macd"]
            .iter()
            .map(|s| label(&s.parse().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                "SMA 20",
                "EMA 9",
                "RSI 14",
                "BB 20 2",
                "BB 20 2.5",
                "MACD 12 26 9"
            ]
        );
    }

    #[wasm_bindgen_test]
    fn draws_each_study_once_and_eight_at_most() {
        let list: Vec<Study> = (1..=12)
            .map(|p| Study::Sma { period: p % 10 + 1 })
            .collect();
        let d = drawn(&list);
        assert_eq!(d.len(), MAX_STUDIES);
        assert_eq!(d[0], Study::Sma { period: 2 });
        assert_eq!(drawn(&list[..3]).len(), 3);
    }
}
