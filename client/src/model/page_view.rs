//! [`PageView`]: what the page shows (layout, zone, and each chart's asset,
//! timeframe and studies), read from and written to the address's query.
//!
//! One chart: `?asset=EURUSD_otc&timeframe=5M&tz=America/New_York&indicators=sma:20,rsi:14`.
//! Two or four: `?layout=2&tz=UTC&c0=EURUSD_otc,5M,sma:20,rsi:14&c1=BTCUSD,1H`,
//! each `cN` being the chart's asset, timeframe, then its studies. A value
//! that is missing, unknown or too long falls back to its default, alone.

use std::fmt::Write as _;

use shared::indicators::Study;
use shared::{Asset, Timeframe};

/// The asset a chart opens with when the address names none.
pub const DEFAULT_ASSET: &str = "EURUSD_otc";
/// The zone the page opens in when the address names none.
pub const DEFAULT_ZONE: &str = "UTC";
/// The chart counts a layout may have.
pub const LAYOUTS: [usize; 3] = [1, 2, 4];
/// The longest query read; the rest is ignored.
pub const MAX_QUERY: usize = 2048;
/// The longest value read for one parameter; a longer one is junk.
pub const MAX_VALUE: usize = 256;
/// The longest zone name taken.
pub const MAX_ZONE: usize = 64;
/// Studies a chart may hold.
pub const MAX_STUDIES: usize = 8;

/// One chart's series and studies.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartView {
    /// The asset shown.
    pub asset: Asset,
    /// The timeframe shown.
    pub timeframe: Timeframe,
    /// The studies drawn over it, in the order given.
    pub studies: Vec<Study>,
}

impl Default for ChartView {
    /// [`DEFAULT_ASSET`] at one minute, without studies.
    fn default() -> Self {
        Self {
            asset: Asset::new(DEFAULT_ASSET),
            timeframe: Timeframe::M1,
            studies: Vec::new(),
        }
    }
}

/// The whole page's view.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    /// The zone times are shown in (an IANA name).
    pub zone: String,
    /// The charts, 1, 2 or 4 of them.
    pub charts: Vec<ChartView>,
}

impl Default for PageView {
    /// One default chart in UTC.
    fn default() -> Self {
        Self {
            zone: DEFAULT_ZONE.to_owned(),
            charts: vec![ChartView::default()],
        }
    }
}

impl PageView {
    /// The view `query` (with or without its `?`) asks for; `zone_ok` says
    /// whether the browser knows a zone.
    #[must_use]
    pub fn from_query(query: &str, zone_ok: impl Fn(&str) -> bool) -> Self {
        let query = query.strip_prefix('?').unwrap_or(query);
        let query = truncate(query, MAX_QUERY);
        let params: Vec<(String, String)> = query
            .split('&')
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (v.len() <= MAX_VALUE * 3).then(|| (decode(k), decode(v)))
            })
            .filter(|(_, v)| v.len() <= MAX_VALUE)
            .collect();
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let zone = get("tz")
            .filter(|z| !z.is_empty() && z.len() <= MAX_ZONE && zone_ok(z))
            .unwrap_or(DEFAULT_ZONE)
            .to_owned();
        let layout = get("layout")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|n| LAYOUTS.contains(n))
            .unwrap_or(1);
        let charts = if layout == 1 && get("c0").is_none() {
            let mut chart = ChartView::default();
            chart.set_asset(get("asset"));
            chart.set_timeframe(get("timeframe"));
            chart.studies = studies(get("indicators").unwrap_or("").split(','));
            vec![chart]
        } else {
            (0..layout)
                .map(|i| ChartView::from_field(get(&format!("c{i}")).unwrap_or("")))
                .collect()
        };
        Self { zone, charts }
    }

    /// The query for this view, with its `?`: the one-chart form for one
    /// chart, `layout` and `cN` otherwise.
    #[must_use]
    pub fn to_query(&self) -> String {
        let mut q = String::from("?");
        if let [chart] = self.charts.as_slice() {
            let _ = write!(
                q,
                "asset={}&timeframe={}&tz={}",
                chart.asset,
                chart.timeframe,
                encode(&self.zone)
            );
            if !chart.studies.is_empty() {
                let _ = write!(q, "&indicators={}", joined(&chart.studies));
            }
        } else {
            let _ = write!(q, "layout={}&tz={}", self.charts.len(), encode(&self.zone));
            for (i, chart) in self.charts.iter().enumerate() {
                let _ = write!(q, "&c{i}={},{}", chart.asset, chart.timeframe);
                if !chart.studies.is_empty() {
                    let _ = write!(q, ",{}", joined(&chart.studies));
                }
            }
        }
        q
    }
}

impl ChartView {
    /// A chart from `asset,timeframe,study,...`, each part defaulted alone.
    fn from_field(field: &str) -> Self {
        let mut parts = field.split(',');
        let mut chart = Self::default();
        chart.set_asset(parts.next());
        chart.set_timeframe(parts.next());
        chart.studies = studies(parts);
        chart
    }

    fn set_asset(&mut self, text: Option<&str>) {
        if let Some(asset) = text.and_then(|t| Asset::new_checked(t).ok()) {
            self.asset = asset;
        }
    }

    fn set_timeframe(&mut self, text: Option<&str>) {
        if let Some(tf) = text.and_then(|t| t.parse::<Timeframe>().ok()) {
            self.timeframe = tf;
        }
    }
}

/// The valid studies among `texts`, each once, at most [`MAX_STUDIES`].
fn studies<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<Study> {
    let mut out: Vec<Study> = Vec::new();
    for study in texts.filter_map(|t| t.trim().parse::<Study>().ok()) {
        if out.len() < MAX_STUDIES && !out.contains(&study) {
            out.push(study);
        }
    }
    out
}

fn joined(studies: &[Study]) -> String {
    studies
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Percent-encodes all but unreserved characters and `/`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes `%XX` and `+` (a space); bad escapes stay as they are.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
