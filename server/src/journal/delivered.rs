//! [`Delivered`]: own batches this process delivered to its candles before
//! they reached the stream (written to the write-ahead file while Redis was
//! away), so that the tailer does not apply them again when it reads them.
//! Entries are recognised by (origin, append number).

use std::sync::Mutex;

use shared::Tick;

use super::entry::Entry;

/// Ranges of append numbers, per origin, delivered but not yet read back.
#[derive(Debug, Default)]
pub struct Delivered {
    /// (origin, first, last), in append order; contiguous ranges merge, so
    /// an outage holds a handful of ranges however many batches it saw.
    ranges: Mutex<Vec<(u64, u64, u64)>>,
}

impl Delivered {
    /// Records that `origin`'s ticks `first..=last` were delivered.
    pub fn insert(&self, origin: u64, first: u64, last: u64) {
        let mut ranges = self.lock();
        if let Some(r) = ranges.last_mut()
            && r.0 == origin
            && r.2 + 1 == first
        {
            r.2 = last;
            return;
        }
        ranges.push((origin, first, last));
    }

    /// The ticks of `entries` not already delivered; ranges read back in
    /// full are forgotten (a process's entries come in append order).
    pub fn not_yet(&self, entries: &[(String, Entry)]) -> Vec<Tick> {
        let mut ranges = self.lock();
        if ranges.is_empty() {
            return entries
                .iter()
                .flat_map(|(_, e)| e.ticks.iter().copied())
                .collect();
        }
        let mut newest: Vec<(u64, u64)> = Vec::new();
        let mut ticks = Vec::new();
        for (_, e) in entries {
            if !ranges.iter().any(|r| r.0 == e.origin) {
                ticks.extend_from_slice(&e.ticks);
                continue;
            }
            for (i, tick) in e.ticks.iter().enumerate() {
                let oseq = e.oseq + i as u64;
                match newest.iter_mut().find(|(o, _)| *o == e.origin) {
                    Some((_, n)) => *n = (*n).max(oseq),
                    None => newest.push((e.origin, oseq)),
                }
                let seen = ranges
                    .iter()
                    .any(|&(o, a, b)| o == e.origin && (a..=b).contains(&oseq));
                if !seen {
                    ticks.push(*tick);
                }
            }
        }
        ranges.retain(|&(o, _, b)| newest.iter().all(|&(n_o, n)| n_o != o || b > n));
        ticks
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, u64, u64)>> {
        self.ranges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use shared::{Asset, Price, TimestampMs};

    use super::*;

    fn entry(origin: u64, oseq: u64, n: i64) -> (String, Entry) {
        let ticks = (0..n)
            .map(|i| {
                Tick::new(
                    Asset::new("OWN"),
                    Price::new("1"),
                    TimestampMs::new(1_705_314_600_000 + i64::try_from(oseq).unwrap_or(0) + i),
                )
            })
            .collect();
        (
            "1-0".to_owned(),
            Entry {
                ticks,
                origin,
                oseq,
                simulated: false,
            },
        )
    }

    #[test]
    fn own_delivered_ticks_are_skipped_once_and_others_pass() {
        let d = Delivered::default();
        d.insert(7, 1, 3);
        d.insert(7, 4, 5);
        assert_eq!(d.lock().len(), 1, "contiguous ranges merge");
        let read = [
            entry(7, 1, 3),
            entry(9, 1, 2),
            entry(7, 4, 2),
            entry(7, 6, 1),
        ];
        assert_eq!(d.not_yet(&read).len(), 2 + 1);
        assert!(d.lock().is_empty(), "read back in full, forgotten");
        assert_eq!(d.not_yet(&[entry(7, 1, 3)]).len(), 3);
    }
}
