//! The journal stream as the reviser needs it: the id of the newest entry,
//! and whether the persister's consumer group has acknowledged (so stored)
//! every entry up to it.

use redis::Value;

use crate::redis::Link;
use crate::redis::reply::{pairs, text};

/// A stream entry id as `(ms, seq)`, ordered as Redis orders them.
pub type Id = (u64, u64);

fn parse_id(text: &str) -> Option<Id> {
    let (ms, seq) = text.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The id of the newest entry ever added to `stream` (`XINFO STREAM`'s
/// `last-generated-id`); `None` when the stream does not exist.
///
/// # Errors
///
/// A Redis error other than "no such key".
pub async fn last_generated(conn: &mut Link, stream: &str) -> redis::RedisResult<Option<Id>> {
    let reply: redis::RedisResult<Value> = redis::cmd("XINFO")
        .arg("STREAM")
        .arg(stream)
        .query_async(conn)
        .await;
    let reply = match reply {
        Ok(v) => v,
        Err(e) if e.to_string().contains("no such key") => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(pairs(reply)
        .into_iter()
        .find(|(k, _)| k == "last-generated-id")
        .and_then(|(_, v)| parse_id(&text(&v)?)))
}

/// Whether `group` has been delivered every entry up to `upto` and holds
/// none of them pending: every tick journaled up to `upto` is stored (or
/// was refused by the store, which the persister logs).
///
/// # Errors
///
/// A Redis error.
pub async fn acknowledged(
    conn: &mut Link,
    stream: &str,
    group: &str,
    upto: Id,
) -> redis::RedisResult<bool> {
    let groups: Value = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(conn)
        .await?;
    let Value::Array(groups) = groups else {
        return Ok(false);
    };
    let delivered = groups.into_iter().map(pairs).find_map(|g| {
        let ours = g
            .iter()
            .any(|(k, v)| k == "name" && text(v).as_deref() == Some(group));
        ours.then(|| {
            g.iter()
                .find(|(k, _)| k == "last-delivered-id")
                .and_then(|(_, v)| parse_id(&text(v)?))
        })
        .flatten()
    });
    if delivered.is_none_or(|d| d < upto) {
        return Ok(false);
    }
    let pending: Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg(group)
        .arg("-")
        .arg(format!("{}-{}", upto.0, upto.1))
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(matches!(pending, Value::Array(ref a) if a.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn ids_order_as_redis_orders_them() {
        assert_eq!(parse_id("1705314600000-12"), Some((1_705_314_600_000, 12)));
        assert!(parse_id("9-10") > parse_id("9-9"));
        assert!(parse_id("10-0") > parse_id("9-99"));
        assert_eq!(parse_id("nope"), None);
    }
}
