//! [`Tick`]: one price observation for one asset at one instant.

use serde::{Deserialize, Serialize};

use crate::{Asset, Price, TimestampMs};

/// A price observed for an asset at a time.
///
/// Its identity is the triple (asset, timestamp, price): the same triple twice
/// is the same tick. That is what lets a retried ingest call or a replayed
/// file be stored exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    /// The traded pair.
    pub asset: Asset,
    /// The exact price.
    pub price: Price,
    /// When it was observed, Unix epoch milliseconds.
    pub timestamp: TimestampMs,
}

impl Tick {
    /// A tick from parts that are already checked.
    #[must_use]
    pub const fn new(asset: Asset, price: Price, timestamp: TimestampMs) -> Self {
        Self {
            asset,
            price,
            timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ingest_shape_with_number_or_string_price() {
        let a: Tick = serde_json::from_str(
            r#"{"asset":"EURUSD_otc","price":1.0823,"timestamp":1705314600000}"#,
        )
        .unwrap();
        let b: Tick = serde_json::from_str(
            r#"{"asset":"EURUSD_otc","price":"1.0823","timestamp":1705314600000}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"asset":"EURUSD_otc","price":1.0823,"timestamp":1705314600000}"#
        );
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (
                r#"{"asset":"EUR USD","price":1,"timestamp":1705314600000}"#,
                "invalid asset",
            ),
            (
                r#"{"asset":"EURUSD","price":0,"timestamp":1705314600000}"#,
                "greater than zero",
            ),
            (
                r#"{"asset":"EURUSD","price":1,"timestamp":1705314600}"#,
                "milliseconds",
            ),
            (
                r#"{"asset":"EURUSD","price":1}"#,
                "missing field `timestamp`",
            ),
            (
                r#"{"asset":"EURUSD","price":1,"timestamp":1705314600000,"x":1}"#,
                "unknown field `x`",
            ),
        ];
        for (json, expected) in cases {
            let err = serde_json::from_str::<Tick>(json).unwrap_err().to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }
}
