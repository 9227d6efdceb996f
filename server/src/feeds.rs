//! Feed staleness per asset: each asset's usual gap between ticks is learned
//! (an exponentially weighted mean of the gaps between source timestamps),
//! and the feed is flagged stale once no tick has been journaled for
//! several times that gap, and never sooner than a floor.
//!
//! Illiquid pairs do not flap: a long silence raises the learned gap (each
//! gap counts for at most [`MAX_GAP_STEP`] times the current mean, so one
//! weekend does not blind the watch for days), the floor keeps busy pairs
//! from alarming on a hiccup, and a stale feed is declared fresh again only
//! after [`RECOVER_TICKS`] ticks in a row arrive within the threshold of each
//! other, so one stray tick does not clear the flag.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use clap::Args;
use rustc_hash::FxHashMap;
use shared::protocol::FeedHealth;
use shared::{Asset, Tick};

use crate::hub::LISTED_ASSETS;

/// Weight of the newest gap in the learned mean.
const ALPHA: f64 = 0.2;
/// A gap counts for at most this many times the current mean.
const MAX_GAP_STEP: f64 = 10.0;
/// Ticks in a row, each within the threshold of the previous, that clear
/// the stale flag.
pub const RECOVER_TICKS: u32 = 2;

/// Staleness settings (flags of `tickstream serve`).
#[derive(Debug, Clone, Copy, Args)]
pub struct FeedRules {
    /// A feed is stale after no tick for this many times its usual interval.
    #[arg(long = "feed-stale-factor", env = "FEED_STALE_FACTOR", default_value_t = 5.0,
          value_parser = parse_factor)]
    pub factor: f64,
    /// Seconds without a tick before any feed may count as stale, however
    /// busy it usually is.
    #[arg(long = "feed-stale-floor", env = "FEED_STALE_FLOOR", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub floor_secs: u64,
}

impl Default for FeedRules {
    fn default() -> Self {
        Self {
            factor: 5.0,
            floor_secs: 10,
        }
    }
}

fn parse_factor(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (1.0..=1000.0).contains(&f) => Ok(f),
        _ => Err("expected a number from 1 to 1000".to_owned()),
    }
}

/// What the watch knows of one asset.
#[derive(Debug, Clone, Copy)]
struct Feed {
    /// Newest source timestamp seen (Unix ms).
    last_tick_ms: i64,
    /// When the newest tick was journaled (Unix ms).
    last_arrival_ms: i64,
    /// Learned mean gap between source timestamps (ms).
    usual_ms: Option<f64>,
    stale: bool,
    /// Ticks in a row within the threshold since the feed went stale.
    recovering: u32,
    /// Ticks recorded, to list the busiest feeds first.
    ticks: u64,
}

/// A change of a feed's flag, for the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// The asset.
    pub asset: Asset,
    /// Whether it is now stale.
    pub stale: bool,
    /// How long since its last tick (ms).
    pub silent_ms: i64,
    /// The threshold it was measured against (ms).
    pub threshold_ms: i64,
}

/// Every asset's feed; pure logic, times are passed in.
#[derive(Debug, Default)]
pub struct FeedBook {
    rules: FeedRules,
    /// Looked up for every tick, so hashed; sorted only when shown.
    feeds: FxHashMap<Asset, Feed>,
}

impl FeedBook {
    /// An empty book.
    #[must_use]
    pub fn new(rules: FeedRules) -> Self {
        Self {
            rules,
            feeds: FxHashMap::default(),
        }
    }

    /// How long a feed may be silent before it is stale (ms).
    fn threshold(&self, feed: &Feed) -> i64 {
        threshold(&self.rules, feed)
    }

