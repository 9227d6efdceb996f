//! [`LiveIds`]: the identities `(timestamp, price)` of one asset's live
//! ticks, so a tick counted once is never counted again. Only ticks at or
//! after the asset's horizon are held (grouped by minute, so moving the
//! horizon drops whole minutes); older ticks take the late path, where the
//! store's unique key de-duplicates.

use std::collections::{HashSet, VecDeque};

use crate::Price;

/// Most identities held per asset: about 4,000 ticks a second sustained for
/// the minute or so between the horizon and the newest tick, some 16 MB.
/// A live tick past it is treated as late (see [`Seen::Full`]).
pub const MAX_LIVE_IDS_PER_ASSET: usize = 250_000;

/// What [`LiveIds::insert`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// A tick not seen before; now held.
    New,
    /// The same tick was counted before.
    Again,
    /// Not held: the asset holds [`MAX_LIVE_IDS_PER_ASSET`] already.
    Full,
}

/// One asset's live tick identities, by minute.
#[derive(Debug, Clone, Default)]
pub(super) struct LiveIds {
    /// (minute start in ms, identities of ticks in that minute), oldest first.
    minutes: VecDeque<(i64, HashSet<(i64, Price)>)>,
    len: usize,
}

impl LiveIds {
    /// Holds the identity of a tick stamped `at` (ms) with `price`.
    pub(super) fn insert(&mut self, at: i64, price: Price) -> Seen {
        let minute = at - at.rem_euclid(60_000);
        let position = self
            .minutes
            .iter()
            .rposition(|(m, _)| *m <= minute)
            .filter(|i| self.minutes[*i].0 == minute);
        if let Some(i) = position
            && self.minutes[i].1.contains(&(at, price))
        {
            return Seen::Again;
        }
        if self.len >= MAX_LIVE_IDS_PER_ASSET {
            return Seen::Full;
        }
        let set = match position {
            Some(i) => &mut self.minutes[i].1,
            None => {
                let i = self.minutes.partition_point(|(m, _)| *m < minute);
                self.minutes.insert(i, (minute, HashSet::new()));
                &mut self.minutes[i].1
            }
        };
        set.insert((at, price));
        self.len += 1;
        Seen::New
    }

    /// Forgets the ticks stamped before `horizon` (ms, a minute start).
    pub(super) fn prune(&mut self, horizon: i64) {
        while let Some((m, set)) = self.minutes.front() {
            if *m >= horizon {
                break;
            }
            self.len -= set.len();
            self.minutes.pop_front();
        }
    }

    /// Identities held.
    #[cfg(test)]
    pub(super) const fn len(&self) -> usize {
        self.len
    }
}
