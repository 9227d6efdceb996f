//! [`Macd`]: `ta.macd(src, fast, slow, signal)`.

use serde::Serialize;

use super::ema::Ema;

/// One step of the MACD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MacdValue {
    /// `ema(src, fast) - ema(src, slow)`.
    pub macd: f64,
    /// `ema(macd, signal)`.
    pub signal: f64,
    /// `macd - signal`.
    pub histogram: f64,
}

/// The state a MACD steps on from: its three averages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MacdAverages {
    /// `ema(src, fast)`.
    pub fast: f64,
    /// `ema(src, slow)`.
    pub slow: f64,
    /// `ema(macd, signal)`.
    pub signal: f64,
}

/// The MACD as Pine v5 publishes `ta.macd`, over [`Ema`]s that are seeded
/// with their first value: every input gives an output, the first being
/// `macd = 0, signal = 0, histogram = 0` (both averages start at the first
/// value, and the signal's average starts at the first macd).
#[derive(Debug, Clone)]
pub struct Macd {
    /// The average over `fast` values.
    fast: Ema,
    /// The average over `slow` values.
    slow: Ema,
    /// The average of the macd line over `signal` values.
    signal: Ema,
}

impl Macd {
    /// A MACD of `fast`, `slow` and `signal` periods (each at least 1).
    #[must_use]
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        Self {
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
        }
    }

    /// A MACD that steps on exactly as the one whose averages were
    /// `averages` (see [`Macd::averages`]).
    #[must_use]
    pub fn resume(fast: usize, slow: usize, signal: usize, averages: MacdAverages) -> Self {
        Self {
            fast: Ema::resume(fast, averages.fast),
            slow: Ema::resume(slow, averages.slow),
            signal: Ema::resume(signal, averages.signal),
        }
    }

    /// Its averages after the newest value, once a value has come.
    #[must_use]
    pub fn averages(&self) -> Option<MacdAverages> {
        Some(MacdAverages {
            fast: self.fast.value()?,
            slow: self.slow.value()?,
            signal: self.signal.value()?,
        })
    }

    /// Takes the next value.
    pub fn push(&mut self, value: f64) -> MacdValue {
        let macd = self.fast.push(value) - self.slow.push(value);
        let signal = self.signal.push(macd);
        MacdValue {
            macd,
            signal,
            histogram: macd - signal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_by_hand() {
        // fast 1 (alpha 1), slow 3 (alpha 0.5), signal 3 (alpha 0.5).
        let mut m = Macd::new(1, 3, 3);
        let zero = MacdValue {
            macd: 0.0,
            signal: 0.0,
            histogram: 0.0,
        };
        assert_eq!(m.push(10.0), zero);
        // fast 14, slow 12: macd 2; signal 0.5*2 + 0.5*0 = 1; histogram 1.
        assert_eq!(
            m.push(14.0),
            MacdValue {
                macd: 2.0,
                signal: 1.0,
                histogram: 1.0
            }
        );
        // fast 12, slow 12: macd 0; signal 0.5; histogram -0.5.
        assert_eq!(
            m.push(12.0),
            MacdValue {
                macd: 0.0,
                signal: 0.5,
                histogram: -0.5
            }
        );
        let averages = m.averages().unwrap();
        assert_eq!(
            averages,
            MacdAverages {
                fast: 12.0,
                slow: 12.0,
                signal: 0.5
            }
        );
        // Resumed from its averages, it steps on as the original.
        let mut resumed = Macd::resume(1, 3, 3, averages);
        assert_eq!(resumed.push(16.0), m.push(16.0));
    }
}