    /// Records one tick journaled at `arrival_ms`; returns a change when it
    /// brings a stale feed back.
    pub fn record(&mut self, tick: &Tick, arrival_ms: i64) -> Option<Change> {
        let ts = tick.timestamp.millis();
        let Some(feed) = self.feeds.get_mut(&tick.asset) else {
            self.feeds.insert(
                tick.asset,
                Feed {
                    last_tick_ms: ts,
                    last_arrival_ms: arrival_ms,
                    usual_ms: None,
                    stale: false,
                    recovering: 0,
                    ticks: 1,
                },
            );
            return None;
        };
        feed.ticks += 1;
        if ts > feed.last_tick_ms {
            let gap = (ts - feed.last_tick_ms) as f64;
            feed.usual_ms = Some(match feed.usual_ms {
                None => gap,
                Some(mean) => {
                    let gap = gap.min(mean * MAX_GAP_STEP);
                    ALPHA.mul_add(gap, (1.0 - ALPHA) * mean)
                }
            });
            feed.last_tick_ms = ts;
        }
        let threshold = threshold(&self.rules, feed);
        let silent_ms = arrival_ms - feed.last_arrival_ms;
        let mut change = None;
        // Ticks of one batch arrive together: they count as one arrival.
        if feed.stale && arrival_ms > feed.last_arrival_ms {
            feed.recovering = if silent_ms <= threshold {
                feed.recovering + 1
            } else {
                1
            };
            if feed.recovering >= RECOVER_TICKS {
                feed.stale = false;
                feed.recovering = 0;
                change = Some(Change {
                    asset: tick.asset,
                    stale: false,
                    silent_ms,
                    threshold_ms: threshold,
                });
            }
        }
        feed.last_arrival_ms = feed.last_arrival_ms.max(arrival_ms);
        change
    }

    /// Flags the feeds silent for longer than their threshold at `now_ms`;
    /// returns those that just went stale.
    pub fn check(&mut self, now_ms: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        let thresholds: Vec<(Asset, i64)> = self
            .feeds
            .iter()
            .filter(|(_, f)| !f.stale)
            .map(|(a, f)| (*a, self.threshold(f)))
            .collect();
        for (asset, threshold) in thresholds {
            let Some(feed) = self.feeds.get_mut(&asset) else {
                continue;
            };
            let silent_ms = now_ms - feed.last_arrival_ms;
            if silent_ms > threshold {
                feed.stale = true;
                feed.recovering = 0;
                changes.push(Change {
                    asset,
                    stale: true,
                    silent_ms,
                    threshold_ms: threshold,
                });
            }
        }
        changes
    }

    /// The feeds listed one by one: at most `limit`, the stale ones first,
    /// then the busiest; and how many are left out.
    fn listed(&self, limit: usize) -> (Vec<(&Asset, &Feed)>, usize) {
        let mut feeds: Vec<(&Asset, &Feed)> = self.feeds.iter().collect();
        feeds.sort_unstable_by(|(a, x), (b, y)| {
            y.stale
                .cmp(&x.stale)
                .then(y.ticks.cmp(&x.ticks))
                .then(a.cmp(b))
        });
        let more = feeds.len().saturating_sub(limit);
        feeds.truncate(limit);
        (feeds, more)
    }

    /// At most [`LISTED_ASSETS`] feeds (the stale ones, then the busiest)
    /// as `redis_status.feeds` shows them.
    #[must_use]
    pub fn health(&self) -> BTreeMap<Asset, FeedHealth> {
        self.listed(LISTED_ASSETS)
            .0
            .into_iter()
            .map(|(asset, f)| {
                (
                    *asset,
                    FeedHealth {
                        stale: f.stale,
                        last_tick_ms: f.last_tick_ms,
                        usual_interval_ms: f.usual_ms.map(|u| u.round() as u64),
                    },
                )
            })
            .collect()
    }

    /// Per listed feed (as [`FeedBook::health`] picks them, sorted by
    /// asset): whether stale, ms since the last tick was journaled, and the
    /// usual interval (ms), for the metrics; and how many feeds are left out.
    #[must_use]
    pub fn figures(&self, now_ms: i64) -> (Vec<FeedFigures>, usize) {
        let (listed, more) = self.listed(LISTED_ASSETS);
        let mut out: Vec<FeedFigures> = listed
            .into_iter()
            .map(|(a, f)| (*a, f.stale, (now_ms - f.last_arrival_ms).max(0), f.usual_ms))
            .collect();
        out.sort_by_key(|(a, ..)| *a);
        (out, more)
    }
}

