//! [`SeriesCursor`]: where the page is in one series' numbered updates, so a
//! reconnect resumes after the last update applied and a repeated one is
//! ignored.
//!
//! The server numbers the updates of each (asset, timeframe) within one run
//! (`epoch`). Numbers may skip: a client's queue on the server merges updates
//! of one candle, so the newest state stands for the ones it replaced. What
//! matters is that an update at or below the number held is never applied
//! again, and that a reconnect asks for everything after it.

use shared::protocol::Subscribe;
use shared::{Asset, Timeframe};

/// Whether an update is to be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Newer than anything applied: apply it.
    Apply,
    /// At or below the number held: already applied, ignore it.
    Repeated,
    /// No snapshot yet to count from: wait for it.
    BeforeSnapshot,
}

/// The epoch and last sequence number applied for one series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesCursor {
    position: Option<(u64, u64)>,
}

impl SeriesCursor {
    /// A cursor with nothing applied yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { position: None }
    }

    /// The (epoch, seq) held, if any.
    #[must_use]
    pub const fn position(&self) -> Option<(u64, u64)> {
        self.position
    }

    /// A snapshot as of `seq` in `epoch` replaces whatever was held.
    pub fn on_snapshot(&mut self, epoch: u64, seq: u64) {
        self.position = Some((epoch, seq));
    }

    /// Decides about update `seq`, and records it when it is to be applied.
    pub fn on_update(&mut self, seq: u64) -> Verdict {
        match &mut self.position {
            None => Verdict::BeforeSnapshot,
            Some((_, held)) if seq <= *held => Verdict::Repeated,
            Some((_, held)) => {
                *held = seq;
                Verdict::Apply
            }
        }
    }

    /// Forgets everything: the next subscription starts from a snapshot.
    pub fn reset(&mut self) {
        self.position = None;
    }

    /// The subscription to send for `asset` in `timeframe`: a resume after
    /// the last update applied when there is one, else a fresh start.
    #[must_use]
    pub const fn subscribe(&self, asset: Asset, timeframe: Timeframe) -> Subscribe {
        let (epoch, last_seq) = match self.position {
            Some((epoch, seq)) => (Some(epoch), Some(seq)),
            None => (None, None),
        };
        Subscribe {
            asset,
            timeframe: Some(timeframe),
            last_seq,
            epoch,
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn updates_apply_once_in_increasing_order() {
        let mut c = SeriesCursor::new();
        assert_eq!(c.on_update(1), Verdict::BeforeSnapshot);
        c.on_snapshot(7, 10);
        assert_eq!(c.on_update(10), Verdict::Repeated);
        assert_eq!(c.on_update(11), Verdict::Apply);
        // A merged-away number is no gap: the newer state stands for it.
        assert_eq!(c.on_update(13), Verdict::Apply);
        assert_eq!(c.on_update(12), Verdict::Repeated);
        assert_eq!(c.position(), Some((7, 13)));
    }

    #[wasm_bindgen_test]
    fn the_subscription_resumes_after_the_last_update_applied() {
        let eur = Asset::new("EURUSD_otc");
        let mut c = SeriesCursor::new();
        let fresh = c.subscribe(eur, Timeframe::M5);
        assert_eq!((fresh.last_seq, fresh.epoch), (None, None));
        assert_eq!(fresh.timeframe, Some(Timeframe::M5));
        c.on_snapshot(3, 40);
        c.on_update(41);
        let resume = c.subscribe(eur, Timeframe::M5);
        assert_eq!((resume.last_seq, resume.epoch), (Some(41), Some(3)));
        c.reset();
        assert_eq!(c.subscribe(eur, Timeframe::M5).last_seq, None);
    }
}
