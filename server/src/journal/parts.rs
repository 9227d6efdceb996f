//! A request split by journal shard ([`Part`]s, each numbered), as the
//! [`super::writer`] writes it: one stream entry per part, in its shard's
//! stream, its ticks in the order they came.

use shared::Tick;

use super::keys::Keys;
use super::types::{Durability, JournalError};

/// A part of a request: its ticks of one shard, in order, and the append
/// number of the first.
pub(super) struct Part {
    pub(super) shard: u16,
    pub(super) first_oseq: u64,
    pub(super) ticks: Vec<Tick>,
}

/// A request split by shard, with its append numbers.
pub(super) struct Numbered {
    pub(super) parts: Vec<Part>,
    pub(super) simulated: bool,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<Durability, JournalError>>,
    pub(super) room: tokio::sync::OwnedSemaphorePermit,
}

impl Numbered {
    pub(super) fn answer(self, outcome: Result<Durability, JournalError>) {
        let _ = self.reply.send(outcome);
        drop(self.room);
    }

    pub(super) fn ticks(&self) -> impl Iterator<Item = &Tick> {
        self.parts.iter().flat_map(|p| p.ticks.iter())
    }
}

/// `ticks` by shard, in order within each; shards in first-seen order.
pub(super) fn split(keys: &Keys, ticks: Vec<Tick>) -> Vec<(u16, Vec<Tick>)> {
    if keys.shards() == 1 {
        return vec![(0, ticks)];
    }
    let mut parts: Vec<(u16, Vec<Tick>)> = Vec::new();
    for tick in ticks {
        let shard = keys.shard(tick.asset);
        match parts.iter_mut().find(|(s, _)| *s == shard) {
            Some((_, own)) => own.push(tick),
            None => parts.push((shard, vec![tick])),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use shared::{Asset, Price, Tick, TimestampMs};

    use super::split;
    use crate::journal::Keys;

    fn tick(asset: &str, ms: i64) -> Tick {
        Tick::new(
            Asset::new(asset),
            Price::new("1"),
            TimestampMs::new(1_705_314_600_000 + ms),
        )
    }

    #[test]
    fn a_batch_splits_by_shard_keeping_each_assets_order() {
        let ticks: Vec<Tick> = (0..40).map(|i| tick(&format!("S{}", i % 8), i)).collect();
        let keys = Keys::sharded("p:", 4, true);
        let parts = split(&keys, ticks.clone());
        assert_eq!(parts.iter().map(|(_, t)| t.len()).sum::<usize>(), 40);
        for (shard, own) in &parts {
            assert!(own.iter().all(|t| keys.shard(t.asset) == *shard));
            assert!(own.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
        }
        let one = split(&Keys::new("p:"), ticks.clone());
        assert_eq!(one, vec![(0, ticks)], "one shard: the batch as it came");
    }
}
