//! [`Claim`]: a session's hold on an on-demand simulation. The simulation
//! runs while any session holds one; when the last is let go it ends, at
//! once on `stop_stream` ([`Claim::stop`]), or after the linger when the
//! session leaves the asset or closes (the claim is dropped), so a reload
//! keeps the walk going.

use std::sync::Arc;

use shared::Asset;

use super::Inner;

/// A session's hold on an on-demand simulation; dropping it lets go.
pub struct Claim {
    inner: Arc<Inner>,
    asset: Asset,
    /// The run it holds (a later run of the same asset is another).
    generation: u64,
    held: bool,
}

impl Claim {
    pub(super) const fn new(inner: Arc<Inner>, asset: Asset, generation: u64) -> Self {
        Self {
            inner,
            asset,
            generation,
            held: true,
        }
    }

    /// The simulated asset.
    #[must_use]
    pub const fn asset(&self) -> Asset {
        self.asset
    }

    /// Lets go now; the simulation ends at once unless another session holds
    /// it.
    pub fn stop(mut self) {
        self.release(false);
    }

    fn release(&mut self, linger: bool) {
        if std::mem::take(&mut self.held) {
            self.inner.release(self.asset, self.generation, linger);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.release(true);
    }
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("asset", &self.asset)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}
