//! Chart times in a zone. lightweight-charts places its axis marks on UTC
//! hour and day boundaries, so the chart is handed each point's time plus
//! that instant's own offset from UTC in the zone (the local wall-clock
//! time written as if it were UTC), and times it reports are shifted back.
//! Each point's offset is its own, so the bars of a daylight-saving day land
//! right; the hour repeated when clocks go back is squeezed (one second a
//! point) to keep the times strictly ascending, as the library needs. This
//! is the one place the shift is made: [`ZoneTimes`].

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, Date, Function, Object, Reflect};
use shared::days_from_civil;
use wasm_bindgen::{JsCast, JsValue};

use super::bindings::ISeriesApi;
use super::time_zone::UTC;

/// Offsets remembered at most before the memo starts over.
const MEMO: usize = 8192;
/// Every zone change happens on a quarter hour: one offset per quarter.
const QUARTER: i64 = 900;

/// A zone's offset from UTC at any instant, from the browser's `Intl`.
pub struct ZoneClock {
    zone: String,
    /// `formatToParts` of a `DateTimeFormat` in the zone; `None` for UTC.
    parts: Option<(JsValue, Function)>,
    /// Offsets by quarter hour.
    memo: RefCell<HashMap<i64, i64>>,
}

impl ZoneClock {
    /// The clock of `zone`, an IANA name.
    ///
    /// # Errors
    ///
    /// The browser's `RangeError` for a zone it does not know.
    pub fn new(zone: &str) -> Result<Self, JsValue> {
        let parts = if zone == UTC {
            None
        } else {
            let intl = Reflect::get(&js_sys::global(), &"Intl".into())?;
            let class = Reflect::get(&intl, &"DateTimeFormat".into())?.dyn_into::<Function>()?;
            let options = Object::new();
            for (k, v) in [
                ("timeZone", zone),
                ("hourCycle", "h23"),
                ("year", "numeric"),
                ("month", "numeric"),
                ("day", "numeric"),
                ("hour", "numeric"),
                ("minute", "numeric"),
                ("second", "numeric"),
            ] {
                Reflect::set(&options, &k.into(), &v.into())?;
            }
            let format = Reflect::construct(&class, &Array::of2(&"en-US".into(), &options))?;
            let to_parts =
                Reflect::get(&format, &"formatToParts".into())?.dyn_into::<Function>()?;
            Some((format, to_parts))
        };
        Ok(Self {
            zone: zone.to_owned(),
            parts,
            memo: RefCell::new(HashMap::new()),
        })
    }

    /// The zone's name.
    #[must_use]
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// Seconds to add to the UTC instant `t` (Unix seconds) to get the
    /// zone's wall-clock time at `t`.
    #[must_use]
    pub fn offset(&self, t: i64) -> i64 {
        let Some((format, to_parts)) = &self.parts else {
            return 0;
        };
        let key = t.div_euclid(QUARTER);
        if let Some(o) = self.memo.borrow().get(&key) {
            return *o;
        }
        let at = key * QUARTER;
        #[allow(clippy::cast_precision_loss)]
        let date = Date::new(&JsValue::from_f64(at as f64 * 1000.0));
        let offset = to_parts
            .call1(format, &date)
            .ok()
            .and_then(|parts| wall_clock(&parts.unchecked_into()))
            .map_or(0, |local| local - at);
        let mut memo = self.memo.borrow_mut();
        if memo.len() >= MEMO {
            memo.clear();
        }
        memo.insert(key, offset);
        offset
    }
}

/// The wall-clock time in `parts` (`formatToParts`), as Unix seconds.
fn wall_clock(parts: &Array) -> Option<i64> {
    let mut fields = [0i64; 6];
    for part in parts.iter() {
        let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
        let slot = match kind.as_str() {
            "year" => 0,
            "month" => 1,
            "day" => 2,
            "hour" => 3,
            "minute" => 4,
            "second" => 5,
            _ => continue,
        };
        let value = Reflect::get(&part, &"value".into()).ok()?.as_string()?;
        fields[slot] = value.parse().ok()?;
    }
    let [y, m, d, hh, mm, ss] = fields;
    Some(days_from_civil(y, m, d) * 86_400 + (hh % 24) * 3600 + mm * 60 + ss)
}

