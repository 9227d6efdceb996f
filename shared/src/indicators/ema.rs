//! [`Ema`]: `ta.ema(src, n)` as Pine v5 publishes it, seeded with the first
//! value.

/// The exponential moving average with `alpha = 2 / (period + 1)`, as the
/// published Pine definition
/// `sum := na(sum[1]) ? src : alpha * src + (1 - alpha) * nz(sum[1])`:
/// the first output is the first value itself, and every value after it
/// gives `alpha * value + (1 - alpha) * previous`. So it answers from the
/// first value on, never `None`.
#[derive(Debug, Clone)]
pub struct Ema {
    /// The weight of the newest value.
    alpha: f64,
    /// The previous output, `None` before the first value.
    last: Option<f64>,
}

impl Ema {
    /// An average over `period` values (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        Self {
            alpha: 2.0 / (period.max(1) as f64 + 1.0),
            last: None,
        }
    }

    /// An average over `period` values whose value so far is `value`: it
    /// steps on exactly as the one it was read from ([`Ema::value`]).
    #[must_use]
    pub fn resume(period: usize, value: f64) -> Self {
        let mut ema = Self::new(period);
        ema.last = Some(value);
        ema
    }

    /// The average so far, once a value has come.
    #[must_use]
    pub const fn value(&self) -> Option<f64> {
        self.last
    }

    /// Takes the next value: the average so far.
    pub fn push(&mut self, value: f64) -> f64 {
        let next = match self.last {
            None => value,
            Some(prev) => self.alpha * value + (1.0 - self.alpha) * prev,
        };
        self.last = Some(next);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_first_value_then_weighs_by_two_over_n_plus_one() {
        // n = 3: alpha = 0.5.
        let mut ema = Ema::new(3);
        assert_eq!(ema.push(10.0), 10.0);
        assert_eq!(ema.push(20.0), 15.0);
        assert_eq!(ema.push(5.0), 10.0);
        assert_eq!(ema.push(10.0), 10.0);
    }
}
