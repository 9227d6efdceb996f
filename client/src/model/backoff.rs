//! [`Backoff`]: how long to wait before the next reconnection attempt.

/// Delays that double from `first_ms` up to `max_ms`, with up to a quarter
/// of jitter so that many pages do not reconnect in step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    first_ms: f64,
    max_ms: f64,
    attempt: u32,
}

impl Default for Backoff {
    /// 500 ms, doubling up to 15 s.
    fn default() -> Self {
        Self::new(500.0, 15_000.0)
    }
}

impl Backoff {
    /// Delays from `first_ms` doubling up to `max_ms`.
    #[must_use]
    pub const fn new(first_ms: f64, max_ms: f64) -> Self {
        Self {
            first_ms,
            max_ms,
            attempt: 0,
        }
    }

    /// Attempts made since the last success.
    #[must_use]
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next attempt; `unit` (0 to 1, e.g.
    /// `Math.random()`) picks the jitter.
    pub fn next_delay_ms(&mut self, unit: f64) -> f64 {
        let exponent = i32::try_from(self.attempt.min(30)).unwrap_or(30);
        let base = (self.first_ms * 2f64.powi(exponent)).min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        base * (1.0 - 0.25 * unit.clamp(0.0, 1.0))
    }

    /// A connection succeeded: start over from the first delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn doubles_up_to_the_cap_and_starts_over_after_a_success() {
        let mut b = Backoff::new(500.0, 4_000.0);
        let delays: Vec<f64> = (0..6).map(|_| b.next_delay_ms(0.0)).collect();
        assert_eq!(delays, [500.0, 1000.0, 2000.0, 4000.0, 4000.0, 4000.0]);
        assert_eq!(b.attempt(), 6);
        b.reset();
        assert_eq!(b.next_delay_ms(1.0), 375.0);
    }
}
