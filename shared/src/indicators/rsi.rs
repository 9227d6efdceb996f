//! [`Rsi`]: `ta.rsi(src, n)`, Wilder's relative strength index, and
//! [`Averages`], the state it steps on from.

use serde::Serialize;

/// Wilder's averages of gains (`up`) and losses (`down`) after a value:
/// with the value itself, all an RSI needs to step on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Averages {
    /// The average gain.
    pub up: f64,
    /// The average loss.
    pub down: f64,
}

/// The relative strength index as Pine v5 publishes it: with
/// `change = src - src[1]`, `up` and `down` are Wilder's moving averages
/// (RMA, `alpha = 1 / period`) of `max(change, 0)` and `max(-change, 0)`,
/// each seeded with the simple mean of the first `period` changes; then
/// `down == 0 ? 100 : up == 0 ? 0 : 100 - 100 / (1 + up / down)`.
///
/// The first value has no change, so the first output comes with value
/// `period + 1`.
#[derive(Debug, Clone)]
pub struct Rsi {
    /// How many changes the averages span.
    period: usize,
    /// The previous value, `None` before the first.
    prev: Option<f64>,
    /// Changes seen so far, up to `period` (the seed).
    seen: usize,
    /// The sums of gains and losses while seeding, then their RMAs.
    up: f64,
    down: f64,
}

impl Rsi {
    /// An index over `period` changes (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        Self {
            period: period.max(1),
            prev: None,
            seen: 0,
            up: 0.0,
            down: 0.0,
        }
    }

    /// An index that steps on exactly as the one whose newest value was
    /// `last` and whose averages were `averages` (see [`Rsi::averages`]).
    #[must_use]
    pub fn resume(period: usize, last: f64, averages: Averages) -> Self {
        let period = period.max(1);
        Self {
            period,
            prev: Some(last),
            seen: period,
            up: averages.up,
            down: averages.down,
        }
    }

    /// The averages after the newest value, once `period` changes have come.
    #[must_use]
    pub fn averages(&self) -> Option<Averages> {
        (self.seen == self.period).then_some(Averages {
            up: self.up,
            down: self.down,
        })
    }

    /// Takes the next value: the index, once `period` changes have come.
    pub fn push(&mut self, value: f64) -> Option<f64> {
        let prev = self.prev.replace(value)?;
        let change = value - prev;
        let (gain, loss) = (change.max(0.0), (-change).max(0.0));
        let n = self.period as f64;
        if self.seen < self.period {
            self.seen += 1;
            self.up += gain;
            self.down += loss;
            if self.seen < self.period {
                return None;
            }
            self.up /= n;
            self.down /= n;
        } else {
            let alpha = 1.0 / n;
            self.up = alpha * gain + (1.0 - alpha) * self.up;
            self.down = alpha * loss + (1.0 - alpha) * self.down;
        }
        Some(index(self.up, self.down))
    }
}

/// Pine's `down == 0 ? 100 : up == 0 ? 0 : 100 - 100 / (1 + up / down)`.
fn index(up: f64, down: f64) -> f64 {
    if down == 0.0 {
        100.0
    } else if up == 0.0 {
        0.0
    } else {
        100.0 - 100.0 / (1.0 + up / down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_by_hand_from_the_published_formula() {
        // n = 2. Changes: +2, -1, +3, -2.
        // Seed: up = (2 + 0) / 2 = 1, down = (0 + 1) / 2 = 0.5:
        //   rsi = 100 - 100 / (1 + 2) = 66.666…
        // Next (+3): up = 0.5*3 + 0.5*1 = 2, down = 0.5*0 + 0.5*0.5 = 0.25:
        //   rsi = 100 - 100 / 9 = 88.888…
        // Next (-2): up = 1, down = 0.5*2 + 0.5*0.25 = 1.125:
        //   rsi = 100 - 100 / (1 + 1/1.125) = 47.058823…
        let mut rsi = Rsi::new(2);
        assert_eq!(rsi.push(10.0), None);
        assert_eq!(rsi.push(12.0), None);
        let out: Vec<f64> = [11.0, 14.0, 12.0]
            .into_iter()
            .map(|v| rsi.push(v).unwrap())
            .collect();
        let want = [
            200.0 / 3.0,
            800.0 / 9.0,
            100.0 - 100.0 / (1.0 + 1.0 / 1.125),
        ];
        for (got, want) in out.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} != {want}");
        }
    }

    #[test]
    fn resumed_from_its_averages_it_steps_on_bit_for_bit() {
        let values: Vec<f64> = (0..60)
            .map(|k| 1.08 + f64::from(k * 37 % 23) * 1e-5)
            .collect();
        let mut whole = Rsi::new(14);
        let mut head = Rsi::new(14);
        assert_eq!(head.averages(), None);
        for v in &values[..30] {
            whole.push(*v);
            head.push(*v);
        }
        let mut resumed = Rsi::resume(14, values[29], head.averages().unwrap());
        for v in &values[30..] {
            assert_eq!(resumed.push(*v), whole.push(*v));
        }
    }

    #[test]
    fn is_100_without_losses_and_0_without_gains() {
        let mut rising = Rsi::new(3);
        let last = [1.0, 2.0, 3.0, 4.0, 5.0].map(|v| rising.push(v));
        assert_eq!(last, [None, None, None, Some(100.0), Some(100.0)]);
        let mut falling = Rsi::new(3);
        let last = [5.0, 4.0, 3.0, 2.0].map(|v| falling.push(v));
        assert_eq!(last[3], Some(0.0));
        // Flat: no loss, so 100 (Pine tests `down == 0` first).
        let mut flat = Rsi::new(1);
        assert_eq!([2.0, 2.0].map(|v| flat.push(v)), [None, Some(100.0)]);
    }
}
