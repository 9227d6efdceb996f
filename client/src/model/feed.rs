//! [`FeedClock`]: whether the candle feed is live, quiet or stale, judged
//! from the intervals between the updates the page has seen.

/// Stale when nothing came for this many typical intervals...
const STALE_INTERVALS: f64 = 5.0;
/// ...and never sooner than this, so a slow market is not called dead.
const MIN_STALE_MS: f64 = 3_000.0;

/// The feed's state as a badge shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// No update seen yet.
    Waiting,
    /// Updates arrive as usual.
    Live,
    /// No update for several times the usual interval.
    Stale,
}

/// When updates arrived, smoothed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeedClock {
    last_ms: Option<f64>,
    /// Exponentially smoothed interval between updates, in ms.
    interval_ms: Option<f64>,
}

impl FeedClock {
    /// An update arrived at `now_ms`.
    pub fn on_update(&mut self, now_ms: f64) {
        if let Some(last) = self.last_ms {
            let gap = (now_ms - last).max(0.0);
            // Many updates may arrive in one batch: only real gaps count.
            if gap > 1.0 {
                self.interval_ms = Some(match self.interval_ms {
                    Some(avg) => 0.8 * avg + 0.2 * gap,
                    None => gap,
                });
            }
        }
        self.last_ms = Some(now_ms);
    }

    /// Forgets the history (another series, a new stream).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The typical interval between updates, once known.
    #[must_use]
    pub const fn interval_ms(&self) -> Option<f64> {
        self.interval_ms
    }

    /// How long without an update makes the feed stale.
    #[must_use]
    pub fn stale_after_ms(&self) -> f64 {
        self.interval_ms
            .map_or(MIN_STALE_MS, |i| (i * STALE_INTERVALS).max(MIN_STALE_MS))
    }

    /// The state at `now_ms`.
    #[must_use]
    pub fn state(&self, now_ms: f64) -> FeedState {
        match self.last_ms {
            None => FeedState::Waiting,
            Some(last) if now_ms - last > self.stale_after_ms() => FeedState::Stale,
            Some(_) => FeedState::Live,
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn stale_after_several_usual_intervals_but_not_sooner_than_the_floor() {
        let mut f = FeedClock::default();
        assert_eq!(f.state(0.0), FeedState::Waiting);
        for i in 0..10 {
            f.on_update(f64::from(i) * 1000.0);
        }
        assert_eq!(f.interval_ms(), Some(1000.0));
        assert_eq!(f.state(9_000.0 + 4_900.0), FeedState::Live);
        assert_eq!(f.state(9_000.0 + 5_100.0), FeedState::Stale);

        let mut fast = FeedClock::default();
        for i in 0..10 {
            fast.on_update(f64::from(i) * 100.0);
        }
        assert_eq!(fast.state(900.0 + 2_000.0), FeedState::Live);
        assert_eq!(fast.state(900.0 + 3_100.0), FeedState::Stale);
        fast.reset();
        assert_eq!(fast.state(0.0), FeedState::Waiting);
    }
}
