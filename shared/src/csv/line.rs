//! One line of a CSV file: its fields, whether it is a header, and its
//! fields read as a tick or as a candle row. Errors are the reason only; the
//! reader adds the line number.

use crate::{Asset, CandleError, Price, TimestampMs, time::iso8601};

/// The most fields a line of either layout has.
pub const MAX_FIELDS: usize = 6;

/// The fields of a line: the first [`MAX_FIELDS`], and how many there were.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    first: [&'a str; MAX_FIELDS],
    count: usize,
}

impl<'a> Fields<'a> {
    /// Splits `line` at commas; each field trimmed and unquoted.
    #[must_use]
    pub fn split(line: &'a str) -> Self {
        let mut first = [""; MAX_FIELDS];
        let mut count = 0;
        for field in line.split(',') {
            if let Some(slot) = first.get_mut(count) {
                *slot = unquote(field.trim());
            }
            count += 1;
        }
        Self { first, count }
    }

    /// How many fields the line has.
    #[must_use]
    pub const fn count(&self) -> usize {
        self.count
    }

    /// The fields, at most [`MAX_FIELDS`] of them.
    #[must_use]
    pub fn as_slice(&self) -> &[&'a str] {
        &self.first[..self.count.min(MAX_FIELDS)]
    }
}

fn unquote(field: &str) -> &str {
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .map_or(field, str::trim)
}

/// What a file holds, told by the field count of its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `asset,price,timestamp_ms`.
    Ticks,
    /// `timestamp,open,high,low,close`, with `,volume` when `volume`.
    Candles {
        /// Whether a volume column follows the close.
        volume: bool,
    },
}

/// Names a header may give each column of the tick layout.
const TICK_NAMES: [&[&str]; 3] = [
    &["asset", "symbol"],
    &["price"],
    &["timestamp_ms", "timestamp", "time"],
];

/// Names a header may give each column of the candle layout.
const CANDLE_NAMES: [&[&str]; 6] = [
    &["timestamp", "time", "date", "timestamp_ms"],
    &["open"],
    &["high"],
    &["low"],
    &["close"],
    &["volume"],
];

impl Layout {
    /// The layout of a line of `count` fields.
    ///
    /// # Errors
    ///
    /// The reason, when no layout has that many fields.
    pub fn of(count: usize) -> Result<Self, String> {
        match count {
            3 => Ok(Self::Ticks),
            5 => Ok(Self::Candles { volume: false }),
            6 => Ok(Self::Candles { volume: true }),
            n => Err(format!(
                "expected 3 fields (asset,price,timestamp_ms) or 5 to 6 \
                 (timestamp,open,high,low,close[,volume]); found {n}"
            )),
        }
    }

    /// Fields per line.
    #[must_use]
    pub const fn fields(self) -> usize {
        match self {
            Self::Ticks => 3,
            Self::Candles { volume: false } => 5,
            Self::Candles { volume: true } => 6,
        }
    }

    /// The columns, as a header writes them.
    #[must_use]
    pub const fn columns(self) -> &'static str {
        match self {
            Self::Ticks => "asset,price,timestamp_ms",
            Self::Candles { volume: false } => "timestamp,open,high,low,close",
            Self::Candles { volume: true } => "timestamp,open,high,low,close,volume",
        }
    }

    /// Whether `fields` name this layout's columns (any case): a header.
    #[must_use]
    pub fn is_header(self, fields: &Fields<'_>) -> bool {
        let names: &[&[&str]] = match self {
            Self::Ticks => &TICK_NAMES,
            Self::Candles { .. } => &CANDLE_NAMES,
        };
        fields.count() == self.fields()
            && fields
                .as_slice()
                .iter()
                .zip(names)
                .all(|(f, ok)| ok.iter().any(|n| n.eq_ignore_ascii_case(f)))
    }

    /// Checks a data line's field count.
    ///
    /// # Errors
    ///
    /// The reason, when the count differs from the file's layout.
    pub fn check(self, fields: &Fields<'_>) -> Result<(), String> {
        if fields.count() == self.fields() {
            Ok(())
        } else {
            Err(format!(
                "expected {} fields ({}) like the first line; found {}",
                self.fields(),
                self.columns(),
                fields.count()
            ))
        }
    }
}

/// The parts of a tick line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickRow {
    /// Unix milliseconds.
    pub at: i64,
    /// The exact price.
    pub price: Price,
}

/// Reads `asset,price,timestamp_ms`; the asset is checked only when it
/// differs from `known` (the file's asset so far).
///
/// # Errors
///
/// The reason, naming the bad field.
pub fn tick(fields: &Fields<'_>, known: Option<Asset>) -> Result<(Asset, TickRow), String> {
    let [name, price, at] = [fields.first[0], fields.first[1], fields.first[2]];
    let asset = match known {
        Some(a) if a.as_str() == name => a,
        Some(a) => {
            return Err(format!(
                "asset {:?} differs from {:?} of the lines before: a file holds one asset",
                shorten(name),
                a.as_str()
            ));
        }
        None => Asset::new_checked(name).map_err(|e| e.to_string())?,
    };
    let price = Price::new_checked(price).map_err(|e| e.to_string())?;
    let at = at
        .parse::<i64>()
        .map_err(|_| format!("timestamp {:?} is not whole milliseconds", shorten(at)))?;
    let at = TimestampMs::new_checked(at).map_err(|e| e.to_string())?;
    Ok((
        asset,
        TickRow {
            at: at.millis(),
            price,
        },
    ))
}

