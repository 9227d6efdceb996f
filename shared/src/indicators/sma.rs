//! [`Sma`]: `ta.sma(src, n)`, the mean of the last `n` values.

use std::collections::VecDeque;

/// The simple moving average of the last `period` values, as Pine's
/// `ta.sma`: `na` (here `None`) until `period` values have come.
///
/// The window's sum is recomputed at each step (O(period), at most
/// [`super::MAX_PERIOD`]), so no rounding error builds up over a long
/// series and pushing is the same as computing from scratch.
#[derive(Debug, Clone)]
pub struct Sma {
    /// How many values the mean spans.
    period: usize,
    /// The last `period` values, oldest first.
    window: VecDeque<f64>,
}

impl Sma {
    /// An average over `period` values (at least 1).
    #[must_use]
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Self {
            period,
            window: VecDeque::with_capacity(period),
        }
    }

    /// Takes the next value: the mean of the last `period`, once there are
    /// that many.
    pub fn push(&mut self, value: f64) -> Option<f64> {
        if self.window.len() == self.period {
            self.window.pop_front();
        }
        self.window.push_back(value);
        (self.window.len() == self.period).then(|| self.mean())
    }

    /// The mean of the window.
    fn mean(&self) -> f64 {
        self.window.iter().sum::<f64>() / self.period as f64
    }

    /// The values of a full window, oldest first (for [`super::Bb`]).
    pub(super) fn window(&self) -> &VecDeque<f64> {
        &self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_none_until_the_window_is_full_then_the_mean_of_the_last_n() {
        let mut sma = Sma::new(3);
        let out: Vec<Option<f64>> = [1.0, 2.0, 3.0, 4.0, 8.0]
            .into_iter()
            .map(|v| sma.push(v))
            .collect();
        assert_eq!(out, [None, None, Some(2.0), Some(3.0), Some(5.0)]);
    }

    #[test]
    fn a_period_of_one_is_the_value_itself() {
        let mut sma = Sma::new(1);
        assert_eq!(sma.push(1.5), Some(1.5));
        assert_eq!(sma.push(2.25), Some(2.25));
    }
}
