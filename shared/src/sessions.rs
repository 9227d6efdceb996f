//! [`Sessions`]: where daily and weekly candles open. By default a day is a
//! UTC day and a week opens on Monday 00:00 UTC, as [`Timeframe`] computes
//! them; with `DAY_START` elsewhere (say 17:00 America/New_York) the server
//! lists every session's open instant once (see `DayStart` with the `zones`
//! feature) and daily and weekly buckets are looked up in that list, so a
//! session is 23 or 25 hours long across a daylight-saving change. Every
//! other timeframe is aligned to the Unix epoch whatever `DAY_START` is.
//!
//! Pure: the list is data, so the aggregator stays free of time zones.

use std::sync::Arc;

use crate::Timeframe;

/// Session open instants.
#[derive(Debug, PartialEq, Eq)]
struct Table {
    /// Open instants of every daily session, Unix seconds, ascending.
    days: Vec<i64>,
    /// Open instants of the sessions that open a week, ascending.
    weeks: Vec<i64>,
}

/// The daily sessions candles are aligned to; cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sessions {
    /// `None`: UTC days, weeks from Monday.
    table: Option<Arc<Table>>,
}

impl Sessions {
    /// UTC days, weeks from Monday 00:00 UTC.
    #[must_use]
    pub fn utc() -> Self {
        Self::default()
    }

    /// Sessions opening at `days` (Unix seconds, ascending), weeks at the
    /// ones of them in `weeks`. Instants outside the list fall back to UTC
    /// days.
    #[must_use]
    pub fn listed(days: Vec<i64>, weeks: Vec<i64>) -> Self {
        Self {
            table: Some(Arc::new(Table { days, weeks })),
        }
    }

    /// Whether days are UTC days.
    #[must_use]
    pub const fn is_utc(&self) -> bool {
        self.table.is_none()
    }

    /// The widest timeframe whose candles tile every session: `1D` for UTC
    /// days, `15M` when every session opens on a quarter hour, else `1M`.
    #[must_use]
    pub fn base(&self) -> Timeframe {
        match self.table.as_deref() {
            None => Timeframe::D1,
            Some(t) if t.days.iter().all(|open| open.rem_euclid(900) == 0) => Timeframe::M15,
            Some(_) => Timeframe::M1,
        }
    }

    /// The list that aligns `timeframe`, if it is a day or a week.
    fn list(&self, timeframe: Timeframe) -> Option<&[i64]> {
        let table = self.table.as_deref()?;
        match timeframe {
            Timeframe::D1 => Some(&table.days),
            Timeframe::W1 => Some(&table.weeks),
            _ => None,
        }
    }

    /// The open time (Unix seconds) of the `timeframe` bucket holding
    /// `seconds`.
    #[must_use]
    pub fn bucket_start(&self, timeframe: Timeframe, seconds: i64) -> i64 {
        match self.list(timeframe) {
            Some(list) => match list.partition_point(|open| *open <= seconds) {
                0 => timeframe.bucket_start(seconds),
                i if i == list.len() => timeframe.bucket_start(seconds),
                i => list[i - 1],
            },
            None => timeframe.bucket_start(seconds),
        }
    }

    /// The open time (Unix seconds) of the bucket holding `millis`.
    #[must_use]
    pub fn bucket_of_millis(&self, timeframe: Timeframe, millis: i64) -> i64 {
        self.bucket_start(timeframe, millis.div_euclid(1000))
    }

    /// The end (exclusive, Unix seconds) of the bucket opening at `open`.
    #[must_use]
    pub fn bucket_end(&self, timeframe: Timeframe, open: i64) -> i64 {
        match self.list(timeframe) {
            Some(list) => match list.binary_search(&open) {
                Ok(i) if i + 1 < list.len() => list[i + 1],
                _ => open + timeframe.seconds(),
            },
            None => open + timeframe.seconds(),
        }
    }

    /// Whether `open` (Unix seconds) is where a `timeframe` bucket opens.
    #[must_use]
    pub fn is_aligned(&self, timeframe: Timeframe, open: i64) -> bool {
        self.bucket_start(timeframe, open) == open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_sessions_are_the_timeframes_own_buckets() {
        let s = Sessions::utc();
        for tf in Timeframe::ALL.into_iter().chain([Timeframe::W1]) {
            let t = 1_705_315_062;
            assert_eq!(s.bucket_start(tf, t), tf.bucket_start(t));
            let open = tf.bucket_start(t);
            assert_eq!(s.bucket_end(tf, open), open + tf.seconds());
        }
    }

    #[test]
    fn listed_sessions_bound_days_and_weeks() {
        // Made-up opens 23 and 25 hours apart.
        let days = vec![0, 82_800, 82_800 + 90_000, 82_800 + 180_000];
        let s = Sessions::listed(days, vec![82_800, 82_800 + 7 * 86_400]);
        assert_eq!(s.bucket_start(Timeframe::D1, 82_799), 0);
        assert_eq!(s.bucket_start(Timeframe::D1, 82_800), 82_800);
        assert_eq!(s.bucket_end(Timeframe::D1, 0), 82_800);
        assert_eq!(s.bucket_end(Timeframe::D1, 82_800), 172_800);
        assert_eq!(s.bucket_start(Timeframe::W1, 200_000), 82_800);
        assert!(s.is_aligned(Timeframe::D1, 172_800) && !s.is_aligned(Timeframe::D1, 86_400));
        assert_eq!(s.base(), Timeframe::M15);
        assert_eq!(Sessions::listed(vec![60], vec![]).base(), Timeframe::M1);
        assert_eq!(Sessions::utc().base(), Timeframe::D1);
        // Other timeframes keep the epoch.
        assert_eq!(s.bucket_start(Timeframe::H1, 82_801), 82_800);
        assert_eq!(s.bucket_start(Timeframe::H4, 82_801), 72_000);
    }
}