/// The parts of a candle line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandleRow {
    /// Open time, Unix seconds, the start of a minute.
    pub time: i64,
    /// Open price.
    pub open: Price,
    /// Highest price.
    pub high: Price,
    /// Lowest price.
    pub low: Price,
    /// Close price.
    pub close: Price,
    /// Ticks (1 when the file has no volume column).
    pub volume: u64,
}

/// Reads `timestamp,open,high,low,close[,volume]`.
///
/// # Errors
///
/// The reason, naming the bad field.
pub fn candle(fields: &Fields<'_>) -> Result<CandleRow, String> {
    let f = &fields.first;
    let time = open_time(f[0])?;
    let price =
        |name: &str, text: &str| Price::new_checked(text).map_err(|e| format!("{name}: {e}"));
    let (open, high, low, close) = (
        price("open", f[1])?,
        price("high", f[2])?,
        price("low", f[3])?,
        price("close", f[4])?,
    );
    if low > high || open < low || open > high || close < low || close > high {
        return Err(CandleError::Inconsistent {
            open,
            high,
            low,
            close,
        }
        .to_string());
    }
    let volume = if fields.count() == MAX_FIELDS {
        match f[5].parse::<u64>() {
            Ok(v) if v > 0 => v,
            _ => {
                return Err(format!(
                    "volume {:?} is not a whole number of ticks of at least 1",
                    shorten(f[5])
                ));
            }
        }
    } else {
        1
    };
    Ok(CandleRow {
        time,
        open,
        high,
        low,
        close,
        volume,
    })
}

/// An open time in Unix seconds, or milliseconds of a whole second; the
/// start of a minute in 1990..2100.
fn open_time(text: &str) -> Result<i64, String> {
    let value = text.parse::<i64>().map_err(|_| {
        format!(
            "timestamp {:?} is not a whole number of Unix seconds or milliseconds",
            shorten(text)
        )
    })?;
    let (min, max) = (TimestampMs::MIN, TimestampMs::MAX);
    let seconds = if (min.seconds()..=max.seconds()).contains(&value) {
        value
    } else if (min.millis()..=max.millis()).contains(&value) {
        if value % 1000 != 0 {
            return Err(format!(
                "timestamp {value} is in milliseconds but not a whole second"
            ));
        }
        value / 1000
    } else {
        return Err(format!(
            "timestamp {value} is outside 1990-01-01..2100-01-01 in Unix seconds or milliseconds"
        ));
    };
    if seconds % 60 != 0 {
        return Err(format!(
            "timestamp {value} ({}) is not the start of a minute",
            iso8601(seconds)
        ));
    }
    Ok(seconds)
}

/// A field as quoted in a message: at most 40 characters.
fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_trims_and_unquotes() {
        let f = Fields::split(" EURUSD , \"1.08\" ,1705314600000\r");
        assert_eq!(f.as_slice(), ["EURUSD", "1.08", "1705314600000"]);
        let f = Fields::split("1,2,3,4,5,6,7,8");
        assert_eq!((f.count(), f.as_slice().len()), (8, 6));
    }

    #[test]
    fn a_header_names_the_columns_in_any_case() {
        let h = Fields::split("Timestamp,Open,High,Low,Close,Volume");
        assert!(Layout::of(6).unwrap().is_header(&h));
        assert!(Layout::Ticks.is_header(&Fields::split("asset,price,timestamp_ms")));
        assert!(!Layout::Ticks.is_header(&Fields::split("EURUSD,price,timestamp_ms")));
        assert!(Layout::of(4).unwrap_err().contains("found 4"));
    }

    #[test]
    fn reads_candle_times_in_seconds_or_milliseconds() {
        assert_eq!(open_time("1705314600"), Ok(1_705_314_600));
        assert_eq!(open_time("1705314600000"), Ok(1_705_314_600));
        assert!(
            open_time("1705314600500")
                .unwrap_err()
                .contains("whole second")
        );
        assert!(
            open_time("1705314630")
                .unwrap_err()
                .contains("start of a minute")
        );
        assert!(open_time("60").unwrap_err().contains("outside"));
        assert!(
            open_time("2024-01-15")
                .unwrap_err()
                .contains("not a whole number")
        );
    }

    #[test]
    fn names_the_bad_field() {
        let t = |line| tick(&Fields::split(line), None).unwrap_err();
        assert_eq!(
            t("EURUSD,abc,1705314600000"),
            "price \"abc\" is not a decimal number: expected a digit"
        );
        assert!(t("EUR/USD,1,1705314600000").contains("asset name"));
        assert!(t("EURUSD,1,1705314600").contains("milliseconds"));
        let other = tick(
            &Fields::split("GBPUSD,1,1705314600000"),
            Some(Asset::new("EURUSD")),
        );
        assert!(other.unwrap_err().contains("one asset"));
        let c = |line| candle(&Fields::split(line)).unwrap_err();
        assert!(c("1705314600,1,x,1,1").starts_with("high: price \"x\""));
        assert!(c("1705314600,1,1,2,1").contains("inconsistent"));
        assert!(c("1705314600,1,1,1,1,0").contains("at least 1"));
        assert!(c("1705314600,1,1,1,1,2.5").contains("whole number"));
        assert_eq!(
            candle(&Fields::split("1705314600,1,2,1,1.5"))
                .unwrap()
                .volume,
            1
        );
    }
}
