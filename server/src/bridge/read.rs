//! [`take`]: reading ingest-stream entries through the consumer group, new
//! ones, this consumer's own unacknowledged ones, or stale ones claimed from
//! another consumer. One Lua script does the read in Redis and measures each
//! entry there: an entry over the size limit comes back cut short (its first
//! fields, each to its first bytes) with its true size, so a huge entry never
//! crosses the wire whole and cannot exhaust this process's memory.

use std::sync::LazyLock;

use redis::Value;

use crate::redis::Link;
use crate::redis::reply::text;

/// Bytes of a field name or value kept of an oversized entry (and of any
/// refused entry, in its rejected record).
pub const KEEP_BYTES: usize = 1024;
/// Fields (name and value) kept of an oversized or refused entry.
pub const KEEP_FIELDS: usize = 8;

/// The read, in Redis: `KEYS[1]` the stream; `ARGV`: what to read (`>` new
/// entries, `0` this consumer's pending ones, `claim` stale ones), group,
/// consumer, count, size limit, bytes and fields kept of an oversized entry,
/// and the idle time (ms) after which an entry is claimed. Returns
/// `[[id, size, [name, value, ...]], ...]`; size -1 for an entry deleted
/// while pending.
static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local mode, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local count, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local keep, fields_kept = tonumber(ARGV[6]), tonumber(ARGV[7]) * 2
local entries
if mode == 'claim' then
  entries = redis.call('XAUTOCLAIM', KEYS[1], group, consumer, ARGV[8], '0-0', 'COUNT', count)[2]
else
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', KEYS[1], mode)
  if not r then return {} end
  entries = r[1][2]
end
local out = {}
for _, e in ipairs(entries) do
  local fields = e[2]
  if not fields then
    out[#out + 1] = {e[1], -1, {}}
  else
    local size = 0
    for i = 1, #fields do size = size + #fields[i] end
    if size > limit then
      local cut = {}
      for i = 1, math.min(#fields, fields_kept) do cut[i] = string.sub(fields[i], 1, keep) end
      fields = cut
    end
    out[#out + 1] = {e[1], size, fields}
  end
end
return out
",
    )
});

/// One entry as read.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// Its stream id.
    pub id: String,
    /// Bytes of its field names and values together.
    pub size: u64,
    /// Its fields in order, cut short when `size` is over the limit.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Which entries to take.
#[derive(Debug, Clone, Copy)]
pub enum Take {
    /// Entries never delivered to the group.
    New,
    /// Entries delivered to this consumer and not acknowledged (after a
    /// reconnection).
    Mine,
    /// Entries of any consumer unacknowledged for this many milliseconds.
    Stale(u64),
}

/// Where and how much to read.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The ingest stream.
    pub stream: String,
    /// The consumer group.
    pub group: String,
    /// This process's consumer name.
    pub consumer: String,
    /// Entries per read, at most.
    pub count: usize,
    /// Largest entry read whole, bytes.
    pub max_bytes: usize,
}

/// Reads entries; `None` for an entry deleted while pending (its id only
/// needs acknowledging).
///
/// # Errors
///
/// A Redis error (`NOGROUP` when the stream or group was deleted).
pub async fn take(
    conn: &mut Link,
    reader: &Reader,
    what: Take,
) -> redis::RedisResult<Vec<(String, Option<RawEntry>)>> {
    let (mode, idle) = match what {
        Take::New => (">", 0),
        Take::Mine => ("0", 0),
        Take::Stale(ms) => ("claim", ms),
    };
    let reply: Value = SCRIPT
        .key(&reader.stream)
        .arg(mode)
        .arg(&reader.group)
        .arg(&reader.consumer)
        .arg(reader.count)
        .arg(reader.max_bytes)
        .arg(KEEP_BYTES)
        .arg(KEEP_FIELDS)
        .arg(idle)
        .invoke_async(conn)
        .await?;
    Ok(entries(reply))
}

fn entries(reply: Value) -> Vec<(String, Option<RawEntry>)> {
    let Value::Array(items) = reply else {
        return Vec::new();
    };
    items.into_iter().filter_map(entry).collect()
}

fn entry(item: Value) -> Option<(String, Option<RawEntry>)> {
    let Value::Array(parts) = item else {
        return None;
    };
    let mut parts = parts.into_iter();
    let id = text(&parts.next()?)?;
    let size = match parts.next()? {
        Value::Int(n) => u64::try_from(n).ok(),
        _ => return None,
    };
    let Some(size) = size else {
        return Some((id, None));
    };
    let Value::Array(flat) = parts.next()? else {
        return None;
    };
    let fields = flat
        .chunks_exact(2)
        .filter_map(|pair| Some((bytes(&pair[0])?, bytes(&pair[1])?)))
        .collect();
    Some((id.clone(), Some(RawEntry { id, size, fields })))
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}
