//! Reading a file and building its candles in slices, yielding to the event
//! loop after each so the page stays responsive; each slice reports
//! progress and may find the work no longer wanted.

use js_sys::{Promise, Uint8Array};
use shared::csv::{MAX_CSV_BYTES, TickAggregation};
use shared::{Asset, Candle, CsvError, CsvFile, CsvReader, Timeframe};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

/// Bytes read and checked between two yields.
pub const CHUNK_BYTES: u32 = 512 * 1024;
/// Ticks placed in candles between two yields.
pub const TICKS_PER_STEP: usize = 40_000;

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

/// The candles `file` shows at `wanted`, with their timeframe: ticks placed
/// by the aggregator [`TICKS_PER_STEP`] at a time (calling `progress` with
/// the share placed), candles merged into `wanted` when it is wider than
/// theirs; and the repeated ticks counted once.
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
) -> Result<(Timeframe, Vec<Candle>, u64), LoadError> {
    match file {
        CsvFile::Candles(c) => {
            let (timeframe, candles) = c.candles_for(wanted)?;
            Ok((timeframe, candles.into_owned(), 0))
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
            Ok((wanted, aggregation.finish()?, repeats))
        }
    }
}

/// Lets the browser handle input and paint before going on.
pub async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _| {
        let timer = web_sys::window().map(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0)
        });
        if !matches!(timer, Some(Ok(_))) {
            // No timer to wait for: go on at once rather than never.
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}
