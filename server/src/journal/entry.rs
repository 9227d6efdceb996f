//! How ticks are written into the Redis journal stream and read back.
//!
//! One stream entry holds one journaled batch (an ingest request, a
//! simulator tick, a record of the write-ahead file): `origin` (the
//! process that journaled it), `oseq` (that process's append number of the
//! first tick; the others follow in order) and `ticks`, one
//! `asset,price,timestamp_ms` line per tick with the price's exact text.
//! A batch per entry keeps Redis work per tick small; the lines keep prices
//! exact and cost little to read. A batch of an on-demand simulation also
//! carries `sim` = `1`: every process shows it, and the persister
//! acknowledges it without storing it. An entry without `sim` is real.

use redis::Value;
use shared::{Asset, Price, Tick, TimestampMs};

/// A journaled batch read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The ticks, in the order they were accepted.
    pub ticks: Vec<Tick>,
    /// The process that journaled them.
    pub origin: u64,
    /// That process's append number of the first tick.
    pub oseq: u64,
    /// Whether the ticks come from an on-demand simulation (never stored).
    pub simulated: bool,
}

/// The field-value pairs of the `XADD` of a batch; `simulated` marks a batch
/// of an on-demand simulation.
pub fn fields(
    ticks: &[Tick],
    origin: u64,
    first_oseq: u64,
    simulated: bool,
) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("origin", origin.to_string()),
        ("oseq", first_oseq.to_string()),
        ("ticks", lines(ticks)),
    ];
    if simulated {
        fields.push(("sim", "1".to_owned()));
    }
    fields
}

/// The ticks as `asset,price,timestamp_ms` lines, prices exact.
#[must_use]
pub fn lines(ticks: &[Tick]) -> String {
    let mut lines = String::with_capacity(ticks.len() * 40);
    for t in ticks {
        use std::fmt::Write;
        let _ = writeln!(lines, "{},{},{}", t.asset, t.price, t.timestamp.millis());
    }
    lines
}

/// Parses an `XREAD`/`XREADGROUP` reply into (entry id, entry) pairs.
/// Entries that do not parse (written by something else) are skipped and
/// counted in the second value.
pub fn parse_xread(reply: &Value) -> (Vec<(String, Entry)>, usize) {
    // [[stream, [[id, [f, v, ...]], ...]]] (RESP2) or {stream: [...]} (RESP3)
    let streams: Vec<&Value> = match reply {
        Value::Array(items) => items.iter().collect(),
        Value::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        _ => return (Vec::new(), 0),
    };
    let mut out = Vec::new();
    let mut skipped = 0;
    for stream in streams {
        let entries = match stream {
            Value::Array(parts) if parts.len() == 2 => &parts[1],
            other => other,
        };
        let Value::Array(entries) = entries else {
            continue;
        };
        parse_entries(entries, &mut out, &mut skipped);
    }
    (out, skipped)
}

/// Parses `[[id, [f, v, ...]], ...]`, as `XRANGE` and `XAUTOCLAIM` give.
pub fn parse_entries(entries: &[Value], out: &mut Vec<(String, Entry)>, skipped: &mut usize) {
    for entry in entries {
        let Value::Array(parts) = entry else { continue };
        let (Some(id), Some(Value::Array(kv))) = (parts.first().and_then(bytes), parts.get(1))
        else {
            continue;
        };
        match parse_fields(kv) {
            Some(e) => out.push((String::from_utf8_lossy(id).into_owned(), e)),
            None => *skipped += 1,
        }
    }
}

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn number(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn parse_fields(kv: &[Value]) -> Option<Entry> {
    let (mut origin, mut oseq, mut ticks, mut simulated) = (None, None, None, false);
    for pair in kv.chunks(2) {
        let [k, v] = pair else { return None };
        let (k, v) = (bytes(k)?, bytes(v)?);
        match k {
            b"origin" => origin = number(v),
            b"oseq" => oseq = number(v),
            b"ticks" => ticks = parse_lines(std::str::from_utf8(v).ok()?),
            b"sim" => simulated = v == b"1",
            _ => {}
        }
    }
    Some(Entry {
        ticks: ticks?,
        origin: origin.unwrap_or(0),
        oseq: oseq.unwrap_or(0),
        simulated,
    })
}

/// Parses [`lines`] back; `None` when any line is not a valid tick.
#[must_use]
pub fn parse_lines(text: &str) -> Option<Vec<Tick>> {
    text.lines()
        .map(|line| {
            let mut parts = line.split(',');
            let asset = Asset::new_checked(parts.next()?).ok()?;
            let price = Price::new_checked(parts.next()?).ok()?;
            let ts = TimestampMs::new_checked(parts.next()?.parse().ok()?).ok()?;
            parts
                .next()
                .is_none()
                .then_some(Tick::new(asset, price, ts))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_back_what_it_writes() {
        let ticks = vec![
            Tick::new(
                Asset::new("EURUSD_otc"),
                Price::new("1.0823"),
                TimestampMs::new(1_705_314_600_000),
            ),
            Tick::new(
                Asset::new("BTCUSD"),
                Price::new("65000.5"),
                TimestampMs::new(1_705_314_600_001),
            ),
        ];
        let kv = |simulated| -> Vec<Value> {
            fields(&ticks, 7, 9, simulated)
                .iter()
                .flat_map(|(k, v)| [bulk(k), bulk(v)])
                .collect()
        };
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("journal"),
            Value::Array(vec![
                Value::Array(vec![bulk("1-0"), Value::Array(kv(false))]),
                Value::Array(vec![
                    bulk("1-1"),
                    Value::Array(vec![bulk("ticks"), bulk("bad name,1,1")]),
                ]),
                Value::Array(vec![bulk("1-2"), Value::Array(kv(true))]),
            ]),
        ])]);
        let (entries, skipped) = parse_xread(&reply);
        let entry = |simulated| Entry {
            ticks: ticks.clone(),
            origin: 7,
            oseq: 9,
            simulated,
        };
        assert_eq!(
            entries,
            vec![
                ("1-0".to_owned(), entry(false)),
                ("1-2".to_owned(), entry(true))
            ]
        );
        assert_eq!(skipped, 1);
    }
}