/// One feed for the metrics: asset, stale, ms silent, usual interval (ms).
pub type FeedFigures = (Asset, bool, i64, Option<f64>);

/// How long `feed` may be silent before it is stale (ms).
fn threshold(rules: &FeedRules, feed: &Feed) -> i64 {
    let floor = i64::try_from(rules.floor_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let learned = feed.usual_ms.map_or(0, |u| (u * rules.factor) as i64);
    floor.max(learned)
}

/// The book shared by the candle builder (which writes it) and the status
/// and metrics (which read it); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FeedWatch {
    book: Arc<Mutex<FeedBook>>,
}

impl FeedWatch {
    /// An empty watch.
    #[must_use]
    pub fn new(rules: FeedRules) -> Self {
        Self {
            book: Arc::new(Mutex::new(FeedBook::new(rules))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedBook> {
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a batch journaled at `arrival_ms` and logs feeds that recover.
    pub fn record(&self, ticks: &[Tick], arrival_ms: i64) {
        let mut book = self.lock();
        for tick in ticks {
            if let Some(c) = book.record(tick, arrival_ms) {
                tracing::info!(asset = %c.asset, "feed is live again");
            }
        }
    }

    /// Flags silent feeds at `now_ms` and logs those that went stale.
    pub fn check(&self, now_ms: i64) {
        for c in self.lock().check(now_ms) {
            tracing::warn!(
                asset = %c.asset,
                "feed stale: no tick for {} ms (threshold {} ms)",
                c.silent_ms,
                c.threshold_ms
            );
        }
    }

    /// The health of the feeds listed (the stale ones,
    /// then the busiest), checked at `now_ms` first.
    #[must_use]
    pub fn health(&self, now_ms: i64) -> BTreeMap<Asset, FeedHealth> {
        self.check(now_ms);
        self.lock().health()
    }

    /// The metrics figures of the same feeds, checked at `now_ms` first,
    /// and how many feeds are left out.
    #[must_use]
    pub fn figures(&self, now_ms: i64) -> (Vec<FeedFigures>, usize) {
        self.check(now_ms);
        self.lock().figures(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use shared::{Price, TimestampMs};

    use super::*;

    const T0: i64 = 1_705_314_600_000;

    fn tick(asset: &str, at: i64) -> Tick {
        Tick::new(Asset::new(asset), Price::new("1.1"), TimestampMs::new(at))
    }

    fn book(floor_secs: u64) -> FeedBook {
        FeedBook::new(FeedRules {
            factor: 5.0,
            floor_secs,
        })
    }

    /// Ticks every `gap` ms from `from`, journaled as they happen.
    fn feed_every(book: &mut FeedBook, asset: &str, from: i64, gap: i64, n: i64) -> i64 {
        for i in 0..n {
            let at = from + i * gap;
            book.record(&tick(asset, at), at);
        }
        from + (n - 1) * gap
    }

    #[test]
    fn learns_the_usual_interval() {
        let mut b = book(1);
        feed_every(&mut b, "A", T0, 200, 50);
        let h = b.health()[&Asset::new("A")];
        assert_eq!(h.usual_interval_ms, Some(200));
        assert!(!h.stale);
        assert_eq!(h.last_tick_ms, T0 + 49 * 200);
    }

    #[test]
    fn stale_after_several_intervals_but_not_before_the_floor() {
        let mut b = book(1);
        // Busy pair, 200 ms apart: threshold is the 1 s floor, not 5 x 200.
        let last = feed_every(&mut b, "A", T0, 200, 20);
        assert!(b.check(last + 1_000).is_empty());
        let went = b.check(last + 1_001);
        assert_eq!(went.len(), 1);
        assert!(went[0].stale);
        assert_eq!(went[0].threshold_ms, 1_000);
        // Reported once, not on every check.
        assert!(b.check(last + 5_000).is_empty());
        assert!(b.health()[&Asset::new("A")].stale);

        // A slow pair, 2 s apart: stale only after 5 x 2 s.
        let last = feed_every(&mut b, "B", T0, 2_000, 20);
        assert!(b.check(last + 10_000).is_empty());
        assert_eq!(b.check(last + 10_001).len(), 1);
    }

    #[test]
    fn one_stray_batch_of_two_ticks_does_not_clear_the_flag() {
        let mut b = book(1);
        let last = feed_every(&mut b, "A", T0, 100, 20);
        b.check(last + 60_000);
        let stray = last + 60_000;
        assert_eq!(b.record(&tick("A", stray), stray), None);
        assert_eq!(b.record(&tick("A", stray + 1), stray), None);
        assert!(b.health()[&Asset::new("A")].stale);
    }

    #[test]
    fn one_stray_tick_does_not_clear_the_flag_two_in_a_row_do() {
        let mut b = book(1);
        let last = feed_every(&mut b, "A", T0, 100, 20);
        b.check(last + 60_000);
        let stray = last + 60_000;
        assert_eq!(b.record(&tick("A", stray), stray), None);
        assert!(b.health()[&Asset::new("A")].stale);
        let next = stray + 150;
        let back = b.record(&tick("A", next), next).expect("recovered");
        assert!(!back.stale);
        assert!(!b.health()[&Asset::new("A")].stale);
    }

    #[test]
    fn an_illiquid_pair_learns_its_silences_and_stops_flapping() {
        let mut b = book(1);
        // Ticks 1 s apart, then a pair that goes quiet for 30 s at a time.
        let mut t = feed_every(&mut b, "X", T0, 1_000, 5);
        let mut flags = 0;
        for _ in 0..30 {
            for step in (1_000..30_000).step_by(1_000) {
                flags += b.check(t + step).len();
            }
            t += 30_000;
            b.record(&tick("X", t), t);
            b.record(&tick("X", t + 10), t + 10);
        }
        // The first silences flag; the learned interval then covers them.
        assert!(flags > 0 && flags < 10, "{flags} flags");
        let usual = b.health()[&Asset::new("X")].usual_interval_ms.unwrap();
        assert!(usual > 6_000, "usual {usual}");
    }

    #[test]
    fn a_weekend_raises_the_interval_only_boundedly() {
        let mut b = book(1);
        let last = feed_every(&mut b, "A", T0, 100, 20);
        let monday = last + 2 * 86_400_000;
        b.record(&tick("A", monday), monday);
        let usual = b.health()[&Asset::new("A")].usual_interval_ms.unwrap();
        // 0.8 x 100 + 0.2 x (10 x 100), not two days.
        assert_eq!(usual, 280);
    }

    #[test]
    fn late_or_equal_timestamps_do_not_teach_a_zero_gap() {
        let mut b = book(1);
        feed_every(&mut b, "A", T0, 500, 5);
        b.record(&tick("A", T0), T0 + 2_100);
        b.record(&tick("A", T0 + 2_000), T0 + 2_100);
        assert_eq!(b.health()[&Asset::new("A")].usual_interval_ms, Some(500));
    }

    #[test]
    fn only_the_stale_and_the_busiest_feeds_are_listed() {
        let mut b = book(1);
        let extra = 50;
        for i in 0..LISTED_ASSETS + extra {
            // Asset i gets i + 1 ticks: the busiest have the highest numbers.
            feed_every(&mut b, &format!("A{i}"), T0, 1_000, i as i64 + 1);
        }
        let health = b.health();
        assert_eq!(health.len(), LISTED_ASSETS);
        assert!(health.contains_key(&Asset::new(&format!("A{}", LISTED_ASSETS + extra - 1))));
        assert!(!health.contains_key(&Asset::new("A0")));
        let (figures, more) = b.figures(T0);
        assert_eq!((figures.len(), more), (LISTED_ASSETS, extra));

        // A stale quiet feed is listed ahead of busier live ones.
        let now = T0 + (LISTED_ASSETS + extra) as i64 * 1_000;
        b.check(now);
        for i in 1..LISTED_ASSETS + extra {
            let name = format!("A{i}");
            b.record(&tick(&name, now), now);
            b.record(&tick(&name, now + 100), now + 100);
        }
        assert!(b.health()[&Asset::new("A0")].stale);
    }
}
