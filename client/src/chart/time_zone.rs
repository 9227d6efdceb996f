//! Times on the chart in a chosen time zone, UTC by default: formatters for
//! the crosshair label and the time axis, built on the browser's `Intl`.

use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// The zone the page opens in.
pub const UTC: &str = "UTC";

/// Zones offered besides UTC and the browser's own.
pub const MARKET_ZONES: [&str; 8] = [
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "Asia/Tokyo",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Australia/Sydney",
];

/// The browser's own zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`).
#[must_use]
pub fn browser_zone() -> Option<String> {
    let format = construct("en-GB", &[]).ok()?;
    let resolved = Reflect::get(&format, &"resolvedOptions".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?
        .call0(&format)
        .ok()?;
    Reflect::get(&resolved, &"timeZone".into())
        .ok()?
        .as_string()
}

/// The zones to offer: UTC, the browser's, then [`MARKET_ZONES`], each once.
#[must_use]
pub fn offered_zones() -> Vec<String> {
    let mut zones = vec![UTC.to_owned()];
    if let Some(own) = browser_zone() {
        zones.push(own);
    }
    zones.extend(MARKET_ZONES.iter().map(|z| (*z).to_owned()));
    let mut seen = std::collections::HashSet::new();
    zones.retain(|z| seen.insert(z.clone()));
    zones
}

/// Formatters for one zone.
#[derive(Debug, Clone)]
pub struct TimeFormat {
    zone: String,
    full: Function,
    minutes: Function,
    seconds: Function,
    day: Function,
    month: Function,
    year: Function,
}

impl TimeFormat {
    /// Formatters for `zone`, an IANA name such as `Europe/Berlin` or `UTC`.
    ///
    /// # Errors
    ///
    /// The browser's `RangeError` for a zone it does not know.
    pub fn new(zone: &str) -> Result<Self, JsValue> {
        let with_zone = |locale: &str, fields: &[(&str, &str)]| -> Result<Function, JsValue> {
            let mut all = fields.to_vec();
            all.push(("timeZone", zone));
            let format = construct(locale, &all)?;
            Reflect::get(&format, &"format".into())?.dyn_into::<Function>()
        };
        // Swedish dates read as ISO 8601: 2026-11-26 09:30.
        let clock = [
            ("hour", "2-digit"),
            ("minute", "2-digit"),
            ("hourCycle", "h23"),
        ];
        let mut full = vec![
            ("year", "numeric"),
            ("month", "2-digit"),
            ("day", "2-digit"),
        ];
        full.extend(clock);
        let mut seconds = clock.to_vec();
        seconds.push(("second", "2-digit"));
        Ok(Self {
            zone: zone.to_owned(),
            full: with_zone("sv-SE", &full)?,
            minutes: with_zone("sv-SE", &clock)?,
            seconds: with_zone("sv-SE", &seconds)?,
            day: with_zone("en-GB", &[("day", "numeric"), ("month", "short")])?,
            month: with_zone("en-GB", &[("month", "short")])?,
            year: with_zone("en-GB", &[("year", "numeric")])?,
        })
    }

    /// The zone's name.
    #[must_use]
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// Date and time to the minute, for the crosshair and the legend.
    #[must_use]
    pub fn date_time(&self, unix_seconds: f64) -> String {
        call(&self.full, unix_seconds)
    }

    /// An axis label; `kind` is lightweight-charts' `TickMarkType`
    /// (0 year, 1 month, 2 day of month, 3 time, 4 time with seconds).
    #[must_use]
    pub fn tick_mark(&self, unix_seconds: f64, kind: u32) -> String {
        let f = match kind {
            0 => &self.year,
            1 => &self.month,
            2 => &self.day,
            4 => &self.seconds,
            _ => &self.minutes,
        };
        call(f, unix_seconds)
    }
}

/// `new Intl.DateTimeFormat(locale, options)`, with a thrown error returned.
fn construct(locale: &str, fields: &[(&str, &str)]) -> Result<JsValue, JsValue> {
    let intl = Reflect::get(&js_sys::global(), &"Intl".into())?;
    let class = Reflect::get(&intl, &"DateTimeFormat".into())?.dyn_into::<Function>()?;
    let options = Object::new();
    for (k, v) in fields {
        Reflect::set(&options, &(*k).into(), &(*v).into())?;
    }
    let args = Array::of2(&locale.into(), &options);
    Reflect::construct(&class, &args)
}

fn call(format: &Function, unix_seconds: f64) -> String {
    let date = Date::new(&JsValue::from_f64(unix_seconds * 1000.0));
    format
        .call1(&JsValue::NULL, &date)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    /// 2025-11-26T00:00:00Z.
    const MIDNIGHT: f64 = 1_764_115_200.0;

    #[wasm_bindgen_test]
    fn formats_in_utc_and_in_other_zones() {
        let utc = TimeFormat::new(UTC).unwrap();
        assert_eq!(utc.date_time(MIDNIGHT + 90.0 * 60.0), "2025-11-26 01:30");
        assert_eq!(utc.tick_mark(MIDNIGHT + 90.0 * 60.0, 3), "01:30");
        assert_eq!(utc.tick_mark(MIDNIGHT + 5.0, 4), "00:00:05");
        assert_eq!(utc.tick_mark(MIDNIGHT, 2), "26 Nov");
        assert_eq!(utc.tick_mark(MIDNIGHT, 1), "Nov");
        assert_eq!(utc.tick_mark(MIDNIGHT, 0), "2025");
        let tokyo = TimeFormat::new("Asia/Tokyo").unwrap();
        assert_eq!(tokyo.date_time(MIDNIGHT), "2025-11-26 09:00");
        let new_york = TimeFormat::new("America/New_York").unwrap();
        assert_eq!(new_york.date_time(MIDNIGHT), "2025-11-25 19:00");
    }

    #[wasm_bindgen_test]
    fn an_unknown_zone_is_an_error_not_a_crash() {
        assert!(TimeFormat::new("Mars/Olympus_Mons").is_err());
    }

    #[wasm_bindgen_test]
    fn offers_utc_first_and_each_zone_once() {
        let zones = offered_zones();
        assert_eq!(zones[0], UTC);
        let mut unique = zones.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), zones.len());
        assert!(zones.iter().any(|z| z == "Asia/Tokyo"));
    }
}