/// The times a chart was handed: each real time (Unix seconds, ascending)
/// and the shifted time shown for it.
pub struct ZoneTimes {
    clock: ZoneClock,
    real: Vec<i64>,
    shown: Vec<i64>,
}

impl ZoneTimes {
    /// No times yet, shifted into `clock`'s zone.
    #[must_use]
    pub const fn new(clock: ZoneClock) -> Self {
        Self {
            clock,
            real: Vec::new(),
            shown: Vec::new(),
        }
    }

    /// The zone's clock.
    #[must_use]
    pub const fn clock(&self) -> &ZoneClock {
        &self.clock
    }

    /// Shifts into another zone: the times held are shifted again; the
    /// pairs `(old shown, new shown)` say how each moved.
    pub fn set_clock(&mut self, clock: ZoneClock) -> Vec<(i64, i64)> {
        self.clock = clock;
        let old = std::mem::take(&mut self.shown);
        let real = std::mem::take(&mut self.real);
        let new = self.shift_all(&real).to_vec();
        old.into_iter().zip(new).collect()
    }

    /// Takes `real` (ascending) as all the times, and gives their shifted
    /// times, strictly ascending.
    pub fn shift_all(&mut self, real: &[i64]) -> &[i64] {
        self.real.clear();
        self.shown.clear();
        for t in real {
            self.push(*t);
        }
        &self.shown
    }

    /// The shifted time of `real`: the one it was given when held, else
    /// a newer time is added (ascending after the newest).
    pub fn shift(&mut self, real: i64) -> i64 {
        match self.real.binary_search(&real) {
            Ok(i) => self.shown[i],
            Err(_) => self.push(real),
        }
    }

    /// The shifted time of `real` without adding it: the one it was given
    /// when held, else its time in the zone.
    #[must_use]
    pub fn shown(&self, real: i64) -> i64 {
        match self.real.binary_search(&real) {
            Ok(i) => self.shown[i],
            Err(_) => real + self.clock.offset(real),
        }
    }

    /// The real time of the shown time `shown`: exact for a time held, else
    /// by the offset at about that time.
    #[must_use]
    pub fn unshift(&self, shown: i64) -> i64 {
        match self.shown.binary_search(&shown) {
            Ok(i) => self.real[i],
            Err(_) => {
                let guess = shown - self.clock.offset(shown);
                shown - self.clock.offset(guess)
            }
        }
    }

    fn push(&mut self, real: i64) -> i64 {
        let local = real + self.clock.offset(real);
        let shown = match self.shown.last() {
            Some(last) if local <= *last => last + 1,
            _ => local,
        };
        self.real.push(real);
        self.shown.push(shown);
        shown
    }
}

