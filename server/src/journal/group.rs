//! [`ConsumerGroup`]: how the persister reads the journal. Entries (one per
//! journaled batch) are read
//! through a Redis consumer group, acknowledged only once stored, claimed
//! from a crashed consumer after they sat idle, and the stream is trimmed only
//! below what the group has acknowledged and what every live reader (a
//! process that tailed within [`READER_ALIVE_MS`]) has read. An entry of an on-demand
//! simulation comes back with no ticks: it is acknowledged with the next
//! batch and never stored.

use redis::Value;
use redis::aio::MultiplexedConnection;
use shared::Tick;

use super::entry::Entry;

use super::entry;
use super::keys::Keys;
use crate::clock::now_millis;
use crate::redis::reply::{pairs, text};

/// A journal entry id (`<ms>-<seq>`).
pub type EntryId = String;

/// A reader whose position is older than this no longer holds the stream
/// back (it stopped or died).
pub const READER_ALIVE_MS: i64 = 30_000;
/// A reader silent for this long is removed from the readers' hash.
const READER_FORGOTTEN_MS: i64 = 600_000;

/// One consumer of a group on the journal stream.
pub struct ConsumerGroup {
    conn: MultiplexedConnection,
    stream: String,
    readers: String,
    group: String,
    consumer: String,
}

impl ConsumerGroup {
    /// Joins (creating if need be) `group` on `stream` as `consumer`. A new
    /// group starts at the beginning of the stream, so nothing journaled
    /// before it existed is missed.
    ///
    /// # Errors
    ///
    /// A Redis error other than "the group exists".
    pub async fn join(
        mut conn: MultiplexedConnection,
        keys: &Keys,
        group: &str,
        consumer: &str,
    ) -> redis::RedisResult<Self> {
        let stream = keys.journal();
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(e);
        }
        Ok(Self {
            conn,
            stream,
            readers: keys.readers(),
            group: group.to_owned(),
            consumer: consumer.to_owned(),
        })
    }

    /// Reads up to `count` entries never delivered to the group, waiting up
    /// to `block_ms` for the first; a simulated entry holds no ticks.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn read(
        &mut self,
        count: usize,
        block_ms: u64,
    ) -> redis::RedisResult<Vec<(EntryId, Vec<Tick>)>> {
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut self.conn)
            .await?;
        Ok(ticks(&reply))
    }

    /// Takes over up to `count` entries delivered to any consumer of the
    /// group but not acknowledged for `min_idle_ms` (a crashed process).
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn claim_stale(
        &mut self,
        min_idle_ms: u64,
        count: usize,
    ) -> redis::RedisResult<Vec<(EntryId, Vec<Tick>)>> {
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(min_idle_ms)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn)
            .await?;
        // [next-cursor, [[id, fields]...], deleted-ids]
        let Value::Array(parts) = reply else {
            return Ok(Vec::new());
        };
        let Some(Value::Array(claimed)) = parts.get(1) else {
            return Ok(Vec::new());
        };
        let (mut out, mut skipped) = (Vec::new(), 0);
        entry::parse_entries(claimed, &mut out, &mut skipped);
        Ok(batches(out, skipped))
    }

    /// Acknowledges stored entries.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn ack(&mut self, ids: &[EntryId]) -> redis::RedisResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        redis::cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(ids)
            .query_async(&mut self.conn)
            .await
    }

    /// Entries delivered but not yet acknowledged.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn pending(&mut self) -> redis::RedisResult<u64> {
        let reply: Value = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(&self.group)
            .query_async(&mut self.conn)
            .await?;
        Ok(match reply {
            Value::Array(parts) => match parts.first() {
                Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            },
            _ => 0,
        })
    }

    /// Trims the stream below the oldest entry still needed: by the group
    /// (its oldest pending entry, or else the last one delivered: entries
    /// before it are acknowledged) and by every live reader (its published
    /// position). Returns how many entries were removed.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn trim_acknowledged(&mut self) -> redis::RedisResult<u64> {
        let summary: Value = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(&self.group)
            .query_async(&mut self.conn)
            .await?;
        let oldest_pending = match &summary {
            Value::Array(parts) => parts.get(1).and_then(text),
            _ => None,
        };
        let floor = match oldest_pending {
            Some(id) => id,
            None => match self.last_delivered().await? {
                Some(id) => id,
                None => return Ok(0),
            },
        };
        let floor = match self.slowest_reader().await? {
            Some(reader) if id_key(&reader) < id_key(&floor) => reader,
            _ => floor,
        };
        redis::cmd("XTRIM")
            .arg(&self.stream)
            .arg("MINID")
            .arg(floor)
            .query_async(&mut self.conn)
            .await
    }

    /// The position of the slowest live reader; forgets long-silent ones.
    async fn slowest_reader(&mut self) -> redis::RedisResult<Option<EntryId>> {
        let readers: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&self.readers)
            .query_async(&mut self.conn)
            .await?;
        let now = now_millis();
        let mut slowest: Option<EntryId> = None;
        let mut forgotten = Vec::new();
        for (field, value) in readers {
            let Some((id, beat)) = value.split_once(' ') else {
                continue;
            };
            let age = now - beat.parse::<i64>().unwrap_or(0);
            if age > READER_FORGOTTEN_MS {
                forgotten.push(field);
            } else if age <= READER_ALIVE_MS
                && slowest.as_ref().is_none_or(|s| id_key(id) < id_key(s))
            {
                slowest = Some(id.to_owned());
            }
        }
        if !forgotten.is_empty() {
            redis::cmd("HDEL")
                .arg(&self.readers)
                .arg(&forgotten)
                .query_async::<()>(&mut self.conn)
                .await?;
        }
        Ok(slowest)
    }

    async fn last_delivered(&mut self) -> redis::RedisResult<Option<EntryId>> {
        let groups: Value = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&self.stream)
            .query_async(&mut self.conn)
            .await?;
        let Value::Array(groups) = groups else {
            return Ok(None);
        };
        for g in groups {
            let fields = pairs(g);
            let is_ours = fields
                .iter()
                .any(|(k, v)| k == "name" && text(v).as_deref() == Some(&self.group));
            if is_ours {
                return Ok(fields
                    .into_iter()
                    .find(|(k, _)| k == "last-delivered-id")
                    .and_then(|(_, v)| text(&v))
                    .filter(|id| id != "0-0"));
            }
        }
        Ok(None)
    }
}

/// An entry id as numbers, for ordering (`ms-seq`; a bare `ms` is `ms-0`).
fn id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

fn ticks(reply: &Value) -> Vec<(EntryId, Vec<Tick>)> {
    let (entries, skipped) = entry::parse_xread(reply);
    batches(entries, skipped)
}

fn batches(entries: Vec<(EntryId, Entry)>, skipped: usize) -> Vec<(EntryId, Vec<Tick>)> {
    if skipped > 0 {
        tracing::warn!("{skipped} journal entries could not be read");
    }
    entries
        .into_iter()
        .map(|(id, e)| (id, if e.simulated { Vec::new() } else { e.ticks }))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_ids_order_as_numbers() {
        use super::id_key;
        assert!(id_key("999-5") < id_key("1000-0"));
        assert!(id_key("1000-2") < id_key("1000-10"));
        assert_eq!(id_key("1000"), (1000, 0));
    }
}
