//! [`decode`]: one ingest-stream entry to ticks, or the reason it is refused.
//! Its fields become the body `POST /api/ticks` would take and go through the
//! very same check ([`crate::http::parse_ticks`]), so an entry is refused
//! exactly when, and with the message with which, that request would be.

use std::collections::HashSet;

use shared::Tick;

use super::read::RawEntry;
use crate::http::parse_ticks;

/// The bounds an entry is checked against (`MAX_INGEST_BYTES`,
/// `MAX_INGEST_TICKS`, `MAX_FUTURE_SKEW_MS`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest entry, field names and values together, in bytes.
    pub max_bytes: usize,
    /// Most ticks in one entry.
    pub max_ticks: usize,
    /// Milliseconds a tick may be stamped ahead of the clock.
    pub max_skew_ms: i64,
}

/// The ticks of `entry`, all or nothing, checked at `now_ms`.
///
/// # Errors
///
/// Why the entry is refused: too large, a field name that is not UTF-8 or
/// given twice, `ticks` beside other fields, or what `POST /api/ticks` would
/// answer for the same ticks.
pub fn decode(entry: &RawEntry, limits: &Limits, now_ms: i64) -> Result<Vec<Tick>, String> {
    if entry.size > limits.max_bytes as u64 {
        return Err(format!(
            "the entry is {} bytes; at most {} are allowed (MAX_INGEST_BYTES)",
            entry.size, limits.max_bytes
        ));
    }
    let mut names: Vec<&str> = Vec::with_capacity(entry.fields.len());
    let mut seen = HashSet::with_capacity(entry.fields.len());
    for (name, _) in &entry.fields {
        let name =
            std::str::from_utf8(name).map_err(|_| "a field name is not UTF-8 text".to_owned())?;
        if !seen.insert(name) {
            return Err(format!("field `{name}` is given twice"));
        }
        names.push(name);
    }
    let body = if names.contains(&"ticks") {
        if let Some(other) = names.iter().find(|n| **n != "ticks") {
            return Err(format!(
                "an entry holds either `ticks` alone or `asset`, `price` and `timestamp`; it has `ticks` and `{other}`"
            ));
        }
        entry.fields[0].1.clone()
    } else {
        one_tick(&names, &entry.fields)?.into_bytes()
    };
    parse_ticks(&body, limits.max_ticks, now_ms, limits.max_skew_ms).map_err(|e| e.to_string())
}

/// The fields of a one-tick entry as a one-item JSON array: every value a
/// JSON string, except a `timestamp` written as a JSON number (Redis keeps
/// text; a timestamp must be a number, as in `POST /api/ticks`). Unknown or
/// missing fields are left for the tick check to name.
fn one_tick(names: &[&str], fields: &[(Vec<u8>, Vec<u8>)]) -> Result<String, String> {
    let mut items = Vec::with_capacity(names.len());
    for (name, (_, value)) in names.iter().zip(fields) {
        let text =
            std::str::from_utf8(value).map_err(|_| format!("field `{name}` is not UTF-8 text"))?;
        let value = if *name == "timestamp" && is_json_number(text) {
            text.to_owned()
        } else {
            quoted(text)
        };
        items.push(format!("{}:{value}", quoted(name)));
    }
    Ok(format!("[{{{}}}]", items.join(",")))
}

fn is_json_number(text: &str) -> bool {
    serde_json::from_str::<serde_json::Number>(text).is_ok()
}

fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_705_314_600_000;
    const LIMITS: Limits = Limits {
        max_bytes: 1000,
        max_ticks: 3,
        max_skew_ms: 2_000,
    };

    fn entry(fields: &[(&str, &str)]) -> RawEntry {
        let fields: Vec<(Vec<u8>, Vec<u8>)> = fields
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        RawEntry {
            id: "1-0".to_owned(),
            size: fields.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum(),
            fields,
        }
    }

    fn refused(fields: &[(&str, &str)]) -> String {
        decode(&entry(fields), &LIMITS, NOW).unwrap_err()
    }

    #[test]
    fn one_tick_from_fields_and_many_from_json() {
        let ticks = decode(
            &entry(&[
                ("asset", "EURUSD_otc"),
                ("price", "1.0823"),
                ("timestamp", "1705314600000"),
            ]),
            &LIMITS,
            NOW,
        )
        .unwrap();
        assert_eq!(ticks.len(), 1);
        assert_eq!(ticks[0].price.to_string(), "1.0823");
        assert_eq!(ticks[0].timestamp.millis(), NOW);
        let ticks = decode(
            &entry(&[(
                "ticks",
                r#"[{"asset":"A","price":1.5,"timestamp":1705314600000},
                    {"asset":"B","price":"2","timestamp":1705314600001}]"#,
            )]),
            &LIMITS,
            NOW,
        )
        .unwrap();
        assert_eq!(ticks.len(), 2);
    }

    #[test]
    fn refuses_with_the_reason_the_http_api_gives() {
        let tick = |price: &str, ts: &str| {
            refused(&[("asset", "EURUSD"), ("price", price), ("timestamp", ts)])
        };
        assert!(tick("-1", "1705314600000").contains("greater than zero"));
        assert!(tick("NaN", "1705314600000").contains("not a decimal number"));
        assert!(tick("1", "1805314600000").contains("MAX_FUTURE_SKEW_MS"));
        assert!(tick("1", "1705314600").contains("milliseconds"));
        assert!(tick("1", "soon").contains("invalid type: string"));
        let e = refused(&[("asset", "EUR USD"), ("price", "1"), ("timestamp", "1")]);
        assert!(
            e.starts_with("tick 0:") && e.contains("invalid asset"),
            "{e}"
        );
        let e = refused(&[("asset", "EURUSD"), ("price", "1")]);
        assert!(e.contains("missing field `timestamp`"), "{e}");
        let e = refused(&[("asset", "A"), ("price", "1"), ("when", "1")]);
        assert!(e.contains("unknown field `when`"), "{e}");
        assert!(refused(&[("ticks", "[{")]).contains("JSON array"));
        assert!(refused(&[("ticks", "[]")]).contains("no ticks"));
        let many = r#"{"asset":"A","price":1,"timestamp":1705314600000}"#;
        let e = refused(&[("ticks", &format!("[{many},{many},{many},{many}]"))]);
        assert!(e.contains("at most 3"), "{e}");
        let e = refused(&[("ticks", "[]"), ("asset", "A")]);
        assert!(e.contains("either `ticks` alone"), "{e}");
        let e = refused(&[("asset", "A"), ("asset", "B")]);
        assert!(e.contains("given twice"), "{e}");
    }

    #[test]
    fn refuses_what_is_too_large_or_not_text() {
        let mut big = entry(&[("ticks", "[]")]);
        big.size = 1001;
        let e = decode(&big, &LIMITS, NOW).unwrap_err();
        assert!(
            e.contains("1001 bytes") && e.contains("MAX_INGEST_BYTES"),
            "{e}"
        );
        let mut binary = entry(&[("asset", "A"), ("price", "1"), ("timestamp", "1")]);
        binary.fields[1].1 = vec![0xff, 0xfe];
        let e = decode(&binary, &LIMITS, NOW).unwrap_err();
        assert!(e.contains("`price` is not UTF-8"), "{e}");
        // A value cannot smuggle JSON in: it stays one string.
        let e = refused(&[
            ("asset", r#"A","price":1,"timestamp":1705314600000,"x":"#),
            ("price", "1"),
            ("timestamp", "1705314600000"),
        ]);
        assert!(e.contains("invalid asset"), "{e}");
    }
}
