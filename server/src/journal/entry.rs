//! How a tick is written into the Redis journal stream and read back.
//!
//! Each stream entry holds `asset`, `price` (exact text), `timestamp` (ms),
//! `origin` (the process that journaled it) and `oseq` (that process's append
//! number), so a process can recognise entries it already delivered itself
//! while Redis was away.

use redis::Value;
use shared::{Asset, Price, Tick, TimestampMs};

/// A tick read back from the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The tick.
    pub tick: Tick,
    /// The process that journaled it.
    pub origin: u64,
    /// That process's append number.
    pub oseq: u64,
}

/// The field-value pairs of an `XADD`.
pub fn fields(tick: &Tick, origin: u64, oseq: u64) -> [(&'static str, String); 5] {
    [
        ("asset", tick.asset.to_string()),
        ("price", tick.price.to_string()),
        ("timestamp", tick.timestamp.millis().to_string()),
        ("origin", origin.to_string()),
        ("oseq", oseq.to_string()),
    ]
}

/// Parses an `XREAD` reply into (entry id, entry) pairs; entries that do not
/// parse (written by something else) are skipped and counted in the second
/// value.
pub fn parse_xread(reply: &Value) -> (Vec<(String, Entry)>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    // [[stream, [[id, [f, v, ...]], ...]]] (RESP2) or {stream: [...]} (RESP3)
    let streams: Vec<&Value> = match reply {
        Value::Array(items) => items.iter().collect(),
        Value::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        _ => return (out, 0),
    };
    for stream in streams {
        let entries = match stream {
            Value::Array(parts) if parts.len() == 2 => &parts[1],
            other => other,
        };
        let Value::Array(entries) = entries else {
            continue;
        };
        for entry in entries {
            let Value::Array(parts) = entry else { continue };
            let (Some(id), Some(Value::Array(kv))) = (parts.first().and_then(text), parts.get(1))
            else {
                continue;
            };
            match parse_fields(kv) {
                Some(e) => out.push((id, e)),
                None => skipped += 1,
            }
        }
    }
    (out, skipped)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn parse_fields(kv: &[Value]) -> Option<Entry> {
    let (mut asset, mut price, mut ts, mut origin, mut oseq) = (None, None, None, None, None);
    for pair in kv.chunks(2) {
        let [k, v] = pair else { return None };
        let (k, v) = (text(k)?, text(v)?);
        match k.as_str() {
            "asset" => asset = Asset::new_checked(&v).ok(),
            "price" => price = Price::new_checked(&v).ok(),
            "timestamp" => {
                ts = v
                    .parse::<i64>()
                    .ok()
                    .and_then(|t| TimestampMs::new_checked(t).ok());
            }
            "origin" => origin = v.parse().ok(),
            "oseq" => oseq = v.parse().ok(),
            _ => {}
        }
    }
    Some(Entry {
        tick: Tick::new(asset?, price?, ts?),
        origin: origin.unwrap_or(0),
        oseq: oseq.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_back_what_it_writes() {
        let tick = Tick::new(
            Asset::new("EURUSD_otc"),
            Price::new("1.0823"),
            TimestampMs::new(1_705_314_600_000),
        );
        let kv: Vec<Value> = fields(&tick, 7, 9)
            .iter()
            .flat_map(|(k, v)| [bulk(k), bulk(v)])
            .collect();
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("journal"),
            Value::Array(vec![
                Value::Array(vec![bulk("1-0"), Value::Array(kv)]),
                Value::Array(vec![
                    bulk("1-1"),
                    Value::Array(vec![bulk("asset"), bulk("bad name")]),
                ]),
            ]),
        ])]);
        let (entries, skipped) = parse_xread(&reply);
        assert_eq!(
            entries,
            vec![(
                "1-0".to_owned(),
                Entry {
                    tick,
                    origin: 7,
                    oseq: 9
                }
            )]
        );
        assert_eq!(skipped, 1);
    }
}
