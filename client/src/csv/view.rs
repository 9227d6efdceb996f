//! [`CsvView`]: the open CSV file, what is being done with it, and the
//! candles shown. Cheap to copy. A new file or timeframe supersedes the work
//! under way; a refused file changes nothing shown.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::csv::asset_from_file_name;
use shared::{Asset, Candle, CsvFile, Timeframe};
use web_sys::Blob;

use super::load::{self, LoadError};

/// What is being done with a file.
#[derive(Debug, Clone, PartialEq)]
pub enum CsvStatus {
    /// Nothing.
    Idle,
    /// Reading and checking `name`: `share` (0 to 1) read.
    Reading {
        /// The file's name.
        name: String,
        /// How much is read.
        share: f64,
    },
    /// Building the candles of `name`: `share` of the ticks placed.
    Building {
        /// The file's name.
        name: String,
        /// How much is placed.
        share: f64,
    },
    /// `name` was refused, for `reason` (a bad line's number and why).
    Refused {
        /// The file's name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// The candles charted from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvShown {
    /// The file's name.
    pub name: String,
    /// The asset: the ticks', or the file name's for candles.
    pub asset: Asset,
    /// Their timeframe.
    pub timeframe: Timeframe,
    /// The newest candles, oldest first: at most what the chart holds
    /// ([`MAX_CHART_POINTS`](super::window::MAX_CHART_POINTS)).
    pub candles: Arc<Vec<Candle>>,
    /// Candles of the file at this timeframe, drawn or not.
    pub total: usize,
    /// Data lines of the file.
    pub rows: usize,
    /// Whether the file held ticks (else candles).
    pub ticks: bool,
    /// Repeated ticks, counted once.
    pub repeats: u64,
}

/// The page's CSV view.
#[derive(Clone, Copy)]
pub struct CsvView {
    /// The file read last, kept to chart it at another timeframe.
    file: StoredValue<Option<(String, Arc<CsvFile>)>>,
    /// The page's timeframe, the one a file is charted at.
    timeframe: StoredValue<Timeframe>,
    /// Bumped by every new piece of work; older work stops at its next yield.
    generation: StoredValue<u64>,
    status: RwSignal<CsvStatus>,
    shown: RwSignal<Option<CsvShown>>,
}

impl Default for CsvView {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvView {
    /// No file; charts at one minute until told otherwise ([`CsvView::follow`]).
    #[must_use]
    pub fn new() -> Self {
        Self {
            file: StoredValue::new(None),
            timeframe: StoredValue::new(Timeframe::M1),
            generation: StoredValue::new(0),
            status: RwSignal::new(CsvStatus::Idle),
            shown: RwSignal::new(None),
        }
    }

    /// What is being done.
    #[must_use]
    pub fn status(&self) -> ReadSignal<CsvStatus> {
        self.status.read_only()
    }

    /// The candles charted, if any.
    #[must_use]
    pub fn shown(&self) -> ReadSignal<Option<CsvShown>> {
        self.shown.read_only()
    }

    /// Reads `blob` (named `name`) and charts it at the page's timeframe;
    /// what was shown stays until it is read whole, and stays if it is
    /// refused.
    pub fn open(self, blob: Blob, name: String) {
        let generation = self.next_generation();
        let wanted = move || self.is_current(generation);
        spawn_local(async move {
            let reading = |share| {
                if wanted() {
                    self.status.try_set(CsvStatus::Reading {
                        name: name.clone(),
                        share,
                    });
                }
            };
            reading(0.0);
            let asset = asset_from_file_name(&name);
            let file = match load::read(&blob, asset, reading, wanted).await {
                Ok(file) => Arc::new(file),
                Err(e) => return self.fail(generation, &name, e),
            };
            let timeframe = self.timeframe.try_get_value().unwrap_or(Timeframe::M1);
            self.build_at(generation, name, file, timeframe).await;
        });
    }

    /// Charts files at `timeframe` from now on, and the open one; work
    /// under way (reading a file, building candles) goes on and charts at
    /// `timeframe` when it is done.
    pub fn follow(self, timeframe: Timeframe) {
        self.timeframe.try_set_value(timeframe);
        let busy = self.status.with_untracked(|s| {
            matches!(s, CsvStatus::Reading { .. } | CsvStatus::Building { .. })
        });
        let Some((name, file)) = self.file.try_get_value().flatten() else {
            return;
        };
        if busy
            || self
                .shown
                .with_untracked(|s| s.as_ref().is_some_and(|s| s.timeframe == timeframe))
        {
            return;
        }
        let generation = self.next_generation();
        spawn_local(async move {
            self.build_at(generation, name, file, timeframe).await;
        });
    }

    /// Closes the file: nothing charted, work under way stopped.
    pub fn close(self) {
        self.next_generation();
        self.file.try_set_value(None);
        self.shown.try_set(None);
        self.status.try_set(CsvStatus::Idle);
    }

    /// Charts `file` at `timeframe`, then again at the page's timeframe
    /// for as long as it changed meanwhile.
    async fn build_at(
        self,
        generation: u64,
        name: String,
        file: Arc<CsvFile>,
        mut timeframe: Timeframe,
    ) {
        let wanted = move || self.is_current(generation);
        loop {
            let building = |share| {
                if wanted() {
                    self.status.try_set(CsvStatus::Building {
                        name: name.clone(),
                        share,
                    });
                }
            };
            let charted = match load::candles(&file, timeframe, building, wanted).await {
                Ok(charted) if wanted() => charted,
                Ok(_) => return,
                Err(e) => return self.fail(generation, &name, e),
            };
            self.shown.try_set(Some(CsvShown {
                name: name.clone(),
                asset: file.asset(),
                timeframe: charted.timeframe,
                candles: Arc::new(charted.candles),
                total: charted.total,
                rows: file.len(),
                ticks: matches!(*file, CsvFile::Ticks(_)),
                repeats: charted.repeats,
            }));
            self.file.try_set_value(Some((name.clone(), file.clone())));
            self.status.try_set(CsvStatus::Idle);
            match self.timeframe.try_get_value() {
                Some(now) if now != timeframe => timeframe = now,
                _ => return,
            }
        }
    }

    fn fail(self, generation: u64, name: &str, error: LoadError) {
        if let LoadError::Refused(reason) = error
            && self.is_current(generation)
        {
            self.status.try_set(CsvStatus::Refused {
                name: name.to_owned(),
                reason,
            });
        }
    }

    fn next_generation(self) -> u64 {
        self.generation
            .try_update_value(|g| {
                *g += 1;
                *g
            })
            .unwrap_or_default()
    }

    fn is_current(self, generation: u64) -> bool {
        self.generation.try_get_value() == Some(generation)
    }
}
