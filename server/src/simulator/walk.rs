//! [`Walk`]: the simulator's prices, a per-asset random walk with FX-like
//! decimals, deterministic from a seed.

use std::hash::{DefaultHasher, Hash, Hasher};

use shared::{Asset, Price};

/// One price step: 0.00001 in units of 10⁻¹⁰.
const PIP: i128 = 100_000;

/// A deterministic random walk of one asset.
#[derive(Debug, Clone)]
pub struct Walk {
    state: u64,
    units: i128,
}

impl Walk {
    /// A walk for `asset` from `seed`, starting between 1.00000 and 1.99999.
    #[must_use]
    pub fn new(asset: Asset, seed: u64) -> Self {
        let mut h = DefaultHasher::new();
        asset.hash(&mut h);
        seed.hash(&mut h);
        let state = h.finish() | 1;
        let start = 10_000_000_000 + i128::from(state % 100_000) * PIP;
        Self {
            state,
            units: start,
        }
    }

    /// The next price: up or down by up to 5 pips, never below 0.1.
    pub fn next_price(&mut self) -> Price {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let step = i128::from((r >> 40) % 11) - 5;
        self.units = (self.units + step * PIP).max(1_000_000_000);
        Price::from_units(self.units.unsigned_abs()).unwrap_or(Price::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_walks_the_same_way() {
        let asset = Asset::new("EURUSD_otc");
        let a: Vec<Price> = {
            let mut w = Walk::new(asset, 7);
            (0..100).map(|_| w.next_price()).collect()
        };
        let b: Vec<Price> = {
            let mut w = Walk::new(asset, 7);
            (0..100).map(|_| w.next_price()).collect()
        };
        let c: Vec<Price> = {
            let mut w = Walk::new(asset, 8);
            (0..100).map(|_| w.next_price()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Five decimals at most, like an FX quote.
        assert!(a.iter().all(|p| p.units() % 100_000 == 0));
        assert!(
            a.windows(2)
                .all(|w| w[0].units().abs_diff(w[1].units()) <= 5 * 100_000)
        );
    }
}
