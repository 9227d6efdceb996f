//! [`CandleFile`]: the candles of a CSV file, at the width their open times
//! show, and merged into any wider timeframe with [`resample`].

use std::borrow::Cow;

use super::CsvError;
use super::line::CandleRow;
use crate::{Asset, Candle, CandleState, Timeframe, resample};

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
    /// Candles of `rows` (checked, in increasing time) at the width `widths`
    /// gives, labelled `asset`.
    ///
    /// # Errors
    ///
    /// [`CsvError::Candle`] when a row is not a candle of that width: not
    /// expected, since the rows and the width were checked.
    pub fn new(asset: Asset, rows: &[CandleRow], widths: &Widths) -> Result<Self, CsvError> {
        let timeframe = widths.width();
        let candles = rows
            .iter()
            .map(|r| {
                Candle::new_checked(
                    asset,
                    timeframe,
                    r.time,
                    r.open,
                    r.high,
                    r.low,
                    r.close,
                    r.volume,
                    CandleState::Closed,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
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

    /// The candles for `wanted`: merged into it when it is wider than the
    /// file's width, the file's own otherwise; with the timeframe they have.
    ///
    /// # Errors
    ///
    /// [`CsvError::Candle`] when merging fails: not expected, since every
    /// timeframe divides every wider one.
    pub fn candles_for(&self, wanted: Timeframe) -> Result<(Timeframe, Cow<'_, [Candle]>), CsvError> {
        if wanted <= self.timeframe {
            return Ok((self.timeframe, Cow::Borrowed(&self.candles)));
        }
        Ok((wanted, Cow::Owned(resample(&self.candles, wanted)?)))
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
        assert_eq!(width_of(&[DAY, DAY + 86_400, DAY + 4 * 86_400]), Timeframe::D1);
        // Daily bars opening at 22:00 UTC are aligned to hours only.
        assert_eq!(width_of(&[DAY + 79_200, DAY + 165_600]), Timeframe::H1);
        assert_eq!(width_of(&[DAY + 60]), Timeframe::M1);
        assert_eq!(width_of(&[DAY]), Timeframe::D1);
    }
}
