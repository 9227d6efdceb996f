//! [`CandleBuffer`]: the candles of one series the page holds, ordered by
//! open time, at most `capacity` of them (the old design's `maxBufferSize`).

use std::collections::VecDeque;

use shared::Candle;

/// The old design's default `maxBufferSize`.
pub const DEFAULT_MAX_BUFFER_SIZE: usize = 1000;

/// What [`CandleBuffer::apply`] did with a candle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A candle newer than every held one, added at the end.
    Appended,
    /// A new state of a held candle (the forming one, or a revised older one).
    Replaced,
    /// A candle older than the newest, for a time not held: inserted in place.
    Inserted,
    /// Older than everything held while the buffer is full: not kept.
    TooOld,
}

/// Candles of one series by open time, bounded; the oldest go first.
#[derive(Debug, Clone)]
pub struct CandleBuffer {
    candles: VecDeque<Candle>,
    capacity: usize,
    /// Candles dropped from the front since [`CandleBuffer::take_evicted`].
    evicted: usize,
}

impl CandleBuffer {
    /// An empty buffer of at most `capacity` candles (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            candles: VecDeque::with_capacity(capacity.min(DEFAULT_MAX_BUFFER_SIZE)),
            capacity,
            evicted: 0,
        }
    }

    /// The most candles held.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many candles are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.candles.len()
    }

    /// Whether no candle is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }

    /// Whether the buffer holds `capacity` candles.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.candles.len() >= self.capacity
    }

    /// The candles, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Candle> + ExactSizeIterator {
        self.candles.iter()
    }

    /// The candles, oldest first, as a new vector.
    #[must_use]
    pub fn to_vec(&self) -> Vec<Candle> {
        self.candles.iter().copied().collect()
    }

    /// The newest candle.
    #[must_use]
    pub fn latest(&self) -> Option<&Candle> {
        self.candles.back()
    }

    /// The oldest candle.
    #[must_use]
    pub fn oldest(&self) -> Option<&Candle> {
        self.candles.front()
    }

    /// The candle opening at `open_time`, if held.
    #[must_use]
    pub fn get(&self, open_time: i64) -> Option<&Candle> {
        self.candles
            .binary_search_by_key(&open_time, Candle::open_time)
            .ok()
            .and_then(|i| self.candles.get(i))
    }

    /// Merges one candle by open time: a newer one is appended (dropping the
    /// oldest when full), one for a held time replaces it, an older one for a
    /// missing time is inserted in place.
    pub fn apply(&mut self, candle: Candle) -> Applied {
        let t = candle.open_time();
        match self.candles.back() {
            None => {
                self.candles.push_back(candle);
                return Applied::Appended;
            }
            Some(last) if last.open_time() < t => {
                self.candles.push_back(candle);
                self.trim();
                return Applied::Appended;
            }
            Some(_) => {}
        }
        match self.candles.binary_search_by_key(&t, Candle::open_time) {
            Ok(i) => {
                self.candles[i] = candle;
                Applied::Replaced
            }
            Err(0) if self.is_full() => Applied::TooOld,
            Err(i) => {
                self.candles.insert(i, candle);
                self.trim();
                Applied::Inserted
            }
        }
    }

    /// Replaces everything with `candles` (a snapshot): sorted by open time,
    /// the later of two with one open time kept, the newest `capacity` kept.
    pub fn replace_all(&mut self, candles: impl IntoIterator<Item = Candle>) {
        self.candles.clear();
        self.evicted = 0;
        for c in candles {
            self.apply(c);
        }
        self.evicted = 0;
    }

    /// Adds history: only candles for open times not held, so a live state
    /// is never overwritten by an older copy. Older candles are kept only
    /// while there is room. Returns how many were added.
    pub fn fill(&mut self, history: &[Candle]) -> usize {
        let mut added = 0;
        for c in history {
            if self.get(c.open_time()).is_some() {
                continue;
            }
            if matches!(self.apply(*c), Applied::Inserted | Applied::Appended) {
                added += 1;
            }
        }
        added
    }

    /// How many candles were dropped from the front since the last call.
    pub fn take_evicted(&mut self) -> usize {
        std::mem::take(&mut self.evicted)
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.candles.clear();
        self.evicted = 0;
    }

    fn trim(&mut self) {
        while self.candles.len() > self.capacity {
            self.candles.pop_front();
            self.evicted += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::model::testing::{BASE, candle};

    fn times(b: &CandleBuffer) -> Vec<i64> {
        b.iter().map(|c| c.open_time() - BASE).collect()
    }

    #[wasm_bindgen_test]
    fn keeps_at_most_capacity_dropping_the_oldest() {
        let mut b = CandleBuffer::new(5);
        for i in 0..10 {
            assert_eq!(b.apply(candle(i * 60, "1.1")), Applied::Appended);
        }
        assert_eq!(b.len(), 5);
        assert_eq!(times(&b), [300, 360, 420, 480, 540]);
        assert_eq!(b.take_evicted(), 5);
        assert_eq!(b.take_evicted(), 0);
    }

    #[wasm_bindgen_test]
    fn a_revised_or_out_of_order_candle_lands_in_place() {
        let mut b = CandleBuffer::new(10);
        b.apply(candle(0, "1.1"));
        b.apply(candle(120, "1.2"));
        assert_eq!(b.apply(candle(60, "1.3")), Applied::Inserted);
        assert_eq!(b.apply(candle(0, "1.4")), Applied::Replaced);
        assert_eq!(b.apply(candle(120, "1.5")), Applied::Replaced);
        assert_eq!(times(&b), [0, 60, 120]);
        assert_eq!(b.get(BASE).unwrap().close().to_string(), "1.4");
        assert_eq!(b.latest().unwrap().close().to_string(), "1.5");
    }

    #[wasm_bindgen_test]
    fn a_candle_older_than_a_full_buffer_is_not_kept() {
        let mut b = CandleBuffer::new(2);
        b.apply(candle(600, "1.1"));
        b.apply(candle(660, "1.1"));
        assert_eq!(b.apply(candle(0, "1.1")), Applied::TooOld);
        assert_eq!(times(&b), [600, 660]);
    }

    #[wasm_bindgen_test]
    fn history_fills_only_missing_times() {
        let mut b = CandleBuffer::new(4);
        b.replace_all([candle(180, "2.0"), candle(120, "2.1")]);
        assert_eq!(times(&b), [120, 180]);
        let added = b.fill(&[
            candle(0, "1.0"),
            candle(60, "1.0"),
            candle(120, "1.0"),
            candle(180, "1.0"),
        ]);
        assert_eq!(added, 2);
        assert_eq!(times(&b), [0, 60, 120, 180]);
        assert_eq!(b.get(BASE + 120).unwrap().close().to_string(), "2.1");
        // Full: older history is refused rather than evicting newer candles.
        assert_eq!(b.fill(&[candle(-60, "1.0")]), 0);
    }

    #[wasm_bindgen_test]
    fn a_snapshot_keeps_the_newest_candles_in_order() {
        let mut b = CandleBuffer::new(3);
        b.replace_all((0..6).rev().map(|i| candle(i * 60, "1.1")));
        assert_eq!(times(&b), [180, 240, 300]);
        assert_eq!(b.take_evicted(), 0);
    }
}
