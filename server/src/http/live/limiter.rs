//! A token bucket: at most `rate` messages a second per connection, in bursts
//! of up to twice that.

use std::time::Instant;

/// One connection's budget.
#[derive(Debug)]
pub struct Limiter {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Limiter {
    /// A full bucket for `rate` messages a second.
    #[must_use]
    pub fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            tokens: rate * 2.0,
            last: Instant::now(),
        }
    }

    /// Takes one message's token at `now`; `false` when over the limit.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate * 2.0);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_then_refills() {
        let start = Instant::now();
        let mut l = Limiter::new(10);
        assert_eq!((0..25).filter(|_| l.allow(start)).count(), 20);
        assert!(!l.allow(start));
        assert!(l.allow(start + Duration::from_millis(150)));
    }
}
