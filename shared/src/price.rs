//! [`Price`]: an exact, positive decimal that fits PostgreSQL's
//! `NUMERIC(20,10)`.
//!
//! A price is held as a whole number of 10⁻¹⁰ units, so comparison is integer
//! comparison and no value ever passes through binary floating point. It is
//! parsed from a JSON number or a decimal string and written back as the
//! shortest exact decimal text: `1.0823` stays `1.0823`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fractional digits a price may carry (the scale of `NUMERIC(20,10)`).
pub const PRICE_SCALE: u32 = 10;
/// Integer digits a price may carry (precision 20 minus scale 10).
pub const PRICE_INTEGER_DIGITS: u32 = 10;

const UNITS_PER_ONE: u128 = 10u128.pow(PRICE_SCALE);
const MAX_UNITS: u128 = 10u128.pow(PRICE_SCALE + PRICE_INTEGER_DIGITS) - 1;

/// An exact positive decimal with at most 10 integer and 10 fractional digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Price {
    /// The value in units of 10⁻¹⁰.
    units: u128,
}

/// Why a value is not a price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The text is empty.
    #[error("price is empty")]
    Empty,
    /// The text is not a decimal number.
    #[error("price {text:?} is not a decimal number: {reason}")]
    Malformed {
        /// The text given (shortened when long).
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value is zero or negative.
    #[error("price must be greater than zero")]
    NotPositive,
    /// The value has more than [`PRICE_SCALE`] significant fractional digits.
    #[error("price has more than {PRICE_SCALE} fractional digits")]
    TooPrecise,
    /// The value has more than [`PRICE_INTEGER_DIGITS`] integer digits.
    #[error("price has more than {PRICE_INTEGER_DIGITS} integer digits")]
    TooLarge,
    /// The value came as a binary floating-point number, which is not exact.
    #[error(
        "price arrived as a binary floating-point number; send it as JSON number text or a decimal string"
    )]
    Inexact,
}

impl Price {
    /// The smallest price: 0.0000000001.
    pub const MIN: Self = Self { units: 1 };
    /// The largest price: 9999999999.9999999999.
    pub const MAX: Self = Self { units: MAX_UNITS };

    /// Makes a price of a whole number of 10⁻¹⁰ units.
    ///
    /// # Errors
    ///
    /// [`PriceError::NotPositive`] for zero, [`PriceError::TooLarge`] past
    /// [`Price::MAX`].
    pub const fn from_units(units: u128) -> Result<Self, PriceError> {
        if units == 0 {
            Err(PriceError::NotPositive)
        } else if units > MAX_UNITS {
            Err(PriceError::TooLarge)
        } else {
            Ok(Self { units })
        }
    }

    /// The value in units of 10⁻¹⁰.
    #[must_use]
    pub const fn units(self) -> u128 {
        self.units
    }

    /// Parses decimal text: JSON number syntax (`1.0823`, `12`, `1.5e-3`),
    /// leading zeros allowed.
    ///
    /// # Errors
    ///
    /// [`PriceError`] saying why the text is not a price.
    pub fn new_checked(text: &str) -> Result<Self, PriceError> {
        parse(text)
    }

    /// Parses text known to be a valid price.
    ///
    /// # Panics
    ///
    /// When `text` is not a valid price: that is a bug in the caller.
    #[must_use]
    pub fn new(text: &str) -> Self {
        match parse(text) {
            Ok(price) => price,
            Err(e) => panic!("invalid price {text:?}: {e}"),
        }
    }

