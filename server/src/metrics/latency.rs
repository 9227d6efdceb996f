//! [`Latency`]: a histogram of seconds built for the per-tick hops at ingest
//! speed. A whole batch is counted locally and added with one atomic add per
//! bucket it touched, where `prometheus-client`'s own histogram takes a lock
//! per observation (two per tick at a million ticks a second).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds in seconds: 0.5 ms doubling to about 65 s.
const BOUNDS: [f64; 18] = {
    let mut b = [0.0; 18];
    let mut i = 0;
    let mut v = 0.000_5;
    while i < 18 {
        b[i] = v;
        v *= 2.0;
        i += 1;
    }
    b
};

/// Bucket counts (the last one past every bound) and the sum in µs.
#[derive(Debug, Default)]
struct Inner {
    counts: [AtomicU64; BOUNDS.len() + 1],
    sum_us: AtomicU64,
}

/// A latency histogram; cheap to clone, clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    inner: Arc<Inner>,
}

/// The most one observation adds to the sum (an hour, in µs): a replayed or
/// back-filled tick from years ago must not overflow the sum or swamp it.
const MAX_SUM_US: u64 = 3_600_000_000;

/// An observation's part of the sum.
fn micros(secs: f64) -> u64 {
    ((secs * 1e6) as u64).min(MAX_SUM_US)
}

fn bucket(secs: f64) -> usize {
    BOUNDS
        .iter()
        .position(|b| secs <= *b)
        .unwrap_or(BOUNDS.len())
}

impl Latency {
    /// Counts one observation (seconds; negative counts as 0).
    pub fn observe(&self, secs: f64) {
        let secs = secs.max(0.0);
        self.inner.counts[bucket(secs)].fetch_add(1, Ordering::Relaxed);
        self.inner.sum_us.fetch_add(micros(secs), Ordering::Relaxed);
    }

    /// Counts many observations with one atomic add per bucket touched.
    pub fn observe_many(&self, secs: impl IntoIterator<Item = f64>) {
        let mut counts = [0u64; BOUNDS.len() + 1];
        let mut sum_us = 0u64;
        for s in secs {
            let s = s.max(0.0);
            counts[bucket(s)] += 1;
            sum_us = sum_us.saturating_add(micros(s));
        }
        for (i, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            self.inner.counts[i].fetch_add(*n, Ordering::Relaxed);
        }
        self.inner.sum_us.fetch_add(sum_us, Ordering::Relaxed);
    }

    /// Observations so far.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.inner
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let counts: Vec<u64> = self
            .inner
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let buckets: Vec<(f64, u64)> = BOUNDS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(counts.iter().copied())
            .collect();
        let sum = self.inner.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, counts.iter().sum(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::prometheus_text::encode;
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn batches_and_single_observations_land_in_the_same_buckets() {
        let one = Latency::default();
        let many = Latency::default();
        let values = [0.0001, 0.0005, 0.0006, 0.003, 70.0, -1.0];
        for v in values {
            one.observe(v);
        }
        many.observe_many(values);
        let text = |h: &Latency| {
            let mut r = Registry::default();
            r.register("hop_seconds", "test", h.clone());
            let mut out = String::new();
            encode(&mut out, &r).unwrap();
            out
        };
        let t = text(&many);
        assert_eq!(text(&one), t);
        assert_eq!(many.count(), 6);
        // Cumulative: 0.0001, 0.0005 and the clamped -1 are within 0.5 ms.
        assert!(t.contains("hop_seconds_bucket{le=\"0.0005\"} 3\n"), "{t}");
        assert!(t.contains("hop_seconds_bucket{le=\"0.004\"} 5\n"), "{t}");
        assert!(t.contains("hop_seconds_bucket{le=\"+Inf\"} 6\n"), "{t}");
        assert!(t.contains("hop_seconds_count 6\n"), "{t}");
        assert!(t.contains("hop_seconds_sum 70.0042\n"), "{t}");
    }

    #[test]
    fn ticks_from_years_ago_add_at_most_an_hour_each_to_the_sum() {
        let h = Latency::default();
        let thirty_years = 30.0 * 365.0 * 86_400.0;
        h.observe_many(std::iter::repeat_n(thirty_years, 100_000));
        h.observe(thirty_years);
        assert_eq!(h.count(), 100_001);
        assert_eq!(
            h.inner.sum_us.load(Ordering::Relaxed),
            100_001 * MAX_SUM_US,
            "no wrap-around"
        );
    }
}
