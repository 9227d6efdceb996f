//! The soak's ticks: distinct by construction and easy to trace. Tick number
//! `n` belongs to asset `SOAK{n % assets}`; its price is an exact decimal
//! whose last seven digits are `n` (`1.4230000123` is tick 123); each
//! asset's timestamps strictly increase and never run ahead of the clock by
//! more than the batch being built, so open and close are never a tie.

/// Most ticks one run may have: the price holds seven digits of the number.
pub const MAX_TICKS: u64 = 10_000_000;

/// One tick as posted and as written to `accepted.csv`.
pub struct SoakTick {
    /// `SOAK0`, `SOAK1`, ...
    pub asset: String,
    /// The exact decimal text.
    pub price: String,
    /// Unix epoch milliseconds.
    pub timestamp: i64,
}

/// A batch: consecutive tick numbers from `first`.
pub struct Batch {
    /// The first tick's number.
    pub first: u64,
    /// The ticks, in number order.
    pub ticks: Vec<SoakTick>,
}

impl Batch {
    /// The JSON body of `POST /api/ticks`.
    #[must_use]
    pub fn body(&self) -> String {
        let items: Vec<String> = self
            .ticks
            .iter()
            .map(|t| {
                format!(
                    r#"{{"asset":"{}","price":"{}","timestamp":{}}}"#,
                    t.asset, t.price, t.timestamp
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    /// The newest timestamp in the batch.
    #[must_use]
    pub fn newest(&self) -> i64 {
        self.ticks.iter().map(|t| t.timestamp).max().unwrap_or(0)
    }
}

/// Hands out the run's ticks, batch by batch.
pub struct Generator {
    assets: Vec<String>,
    last_ms: Vec<i64>,
    next: u64,
    total: u64,
}

impl Generator {
    /// `total` ticks over `assets` assets.
    #[must_use]
    pub fn new(assets: usize, total: u64) -> Self {
        Self {
            assets: (0..assets.max(1)).map(|i| format!("SOAK{i}")).collect(),
            last_ms: vec![0; assets.max(1)],
            next: 0,
            total: total.min(MAX_TICKS),
        }
    }

    /// Ticks handed out so far.
    #[must_use]
    pub const fn generated(&self) -> u64 {
        self.next
    }

    /// The next batch of at most `size` ticks stamped from `now_ms` on, or
    /// `None` when every tick has been handed out.
    pub fn batch(&mut self, size: usize, now_ms: i64) -> Option<Batch> {
        if self.next >= self.total {
            return None;
        }
        let first = self.next;
        let end = (first + size as u64).min(self.total);
        let ticks = (first..end)
            .map(|n| {
                let a = (n % self.assets.len() as u64) as usize;
                let timestamp = now_ms.max(self.last_ms[a] + 1);
                self.last_ms[a] = timestamp;
                SoakTick {
                    asset: self.assets[a].clone(),
                    price: price(n),
                    timestamp,
                }
            })
            .collect();
        self.next = end;
        Some(Batch { first, ticks })
    }
}

/// Tick `n`'s price: three digits that wander, then `n` in seven digits.
#[must_use]
pub fn price(n: u64) -> String {
    let wander = n.wrapping_mul(2_654_435_761) >> 7;
    format!("{}.{:03}{:07}", 1 + wander % 2, (wander >> 1) % 1000, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_carry_the_number_and_identities_are_distinct() {
        let mut g = Generator::new(3, 10);
        let b = g.batch(10, 1_000).unwrap_or(Batch {
            first: 0,
            ticks: Vec::new(),
        });
        assert_eq!(b.ticks.len(), 10);
        assert!(b.ticks[7].price.ends_with("0000007"));
        // Asset 1 holds ticks 1, 4, 7: strictly increasing timestamps.
        let ts: Vec<i64> = b
            .ticks
            .iter()
            .filter(|t| t.asset == "SOAK1")
            .map(|t| t.timestamp)
            .collect();
        assert_eq!(ts, vec![1_000, 1_001, 1_002]);
        assert!(g.batch(10, 2_000).is_none());
    }
}
