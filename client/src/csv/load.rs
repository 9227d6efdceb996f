//! Reading a file and building its candles in slices, yielding to the event
//! loop after each so the page stays responsive; each slice reports
//! progress and may find the work no longer wanted.

use std::borrow::Cow;

use js_sys::{Promise, Uint8Array};
use shared::csv::{CandleMerge, MAX_CSV_BYTES, TickAggregation};
use shared::{Asset, Candle, CsvError, CsvFile, CsvReader, Timeframe};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::window::{MAX_CHART_POINTS, newest_within};

/// Bytes read and checked between two yields.
pub const CHUNK_BYTES: u32 = 512 * 1024;
/// Ticks placed in candles between two yields.
pub const TICKS_PER_STEP: usize = 40_000;
/// Candles merged into a wider timeframe between two yields.
pub const CANDLES_PER_STEP: usize = 100_000;

/// Why loading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file was refused: the message to show.
    Refused(String),
    /// Another file or timeframe was asked for meanwhile.
    Superseded,
}

impl From<CsvError> for LoadError {
    fn from(e: CsvError) -> Self {
        Self::Refused(e.to_string())
    }
}

/// Reads and checks `blob` whole, a [`CHUNK_BYTES`] slice at a time, calling
/// `progress` with the share read (0 to 1) and stopping when `wanted` says
/// so. Candles are labelled `asset`.
///
/// # Errors
///
/// [`LoadError::Refused`] for a file too large, unreadable, or with a bad
/// line; [`LoadError::Superseded`].
pub async fn read(
    blob: &Blob,
    asset: Asset,
    progress: impl Fn(f64),
    wanted: impl Fn() -> bool,
) -> Result<CsvFile, LoadError> {
    let size = blob.size();
    #[allow(clippy::cast_precision_loss)]
    if size > MAX_CSV_BYTES as f64 {
        return Err(CsvError::TooLarge.into());
    }
    let mut reader = CsvReader::new(asset);
    let mut start = 0.0;
    while start < size {
        let end = (start + f64::from(CHUNK_BYTES)).min(size);
        let bytes = slice(blob, start, end)
            .await
            .map_err(|_| LoadError::Refused("the file could not be read".to_owned()))?;
        reader.feed(&bytes)?;
        start = end;
        progress(start / size);
        yield_now().await;
        if !wanted() {
            return Err(LoadError::Superseded);
        }
    }
    Ok(reader.finish()?)
}

/// The bytes of `blob` in `start..end`.
async fn slice(blob: &Blob, start: f64, end: f64) -> Result<Vec<u8>, JsValue> {
    let part = blob.slice_with_f64_and_f64(start, end)?;
    let buffer = JsFuture::from(part.array_buffer()).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// What a file shows at a timeframe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charted {
    /// The candles' timeframe.
    pub timeframe: Timeframe,
    /// The newest candles, as many as the chart holds ([`newest_within`]).
    pub candles: Vec<Candle>,
    /// Candles of the file at this timeframe.
    pub total: usize,
    /// Repeated ticks, counted once.
    pub repeats: u64,
}

/// The candles `file` shows at `wanted`: ticks placed by the aggregator
/// [`TICKS_PER_STEP`] at a time, candles merged into `wanted` when it is
/// wider than theirs [`CANDLES_PER_STEP`] at a time (calling `progress` with
/// the share done); the newest [`MAX_CHART_POINTS`] points of them kept.
///
/// # Errors
///
/// [`LoadError::Refused`] when the ticks cannot be charted;
/// [`LoadError::Superseded`].
pub async fn candles(
    file: &CsvFile,
    wanted: Timeframe,
    progress: impl Fn(f64),
    still_wanted: impl Fn() -> bool,
) -> Result<Charted, LoadError> {
    let (timeframe, all, repeats) = match file {
        CsvFile::Candles(c) if wanted <= c.timeframe() => {
            (c.timeframe(), Cow::Borrowed(c.candles()), 0)
        }
        CsvFile::Candles(c) => {
            let mut merge = CandleMerge::new(c, wanted);
            while !merge.step(c, CANDLES_PER_STEP)? {
                #[allow(clippy::cast_precision_loss)]
                progress(merge.merged() as f64 / c.len() as f64);
                yield_now().await;
                if !still_wanted() {
                    return Err(LoadError::Superseded);
                }
            }
            (merge.timeframe(), Cow::Owned(merge.finish()), 0)
        }
        CsvFile::Ticks(ticks) => {
            let mut aggregation = TickAggregation::new(wanted);
            while !aggregation.step(ticks, TICKS_PER_STEP) {
                #[allow(clippy::cast_precision_loss)]
                progress(aggregation.fed() as f64 / ticks.len() as f64);
                yield_now().await;
                if !still_wanted() {
                    return Err(LoadError::Superseded);
                }
            }
            let repeats = aggregation.repeats();
            (wanted, Cow::Owned(aggregation.finish()?), repeats)
        }
    };
    let from = newest_within(&all, timeframe, MAX_CHART_POINTS);
    Ok(Charted {
        timeframe,
        candles: all[from..].to_vec(),
        total: all.len(),
        repeats,
    })
}

/// Lets the browser handle input and paint before going on.
pub async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _| {
        let timer = web_sys::window()
            .map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0));
        if !matches!(timer, Some(Ok(_))) {
            // No timer to wait for: go on at once rather than never.
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}
