//! What a [`Chart`] has drawn, read back from the library: its panes,
//! points, and the newest point of each series (for the page's `data-*`
//! attributes and the tests).

use super::Chart;
use crate::chart::study_lines;

impl Chart {
    /// The newest number each study's series holds (per study, per series).
    #[must_use]
    pub fn newest_study_values(&self) -> Vec<Vec<Option<f64>>> {
        self.studies.newest_drawn("value")
    }

    /// The time (as shown, shifted into the zone) of each study series'
    /// newest point, per study: that of the newest candle when in step.
    #[must_use]
    pub fn newest_study_times(&self) -> Vec<Vec<Option<f64>>> {
        self.studies.newest_drawn("time")
    }

    /// The time (as shown) of the newest point of the candle series.
    #[must_use]
    pub fn newest_candle_time(&self) -> Option<f64> {
        study_lines::newest_of(&self.candles, "time")
    }

    /// How many panes the chart has: the price pane and one per RSI or MACD.
    #[must_use]
    pub fn pane_count(&self) -> u32 {
        self.api.panes().length()
    }

    /// How many points (bars and whitespace) are drawn.
    #[must_use]
    pub fn points_drawn(&self) -> usize {
        self.drawn.len()
    }
}
