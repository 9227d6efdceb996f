//! [`Follow`]: the subscriptions one session holds to one asset.

use shared::Timeframe;

/// What one session follows of one asset: every precomputed timeframe (a
/// subscription without a timeframe), named timeframes, or both. Each
/// subscription adds up and ends on its own.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Follow {
    /// A subscription without a timeframe: the seven precomputed ones.
    every: bool,
    /// Subscriptions to one timeframe each, in the order made.
    named: Vec<Timeframe>,
}

impl Follow {
    /// Adds the subscription to `timeframe` (every precomputed one when
    /// `None`); nothing changes when it is held already.
    pub fn add(&mut self, timeframe: Option<Timeframe>) {
        match timeframe {
            None => self.every = true,
            Some(tf) if !self.named.contains(&tf) => self.named.push(tf),
            Some(_) => {}
        }
    }

    /// Ends the subscription to `timeframe`, or every subscription when
    /// `None`.
    pub fn remove(&mut self, timeframe: Option<Timeframe>) {
        match timeframe {
            None => *self = Self::default(),
            Some(tf) => self.named.retain(|t| *t != tf),
        }
    }

    /// Whether it would hold `timeframe` as a subscription of its own.
    pub fn holds(&self, timeframe: Option<Timeframe>) -> bool {
        timeframe.map_or(self.every, |tf| self.named.contains(&tf))
    }

    /// Whether no subscription is left.
    pub fn is_empty(&self) -> bool {
        !self.every && self.named.is_empty()
    }

    /// Subscriptions held, as counted against `WS_MAX_SUBSCRIPTIONS`.
    pub fn count(&self) -> usize {
        usize::from(self.every) + self.named.len()
    }

    /// Whether updates of `timeframe` go to the session.
    pub fn covers(&self, timeframe: Timeframe) -> bool {
        (self.every && timeframe.is_precomputed()) || self.named.contains(&timeframe)
    }

    /// Every timeframe it covers, each once.
    pub fn timeframes(&self) -> Vec<Timeframe> {
        let every = if self.every { &Timeframe::ALL[..] } else { &[] };
        let named = self
            .named
            .iter()
            .filter(|tf| !self.every || !tf.is_precomputed());
        every.iter().chain(named).copied().collect()
    }

    /// The timeframes named beyond the precomputed ones (derived series).
    pub fn derived(&self) -> impl Iterator<Item = Timeframe> + '_ {
        self.named.iter().copied().filter(|tf| !tf.is_precomputed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tf(minutes: u16) -> Timeframe {
        Timeframe::from_minutes(minutes).unwrap()
    }

    #[test]
    fn named_timeframes_add_up_and_end_one_by_one() {
        let mut f = Follow::default();
        f.add(Some(Timeframe::M1));
        f.add(Some(tf(90)));
        f.add(Some(tf(90)));
        assert_eq!(f.count(), 2);
        assert_eq!(f.timeframes(), [Timeframe::M1, tf(90)]);
        assert!(f.covers(tf(90)) && !f.covers(Timeframe::M5));
        assert_eq!(f.derived().collect::<Vec<_>>(), [tf(90)]);
        f.remove(Some(Timeframe::M1));
        assert_eq!(f.timeframes(), [tf(90)]);
        f.remove(Some(tf(90)));
        assert!(f.is_empty());
    }

    #[test]
    fn every_timeframe_covers_the_precomputed_once() {
        let mut f = Follow::default();
        f.add(Some(Timeframe::M5));
        f.add(None);
        f.add(Some(tf(7)));
        assert_eq!(f.count(), 3);
        let mut expected = Timeframe::ALL.to_vec();
        expected.push(tf(7));
        assert_eq!(f.timeframes(), expected);
        assert!(f.covers(Timeframe::D1) && f.covers(tf(7)) && !f.covers(tf(90)));
        // Ending the named 5M leaves it covered by the subscription to all.
        f.remove(Some(Timeframe::M5));
        assert!(f.covers(Timeframe::M5));
        assert!(f.holds(None) && !f.holds(Some(Timeframe::M5)));
        f.remove(None);
        assert!(f.is_empty());
    }
}