    /// The nearest `f64`, for drawing and for the float64 indicators (as
    /// Pine computes them): never for arithmetic on prices.
    #[must_use]
    pub fn to_f64_lossy(self) -> f64 {
        // Parsing the exact text rounds correctly, unlike dividing units.
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

fn malformed(text: &str, reason: &'static str) -> PriceError {
    let text: String = text.chars().take(40).collect();
    PriceError::Malformed { text, reason }
}

/// Parses `-?digits[.digits][(e|E)[+-]digits]` into exact units.
fn parse(text: &str) -> Result<Price, PriceError> {
    if text.is_empty() {
        return Err(PriceError::Empty);
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = bytes[0] == b'-';
    if negative {
        i += 1;
    }
    // Significant digits without leading zeros, and where the point sits.
    let mut digits = Digits::default();
    let mut fraction_len: i64 = 0;
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        push_digit(&mut digits, bytes[i]);
        i += 1;
    }
    if i == int_start {
        return Err(malformed(text, "expected a digit"));
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            push_digit(&mut digits, bytes[i]);
            fraction_len += 1;
            i += 1;
        }
        if i == frac_start {
            return Err(malformed(text, "expected a digit after the decimal point"));
        }
    }
    let mut exponent: i64 = 0;
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        let exp_negative = match bytes.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let exp_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            // Saturate: any exponent this large is out of range anyway.
            exponent = (exponent * 10 + i64::from(bytes[i] - b'0')).min(1_000_000);
            i += 1;
        }
        if i == exp_start {
            return Err(malformed(text, "expected a digit in the exponent"));
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    if i != bytes.len() {
        return Err(malformed(text, "unexpected character"));
    }
    if digits.overflow {
        return Err(malformed(text, "too many digits"));
    }
    // Trailing zeros carry no value: fold them into the exponent.
    let mut scale = exponent - fraction_len;
    while digits.last() == Some(&0) {
        digits.pop();
        scale += 1;
    }
    if digits.is_empty() || negative {
        return Err(PriceError::NotPositive);
    }
    // units = digits × 10^(scale + PRICE_SCALE)
    let shift = scale + i64::from(PRICE_SCALE);
    if shift < 0 {
        return Err(PriceError::TooPrecise);
    }
    let total_digits = digits.len as i64 + shift;
    if total_digits > i64::from(PRICE_SCALE + PRICE_INTEGER_DIGITS) {
        return Err(PriceError::TooLarge);
    }
    let mut units: u128 = 0;
    for d in digits.as_slice() {
        units = units * 10 + u128::from(*d);
    }
    units *= 10u128.pow(shift as u32);
    Price::from_units(units)
}

/// The significant digits of a number being parsed, on the stack: a price
/// has at most 20, so more than [`MAX_DIGITS`] (trailing zeros included) is
/// refused as malformed rather than stored.
const MAX_DIGITS: usize = 64;

struct Digits {
    buf: [u8; MAX_DIGITS],
    len: usize,
    overflow: bool,
}

impl Default for Digits {
    fn default() -> Self {
        Self {
            buf: [0; MAX_DIGITS],
            len: 0,
            overflow: false,
        }
    }
}

impl Digits {
    fn push(&mut self, d: u8) {
        if self.len == MAX_DIGITS {
            self.overflow = true;
        } else {
            self.buf[self.len] = d;
            self.len += 1;
        }
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn last(&self) -> Option<&u8> {
        self.buf[..self.len].last()
    }
    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn push_digit(digits: &mut Digits, ascii: u8) {
    let d = ascii - b'0';
    if !(digits.is_empty() && d == 0) {
        digits.push(d);
    }
}

impl FromStr for Price {
    type Err = PriceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.units / UNITS_PER_ONE;
        let mut fraction = self.units % UNITS_PER_ONE;
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let mut width = PRICE_SCALE as usize;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        write!(f, "{whole}.{fraction:0width$}")
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price({self})")
    }
}

impl Serialize for Price {
    /// A JSON number whose text is the exact decimal (serde_json keeps the
    /// text because of its `arbitrary_precision` feature).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let number: serde_json::Number = self
            .to_string()
            .parse()
            .map_err(|_| serde::ser::Error::custom("price text is not a JSON number"))?;
        number.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PriceVisitor)
    }
}

struct PriceVisitor;

