//! [`Bb`]: `ta.bb(src, n, mult)`, Bollinger Bands.

use serde::Serialize;

use super::sma::Sma;

/// One step of Bollinger Bands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bands {
    /// The simple moving average of the last `period` values.
    pub basis: f64,
    /// `basis + mult × stdev`.
    pub upper: f64,
    /// `basis - mult × stdev`.
    pub lower: f64,
}

/// Bollinger Bands as Pine v5 publishes them: `basis = ta.sma(src, n)`,
/// `dev = mult * ta.stdev(src, n)` with the population standard deviation
/// (`biased = true`, the default), `upper/lower = basis ± dev`. As in the
/// published `ta.stdev`, each deviation from the mean is taken as 0 when
/// its magnitude is at most 1e-10. `None` until `period` values have come.
#[derive(Debug, Clone)]
pub struct Bb {
    /// The basis and the window the deviation is taken over.
    sma: Sma,
    /// How many standard deviations the bands lie from the basis.
    mult: f64,
}

/// Pine's `SUM(src[i], -avg)` treats a sum this small as 0.
const ZERO: f64 = 1e-10;

impl Bb {
    /// Bands over `period` values (at least 1), `mult` deviations wide.
    #[must_use]
    pub fn new(period: usize, mult: f64) -> Self {
        Self {
            sma: Sma::new(period),
            mult,
        }
    }

    /// Takes the next value: the bands, once `period` values have come.
    pub fn push(&mut self, value: f64) -> Option<Bands> {
        let basis = self.sma.push(value)?;
        let window = self.sma.window();
        let squares: f64 = window
            .iter()
            .map(|v| {
                let d = v + -basis;
                if d.abs() <= ZERO { 0.0 } else { d * d }
            })
            .sum();
        let dev = self.mult * (squares / window.len() as f64).sqrt();
        Some(Bands {
            basis,
            upper: basis + dev,
            lower: basis - dev,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_by_hand_with_the_population_deviation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population stdev 2.
        let mut bb = Bb::new(8, 2.0);
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let out: Vec<Option<Bands>> = values.into_iter().map(|v| bb.push(v)).collect();
        assert!(out[..7].iter().all(Option::is_none));
        assert_eq!(
            out[7],
            Some(Bands {
                basis: 5.0,
                upper: 9.0,
                lower: 1.0
            })
        );
    }

    #[test]
    fn a_flat_window_has_no_width() {
        let mut bb = Bb::new(2, 2.0);
        bb.push(1.1);
        let b = bb.push(1.1).unwrap();
        assert_eq!((b.upper, b.lower), (b.basis, b.basis));
    }
}
