//! [`settle`]: the end of handled entries, in one `MULTI`/`EXEC`: each
//! refused entry is recorded in the rejected stream (bounded), and every
//! entry is acknowledged and deleted from the ingest stream, so it grows only
//! by what is not yet handled.

use super::read::{KEEP_BYTES, KEEP_FIELDS, RawEntry};

use crate::redis::Link;

/// Records kept in the rejected stream, about (`MAXLEN ~`): at most
/// [`KEEP_FIELDS`] fields of [`KEEP_BYTES`] each a record, so a few tens of
/// megabytes at worst.
pub const REJECTED_MAXLEN: usize = 5_000;

/// A refused entry and why.
#[derive(Debug)]
pub struct Refusal {
    /// The entry as read.
    pub entry: RawEntry,
    /// The reason, as `POST /api/ticks` would give it.
    pub reason: String,
}

/// Where handled entries go.
#[derive(Debug, Clone)]
pub struct Outlet {
    /// The ingest stream.
    pub stream: String,
    /// The consumer group.
    pub group: String,
    /// The rejected stream.
    pub rejected: String,
}

/// Records `refused` in the rejected stream, then acknowledges and deletes
/// them and the entries `done`, all at once.
///
/// # Errors
///
/// A Redis error. When the transaction did not run (Redis away), nothing
/// was done and the entries stay pending; when one of its commands failed
/// inside it (a rejected stream replaced by another type), the others still
/// ran, since Redis does not roll a transaction back: the entries are
/// acknowledged and that refusal's record is lost.
pub async fn settle(
    conn: &mut Link,
    outlet: &Outlet,
    done: &[String],
    refused: &[Refusal],
) -> redis::RedisResult<()> {
    let ids: Vec<&str> = done
        .iter()
        .map(String::as_str)
        .chain(refused.iter().map(|r| r.entry.id.as_str()))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    pipe.atomic();
    for refusal in refused {
        pipe.add_command(record(&outlet.rejected, refusal)).ignore();
    }
    pipe.cmd("XACK")
        .arg(&outlet.stream)
        .arg(&outlet.group)
        .arg(&ids)
        .ignore();
    pipe.cmd("XDEL").arg(&outlet.stream).arg(&ids).ignore();
    pipe.query_async(conn).await
}

/// `XADD rejected MAXLEN ~ N * reason R entry ID [truncated true]
/// field:NAME VALUE ...`: the first fields of the entry, each cut to
/// [`KEEP_BYTES`], their names prefixed so none can pass for the record's own.
fn record(rejected: &str, refusal: &Refusal) -> redis::Cmd {
    let entry = &refusal.entry;
    let mut cmd = redis::cmd("XADD");
    cmd.arg(rejected)
        .arg("MAXLEN")
        .arg("~")
        .arg(REJECTED_MAXLEN)
        .arg("*")
        .arg("reason")
        .arg(&refusal.reason)
        .arg("entry")
        .arg(&entry.id);
    let kept: u64 = entry
        .fields
        .iter()
        .take(KEEP_FIELDS)
        .map(|(k, v)| (k.len().min(KEEP_BYTES) + v.len().min(KEEP_BYTES)) as u64)
        .sum();
    if kept < entry.size {
        cmd.arg("truncated").arg("true");
    }
    for (name, value) in entry.fields.iter().take(KEEP_FIELDS) {
        let mut key = b"field:".to_vec();
        key.extend_from_slice(&name[..name.len().min(KEEP_BYTES)]);
        cmd.arg(key).arg(&value[..value.len().min(KEEP_BYTES)]);
    }
    cmd
}
