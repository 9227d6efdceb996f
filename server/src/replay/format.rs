//! Tick files: the plain CSV `asset,price,timestamp_ms` (a header line is
//! allowed) and HistData.com's ASCII tick CSV
//! `YYYYMMDD HHMMSSmmm,bid,ask,volume` (times in EST without daylight saving,
//! UTC-5; the bid is the price; the asset comes from `--asset` or the file
//! name, as in `DAT_ASCII_EURUSD_T_202401.csv`).

use shared::{Asset, Price, Tick, TimestampMs};

/// Why a line is not a tick.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Which layout a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `asset,price,timestamp_ms`.
    Plain,
    /// HistData ASCII ticks, for one asset.
    HistData(Asset),
}

/// HistData's fixed offset: EST, UTC-5, all year.
const HISTDATA_OFFSET_MS: i64 = 5 * 3_600_000;

/// Guesses the layout from the first data line; HistData needs an asset.
///
/// # Errors
///
/// When a HistData file has no asset in `--asset` or its name.
pub fn detect(first_line: &str, asset: Option<Asset>, file_name: &str) -> Result<Layout, String> {
    let first = first_line.split(',').next().unwrap_or_default();
    let looks_histdata = first.len() == 18 && first.as_bytes().get(8) == Some(&b' ');
    if !looks_histdata {
        return Ok(Layout::Plain);
    }
    let asset = asset
        .or_else(|| asset_from_name(file_name))
        .ok_or_else(|| {
            "a HistData file names no asset: pass --asset (e.g. --asset EURUSD)".to_owned()
        })?;
    Ok(Layout::HistData(asset))
}

/// `DAT_ASCII_EURUSD_T_202401.csv` → `EURUSD`.
fn asset_from_name(name: &str) -> Option<Asset> {
    let stem = name.rsplit('/').next()?;
    let mut parts = stem.split('_');
    (parts.next()? == "DAT" && parts.next()? == "ASCII")
        .then(|| parts.next())
        .flatten()
        .and_then(|a| Asset::new_checked(a).ok())
}

/// Parses one line; `Ok(None)` for blank lines and a plain header.
///
/// # Errors
///
/// [`LineError`] saying what is wrong.
pub fn parse_line(layout: Layout, line_no: usize, line: &str) -> Result<Option<Tick>, LineError> {
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return Ok(None);
    }
    let err = |reason: String| LineError {
        line: line_no,
        reason,
    };
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    match layout {
        Layout::Plain => {
            if line_no == 1 && fields.first() == Some(&"asset") {
                return Ok(None);
            }
            let [asset, price, ts] = fields[..] else {
                return Err(err(format!(
                    "expected asset,price,timestamp_ms; got {} fields",
                    fields.len()
                )));
            };
            let asset = Asset::new_checked(asset).map_err(|e| err(e.to_string()))?;
            let price = Price::new_checked(price).map_err(|e| err(e.to_string()))?;
            let ts = ts
                .parse::<i64>()
                .map_err(|_| err(format!("timestamp {ts:?} is not whole milliseconds")))?;
            let ts = TimestampMs::new_checked(ts).map_err(|e| err(e.to_string()))?;
            Ok(Some(Tick::new(asset, price, ts)))
        }
        Layout::HistData(asset) => {
            let [when, bid, ..] = fields[..] else {
                return Err(err(
                    "expected `YYYYMMDD HHMMSSmmm,bid,ask,volume`".to_owned()
                ));
            };
            let millis = histdata_time(when)
                .ok_or_else(|| err(format!("time {when:?} is not YYYYMMDD HHMMSSmmm")))?;
            let ts = TimestampMs::new_checked(millis).map_err(|e| err(e.to_string()))?;
            let price = Price::new_checked(bid).map_err(|e| err(e.to_string()))?;
            Ok(Some(Tick::new(asset, price, ts)))
        }
    }
}

/// `20240115 103000123` in EST → Unix milliseconds.
fn histdata_time(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(' ')?;
    if date.len() != 8
        || time.len() != 9
        || !date.bytes().chain(time.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n = |s: &str| s.parse::<i64>().ok();
    let (y, m, d) = (n(&date[..4])?, n(&date[4..6])?, n(&date[6..])?);
    let (hh, mm, ss, ms) = (
        n(&time[..2])?,
        n(&time[2..4])?,
        n(&time[4..6])?,
        n(&time[6..])?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = shared::days_from_civil(y, m, d);
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000 + ms) + HISTDATA_OFFSET_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_plain_layout_exactly() {
        let t = parse_line(Layout::Plain, 2, "EURUSD_otc,1.0823,1705314600000")
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.asset.as_str(), t.price.to_string(), t.timestamp.millis()),
            ("EURUSD_otc", "1.0823".into(), 1_705_314_600_000)
        );
        assert!(
            parse_line(Layout::Plain, 1, "asset,price,timestamp_ms")
                .unwrap()
                .is_none()
        );
        assert!(parse_line(Layout::Plain, 3, "").unwrap().is_none());
    }

    #[test]
    fn reads_histdata_in_est() {
        let layout = detect(
            "20240115 103000123,1.08230,1.08240,0",
            None,
            "data/DAT_ASCII_EURUSD_T_202401.csv",
        )
        .unwrap();
        assert_eq!(layout, Layout::HistData(Asset::new("EURUSD")));
        let t = parse_line(layout, 1, "20240115 103000123,1.08230,1.08240,0")
            .unwrap()
            .unwrap();
        // 10:30:00.123 EST is 15:30:00.123 UTC.
        assert_eq!(t.timestamp.millis(), 1_705_332_600_123);
        assert_eq!(t.price.to_string(), "1.0823");
        assert!(detect("20240115 103000123,1.0,1.0,0", None, "ticks.csv").is_err());
    }

    #[test]
    fn bad_lines_say_where_and_why() {
        let e = parse_line(Layout::Plain, 7, "EURUSD,abc,1705314600000")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 7:") && e.contains("not a decimal"),
            "{e}"
        );
        let e = parse_line(Layout::Plain, 8, "EURUSD,1.1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("got 2 fields"), "{e}");
        let e = parse_line(Layout::Plain, 9, "EURUSD,1.1,1705314600")
            .unwrap_err()
            .to_string();
        assert!(e.contains("milliseconds"), "{e}");
        let e = parse_line(
            Layout::HistData(Asset::new("X")),
            2,
            "20241315 103000123,1,1,0",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("YYYYMMDD"), "{e}");
    }
}