impl<'de> Visitor<'de> for PriceVisitor {
    type Value = Price;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a positive decimal price as a JSON number or a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Price, E> {
        parse(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Price, E> {
        let units = u128::from(v)
            .checked_mul(UNITS_PER_ONE)
            .ok_or(PriceError::TooLarge)
            .map_err(E::custom)?;
        Price::from_units(units).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Price, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(PriceError::NotPositive)),
        }
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Price, E> {
        Err(E::custom(PriceError::Inexact))
    }

    /// serde_json hands over a number, with its exact text, as a map.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Price, A::Error> {
        let number = serde_json::Number::deserialize(de::value::MapAccessDeserializer::new(map))?;
        parse(number.as_str()).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_it_was_given() {
        for text in [
            "1.0823",
            "1",
            "0.0000000001",
            "9999999999.9999999999",
            "65000.5",
            "100",
            "0.1",
        ] {
            assert_eq!(Price::new(text).to_string(), text);
        }
    }

    #[test]
    fn normalises_to_the_shortest_exact_text() {
        assert_eq!(Price::new("1.08230").to_string(), "1.0823");
        assert_eq!(Price::new("001.5").to_string(), "1.5");
        assert_eq!(Price::new("1.5e-3").to_string(), "0.0015");
        assert_eq!(Price::new("12E2").to_string(), "1200");
        assert_eq!(Price::new("1.000000000000000").to_string(), "1");
        assert_eq!(Price::new("0.00000000010").units(), 1);
    }

    #[test]
    fn rejects_what_is_not_a_price() {
        assert_eq!(parse(""), Err(PriceError::Empty));
        assert_eq!(parse("0"), Err(PriceError::NotPositive));
        assert_eq!(parse("0.000"), Err(PriceError::NotPositive));
        assert_eq!(parse("-1.5"), Err(PriceError::NotPositive));
        assert_eq!(parse("0.00000000001"), Err(PriceError::TooPrecise));
        assert_eq!(parse("1e-11"), Err(PriceError::TooPrecise));
        assert_eq!(parse("10000000000"), Err(PriceError::TooLarge));
        assert_eq!(parse("1e10"), Err(PriceError::TooLarge));
        assert_eq!(parse("1e999999999999"), Err(PriceError::TooLarge));
        assert!(matches!(
            parse(&format!("1.{}", "0".repeat(80))),
            Err(PriceError::Malformed { .. })
        ));
        for bad in [
            "NaN", "inf", "1.", ".5", "1,5", " 1", "1 ", "+1", "1e", "1e+", "0x10", "--1",
        ] {
            assert!(
                matches!(parse(bad), Err(PriceError::Malformed { .. })),
                "{bad:?} gave {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn orders_by_value() {
        assert!(Price::new("1.09") > Price::new("1.0899999999"));
        assert!(Price::new("2") > Price::new("1.9999999999"));
        assert_eq!(Price::new("1.50"), Price::new("1.5"));
    }

    #[test]
    fn json_number_and_string_both_parse_exactly() {
        let from_number: Price = serde_json::from_str("1.0823").unwrap();
        let from_string: Price = serde_json::from_str("\"1.0823\"").unwrap();
        assert_eq!(from_number, from_string);
        assert_eq!(serde_json::to_string(&from_number).unwrap(), "1.0823");
        // A value no f64 holds exactly still comes back digit for digit.
        let long: Price = serde_json::from_str("1234567890.1234567891").unwrap();
        assert_eq!(
            serde_json::to_string(&long).unwrap(),
            "1234567890.1234567891"
        );
        let whole: Price = serde_json::from_str("42").unwrap();
        assert_eq!(whole.to_string(), "42");
    }

    #[test]
    fn json_errors_say_why() {
        let err = serde_json::from_str::<Price>("-3").unwrap_err().to_string();
        assert!(err.contains("greater than zero"), "{err}");
        let err = serde_json::from_str::<Price>("true")
            .unwrap_err()
            .to_string();
        assert!(err.contains("decimal price"), "{err}");
        let err = serde_json::from_str::<Price>("\"abc\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a decimal number"), "{err}");
    }

    #[test]
    fn lossy_float_is_the_nearest_double() {
        assert_eq!(Price::new("1.0823").to_f64_lossy(), 1.0823);
    }
}
