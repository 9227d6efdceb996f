//! Joining the ingest stream's consumer group: creating it once a producer
//! has made the stream (the server itself creates no key), naming this
//! process's consumer, and forgetting consumers of processes long gone that
//! hold nothing, so the group's list stays short.

use std::hash::{BuildHasher, RandomState};

use redis::Value;

use crate::redis::Link;
use crate::redis::reply::{pairs, text};

/// The consumer group every process reads the ingest stream through.
pub const GROUP: &str = "tickstream";

/// A consumer idle this long (ms) with no pending entries is removed.
const FORGET_IDLE_MS: i64 = 3_600_000;

/// Consumers looked at per join, at most.
const FORGET_SCAN: usize = 1_000;

/// A consumer name of this process: host, process id and a random part (tests
/// run several servers in one process).
#[must_use]
pub fn consumer_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tickstream".to_owned());
    let random = RandomState::new().hash_one(std::process::id()) & 0xffff_ffff;
    format!("{host}-{}-{random:08x}", std::process::id())
}

/// Creates the group at the start of `stream` (so entries added before any
/// process ran are taken) unless it exists, then forgets consumers long gone;
/// `false` while no producer has made the stream yet.
///
/// # Errors
///
/// A Redis error other than "the group exists" or "no such stream".
pub async fn join(conn: &mut Link, stream: &str) -> redis::RedisResult<bool> {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(GROUP)
        .arg("0")
        .query_async(conn)
        .await;
    match created {
        Err(e)
            if e.detail()
                .is_some_and(|d| d.contains("requires the key to exist")) =>
        {
            return Ok(false);
        }
        Err(e) if e.code() != Some("BUSYGROUP") => return Err(e),
        _ => {}
    }
    forget_idle(conn, stream).await?;
    Ok(true)
}

async fn forget_idle(conn: &mut Link, stream: &str) -> redis::RedisResult<()> {
    let reply: Value = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(stream)
        .arg(GROUP)
        .query_async(conn)
        .await?;
    let Value::Array(consumers) = reply else {
        return Ok(());
    };
    let mut gone = Vec::new();
    for consumer in consumers.into_iter().take(FORGET_SCAN) {
        let fields = pairs(consumer);
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let int = |name: &str| match field(name) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        };
        if int("pending") == Some(0)
            && int("idle").is_some_and(|idle| idle > FORGET_IDLE_MS)
            && let Some(name) = field("name").and_then(text)
        {
            gone.push(name);
        }
    }
    for name in gone {
        redis::cmd("XGROUP")
            .arg("DELCONSUMER")
            .arg(stream)
            .arg(GROUP)
            .arg(name)
            .query_async::<()>(conn)
            .await?;
    }
    Ok(())
}
