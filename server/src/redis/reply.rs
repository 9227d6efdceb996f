//! Reading Redis replies the redis crate leaves as raw [`Value`]s: text,
//! and the name/value pairs of an `XINFO` answer.

use redis::Value;

/// A bulk or simple string as text.
#[must_use]
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// An `XINFO` reply (RESP2 flat pairs or RESP3 map) as name and value pairs;
/// empty for anything else.
#[must_use]
pub fn pairs(v: Value) -> Vec<(String, Value)> {
    match v {
        Value::Array(kv) => kv
            .chunks(2)
            .filter_map(|p| Some((text(&p[0])?, p.get(1)?.clone())))
            .collect(),
        Value::Map(kv) => kv
            .into_iter()
            .filter_map(|(k, v)| Some((text(&k)?, v)))
            .collect(),
        _ => Vec::new(),
    }
}