/// Moves the points of `series` to their times in a new zone: `moved`
/// holds `(old shown, new shown)` pairs, ascending, as
/// [`ZoneTimes::set_clock`] gives them.
pub fn retime(series: &ISeriesApi, moved: &[(i64, i64)]) {
    let points = series.data();
    let copies = Array::new();
    for point in points.iter() {
        let copy = Object::assign(&Object::new(), &point.unchecked_into::<Object>());
        #[allow(clippy::cast_possible_truncation)]
        let old = Reflect::get(&copy, &"time".into())
            .ok()
            .and_then(|t| t.as_f64())
            .map(|t| t as i64);
        if let Some(Ok(i)) = old.map(|o| moved.binary_search_by_key(&o, |(from, _)| *from)) {
            #[allow(clippy::cast_precision_loss)]
            let _ = Reflect::set(&copy, &"time".into(), &(moved[i].1 as f64).into());
        }
        copies.push(&copy);
    }
    series.set_data(&copies);
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    /// 2026-03-08T07:00:00Z: 03:00 EDT, the first instant after New York's
    /// clocks went forward.
    const SPRING: i64 = 1_772_953_200;
    /// 2026-11-01T06:00:00Z: 01:00 EST, the first instant after New York's
    /// clocks went back.
    const FALL: i64 = 1_793_512_800;

    #[wasm_bindgen_test]
    fn offsets_follow_new_york_daylight_saving() {
        let ny = ZoneClock::new("America/New_York").unwrap();
        assert_eq!(ny.offset(SPRING - 1), -5 * 3600);
        assert_eq!(ny.offset(SPRING), -4 * 3600);
        assert_eq!(ny.offset(FALL - 1), -4 * 3600);
        assert_eq!(ny.offset(FALL), -5 * 3600);
        assert_eq!(ZoneClock::new("UTC").unwrap().offset(FALL), 0);
        assert_eq!(
            ZoneClock::new("Asia/Kolkata").unwrap().offset(FALL),
            5 * 3600 + 1800
        );
        assert!(ZoneClock::new("Mars/Olympus_Mons").is_err());
    }

    #[wasm_bindgen_test]
    fn civil_days_count_from_the_epoch() {
        assert_eq!(days_from_civil(2026, 3, 8) * 86_400, SPRING - 7 * 3600);
    }

    #[wasm_bindgen_test]
    fn hours_across_the_spring_change_show_local_wall_clock() {
        let mut times = ZoneTimes::new(ZoneClock::new("America/New_York").unwrap());
        // 04:00Z to 09:00Z: 23:00, 00:00, 01:00 EST, then 03:00, 04:00 EDT...
        let real: Vec<i64> = (-3..=2).map(|h| SPRING + h * 3600).collect();
        let shown = times.shift_all(&real).to_vec();
        let hours: Vec<i64> = shown.iter().map(|s| s.rem_euclid(86_400) / 3600).collect();
        assert_eq!(hours, [23, 0, 1, 3, 4, 5]);
        // Local midnight of 8 March is a UTC midnight in shifted time.
        assert_eq!(shown[1].rem_euclid(86_400), 0);
        for (r, s) in real.iter().zip(&shown) {
            assert_eq!(times.unshift(*s), *r);
        }
    }

    #[wasm_bindgen_test]
    fn the_repeated_fall_hour_stays_ascending_and_reads_back() {
        let mut times = ZoneTimes::new(ZoneClock::new("America/New_York").unwrap());
        // Quarter hours from 04:00Z to 07:45Z: 00:00 to 01:45 EDT, then
        // 01:00 to 02:45 EST.
        let real: Vec<i64> = (0..16).map(|q| FALL - 2 * 3600 + q * 900).collect();
        let shown = times.shift_all(&real).to_vec();
        assert!(shown.windows(2).all(|w| w[0] < w[1]), "{shown:?}");
        assert_eq!(shown[0].rem_euclid(86_400), 0, "local midnight");
        assert_eq!(shown[15].rem_euclid(86_400), 2 * 3600 + 45 * 60);
        for (r, s) in real.iter().zip(&shown) {
            assert_eq!(times.unshift(*s), *r);
        }
        // A newer time is added; a held one keeps its shifted time.
        assert_eq!(times.shift(real[3]), shown[3]);
        assert_eq!(times.shift(FALL + 3 * 3600).rem_euclid(86_400), 4 * 3600);
    }

    #[wasm_bindgen_test]
    fn changing_zone_moves_every_time_held() {
        let mut times = ZoneTimes::new(ZoneClock::new("UTC").unwrap());
        times.shift_all(&[FALL, FALL + 3600]);
        let moved = times.set_clock(ZoneClock::new("Asia/Tokyo").unwrap());
        assert_eq!(
            moved,
            [(FALL, FALL + 9 * 3600), (FALL + 3600, FALL + 10 * 3600)]
        );
        assert_eq!(times.clock().zone(), "Asia/Tokyo");
    }

    #[wasm_bindgen_test]
    fn a_study_time_is_shown_as_its_candles_without_being_added() {
        let mut times = ZoneTimes::new(ZoneClock::new("America/New_York").unwrap());
        // 01:00 EDT, then 01:00 EST: the second is shown a second later.
        let shown = times.shift_all(&[FALL - 3600, FALL]).to_vec();
        assert_eq!(times.shown(FALL - 3600), shown[0]);
        assert_eq!(times.shown(FALL), shown[1]);
        assert_eq!(shown[1], shown[0] + 1);
        // A time no candle holds: its wall-clock time, and nothing added.
        assert_eq!(times.shown(FALL + 3600), FALL + 3600 - 5 * 3600);
        assert_eq!(times.shift(FALL + 7200), FALL + 7200 - 5 * 3600);
        assert_eq!(times.unshift(FALL + 7200 - 5 * 3600), FALL + 7200);
    }
}
