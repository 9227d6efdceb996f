//! [`CandleFile`]: the candles of a CSV file, at the width their open times
//! show; and [`CandleMerge`], which merges them into a wider timeframe with
//! [`resample`], a budget at a time.

use super::CsvError;
use crate::{Asset, Candle, CandleError, Timeframe, resample};

/// What the open times read so far say about the candles' width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widths {
    /// Per timeframe (in [`Timeframe::ALL`] order): every open time so far
    /// starts one of its buckets.
    aligned: [bool; 7],
    /// The smallest step between two consecutive open times, seconds.
    step: Option<i64>,
    /// The latest open time.
    last: Option<i64>,
}

impl Widths {
    /// Nothing seen.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            aligned: [true; 7],
            step: None,
            last: None,
        }
    }

    /// Takes in the next open time (later than the one before).
    pub fn add(&mut self, time: i64) {
        for (aligned, tf) in self.aligned.iter_mut().zip(Timeframe::ALL) {
            *aligned &= tf.bucket_start(time) == time;
        }
        if let Some(last) = self.last {
            let step = time - last;
            self.step = Some(self.step.map_or(step, |s| s.min(step)));
        }
        self.last = Some(time);
    }

    /// The widest timeframe every open time starts a bucket of and no wider
    /// than the smallest step (one minute at least).
    #[must_use]
    pub fn width(&self) -> Timeframe {
        Timeframe::ALL
            .into_iter()
            .zip(self.aligned)
            .filter(|(tf, aligned)| *aligned && self.step.is_none_or(|s| tf.seconds() <= s))
            .map(|(tf, _)| tf)
            .next_back()
            .unwrap_or(Timeframe::M1)
    }
}

impl Default for Widths {
    fn default() -> Self {
        Self::new()
    }
}

/// Candles of one asset and width, in increasing open time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandleFile {
    asset: Asset,
    timeframe: Timeframe,
    candles: Vec<Candle>,
}

impl CandleFile {
    /// The one-minute `candles` (of one asset, in increasing time)
    /// labelled with the width `widths` gives.
    ///
    /// # Errors
    ///
    /// [`CsvError::Candle`] when a candle does not start a bucket of that
    /// width: not expected, since `widths` saw every open time.
    pub fn new(mut candles: Vec<Candle>, widths: &Widths) -> Result<Self, CsvError> {
        let timeframe = widths.width();
        let asset = candles
            .first()
            .map_or_else(|| Asset::new(super::UNNAMED_ASSET), Candle::asset);
        for c in &mut candles {
            if timeframe.bucket_start(c.open_time) != c.open_time {
                return Err(CandleError::Misaligned {
                    timestamp: c.open_time,
                    timeframe,
                }
                .into());
            }
            c.timeframe = timeframe;
        }
        Ok(Self {
            asset,
            timeframe,
            candles,
        })
    }

    /// The asset they are labelled with.
    #[must_use]
    pub const fn asset(&self) -> Asset {
        self.asset
    }

    /// Their width.
    #[must_use]
    pub const fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// How many there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.candles.len()
    }

    /// Whether there are none (never true for a file read).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }

    /// The candles, oldest first.
    #[must_use]
    pub fn candles(&self) -> &[Candle] {
        &self.candles
    }

    /// The candles for `wanted` in one go: see [`CandleMerge`].
    ///
    /// # Errors
    ///
    /// As [`CandleMerge::step`].
    pub fn merged(&self, wanted: Timeframe) -> Result<(Timeframe, Vec<Candle>), CsvError> {
        let mut merge = CandleMerge::new(self, wanted);
        merge.step(self, usize::MAX)?;
        Ok((merge.timeframe(), merge.finish()))
    }
}

/// A [`CandleFile`]'s candles being merged into a wider timeframe with
/// [`resample`], a budget of candles at a time; at the file's own width
/// when the timeframe wanted is not wider.
#[derive(Debug, Clone)]
pub struct CandleMerge {
    timeframe: Timeframe,
    /// Candles of the file merged so far.
    merged: usize,
    out: Vec<Candle>,
}

impl CandleMerge {
    /// Nothing merged yet, into `wanted` or the file's width, the wider.
    #[must_use]
    pub fn new(file: &CandleFile, wanted: Timeframe) -> Self {
        Self {
            timeframe: wanted.max(file.timeframe),
            merged: 0,
            out: Vec::new(),
        }
    }

    /// The timeframe of the candles made.
    #[must_use]
    pub const fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// Candles of the file merged so far.
    #[must_use]
    pub const fn merged(&self) -> usize {
        self.merged
    }

    /// Merges about `budget` more candles of `file` (whole buckets of the
    /// wider timeframe); `true` once all are.
    ///
    /// # Errors
    ///
    /// [`CsvError::Candle`] when merging fails: not expected, since every
    /// timeframe divides every wider one.
    pub fn step(&mut self, file: &CandleFile, budget: usize) -> Result<bool, CsvError> {
        let all = &file.candles;
        let start = self.merged.min(all.len());
        let mut end = all.len().min(start.saturating_add(budget.max(1)));
        let bucket = |c: &Candle| self.timeframe.bucket_start(c.open_time);
        while end < all.len() && bucket(&all[end]) == bucket(&all[end - 1]) {
            end += 1;
        }
        let part = &all[start..end];
        if self.timeframe == file.timeframe {
            self.out.extend_from_slice(part);
        } else {
            self.out.extend(resample(part, self.timeframe)?);
        }
        self.merged = end;
        Ok(end >= all.len())
    }

    /// The candles made, oldest first.
    #[must_use]
    pub fn finish(self) -> Vec<Candle> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width_of(times: &[i64]) -> Timeframe {
        let mut w = Widths::new();
        for t in times {
            w.add(*t);
        }
        w.width()
    }

    const DAY: i64 = 1_705_276_800; // 2024-01-15T00:00:00Z

    #[test]
    fn the_width_is_the_widest_aligned_no_wider_than_the_smallest_step() {
        assert_eq!(width_of(&[DAY, DAY + 60, DAY + 300]), Timeframe::M1);
        assert_eq!(width_of(&[DAY, DAY + 300, DAY + 1200]), Timeframe::M5);
        assert_eq!(width_of(&[DAY, DAY + 3600, DAY + 7 * 3600]), Timeframe::H1);
        // Daily bars with a weekend gap.
        assert_eq!(
            width_of(&[DAY, DAY + 86_400, DAY + 4 * 86_400]),
            Timeframe::D1
        );
        // Daily bars opening at 22:00 UTC are aligned to hours only.
        assert_eq!(width_of(&[DAY + 79_200, DAY + 165_600]), Timeframe::H1);
        assert_eq!(width_of(&[DAY + 60]), Timeframe::M1);
        assert_eq!(width_of(&[DAY]), Timeframe::D1);
    }
}
