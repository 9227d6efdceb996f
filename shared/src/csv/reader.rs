//! [`CsvReader`]: bytes in, a chunk at a time (a chunk may end inside a
//! line), a checked [`CsvFile`] out.

use super::candles::{CandleFile, Widths};
use super::line::{self, Fields, Layout, TickRow};
use super::ticks::TickFile;
use super::{CsvError, CsvFile, MAX_CSV_BYTES, MAX_CSV_ROWS, MAX_LINE_BYTES};
use crate::time::iso8601;
use crate::{Asset, Candle, CandleState, Timeframe};

/// What the lines read so far hold.
#[derive(Debug, Clone)]
enum Rows {
    /// Nothing yet: the first line decides.
    Unknown,
    /// Ticks, and their asset once a tick was read.
    Ticks(Option<Asset>, Vec<TickRow>),
    /// Candles (labelled one-minute until their width is known), with what
    /// their open times say about the width.
    Candles(bool, Vec<Candle>, Widths),
}

/// Reads a CSV file of ticks or candles incrementally.
#[derive(Debug, Clone)]
pub struct CsvReader {
    /// The label of candles (ticks name their own asset).
    asset: Asset,
    /// The start of a line the last chunk ended inside.
    pending: Vec<u8>,
    /// Bytes fed so far.
    bytes: u64,
    /// Lines completed so far.
    line: usize,
    rows: Rows,
}

impl CsvReader {
    /// A reader labelling candles `asset`.
    #[must_use]
    pub const fn new(asset: Asset) -> Self {
        Self {
            asset,
            pending: Vec::new(),
            bytes: 0,
            line: 0,
            rows: Rows::Unknown,
        }
    }

    /// Bytes fed so far.
    #[must_use]
    pub const fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Reads the complete lines of `chunk` (with the end of the line the
    /// previous chunk ended inside) and keeps the rest for the next one.
    ///
    /// # Errors
    ///
    /// [`CsvError`] for the first bad line, a line longer than
    /// [`MAX_LINE_BYTES`], or a limit passed; the reader is then of no use.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), CsvError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > MAX_CSV_BYTES {
            return Err(CsvError::TooLarge);
        }
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(end);
            rest = &tail[1..];
            if self.pending.is_empty() {
                self.read_line(head)?;
            } else {
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(head);
                self.read_line(&line)?;
                line.clear();
                self.pending = line;
            }
        }
        if self.pending.len() + rest.len() > MAX_LINE_BYTES {
            return Err(self.too_long(self.line + 1));
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// Reads the last line (one without a line break) and checks the whole.
    ///
    /// # Errors
    ///
    /// [`CsvError`] for a bad last line, a file without data lines, or
    /// candles that cannot be built.
    pub fn finish(mut self) -> Result<CsvFile, CsvError> {
        let last = std::mem::take(&mut self.pending);
        if !last.is_empty() {
            self.read_line(&last)?;
        }
        match self.rows {
            Rows::Ticks(Some(asset), ticks) => Ok(CsvFile::Ticks(TickFile::new(asset, ticks))),
            Rows::Candles(_, candles, widths) if !candles.is_empty() => {
                Ok(CsvFile::Candles(CandleFile::new(candles, &widths)?))
            }
            _ => Err(CsvError::Empty),
        }
    }

    fn too_long(&self, line: usize) -> CsvError {
        CsvError::Line {
            line,
            reason: format!("longer than {MAX_LINE_BYTES} bytes"),
        }
    }

    fn read_line(&mut self, bytes: &[u8]) -> Result<(), CsvError> {
        self.line += 1;
        let line_no = self.line;
        if bytes.len() > MAX_LINE_BYTES {
            return Err(self.too_long(line_no));
        }
        let bytes = if line_no == 1 {
            bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
        } else {
            bytes
        };
        let at_line = |reason: String| CsvError::Line {
            line: line_no,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| at_line("not UTF-8 text".to_owned()))?;
        if text.trim().is_empty() {
            return Ok(());
        }
        let fields = Fields::split(text);
        if matches!(self.rows, Rows::Unknown) {
            let layout = Layout::of(fields.count()).map_err(at_line)?;
            self.rows = match layout {
                Layout::Ticks => Rows::Ticks(None, Vec::new()),
                Layout::Candles { volume } => Rows::Candles(volume, Vec::new(), Widths::new()),
            };
            if layout.is_header(&fields) {
                return Ok(());
            }
        }
        match &mut self.rows {
            Rows::Ticks(asset, ticks) => {
                Layout::Ticks.check(&fields).map_err(at_line)?;
                if ticks.len() >= MAX_CSV_ROWS {
                    return Err(CsvError::TooManyRows { line: line_no });
                }
                let (a, tick) = line::tick(&fields, *asset).map_err(at_line)?;
                *asset = Some(a);
                ticks.push(tick);
            }
            Rows::Candles(volume, candles, widths) => {
                Layout::Candles { volume: *volume }
                    .check(&fields)
                    .map_err(at_line)?;
                if candles.len() >= MAX_CSV_ROWS {
                    return Err(CsvError::TooManyRows { line: line_no });
                }
                let row = line::candle(&fields).map_err(at_line)?;
                if let Some(previous) = candles.last()
                    && previous.open_time() >= row.time
                {
                    return Err(at_line(format!(
                        "open time {} is not after the line before's ({}): candles go in increasing time",
                        iso8601(row.time),
                        iso8601(previous.open_time())
                    )));
                }
                let candle = Candle::new_checked(
                    self.asset,
                    Timeframe::M1,
                    row.time,
                    row.open,
                    row.high,
                    row.low,
                    row.close,
                    row.volume,
                    CandleState::Closed,
                )
                .map_err(|e| at_line(e.to_string()))?;
                widths.add(row.time);
                candles.push(candle);
            }
            Rows::Unknown => {}
        }
        Ok(())
    }
}
