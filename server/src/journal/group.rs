//! [`ConsumerGroup`]: how the persister reads the journal. Entries (one per
//! journaled batch, or part of one per shard) are read through a Redis
//! consumer group on each journal stream, acknowledged only once stored,
//! claimed from a crashed consumer after they sat idle, and each stream is
//! trimmed only below what its group has acknowledged and what every live
//! reader of it (a process that tailed within [`READER_ALIVE_MS`]) has
//! read. An entry of an on-demand simulation comes back with no ticks: it
//! is acknowledged with the next batch and never stored.

use std::time::Duration;

use futures_util::future::join_all;
use redis::Value;
use shared::Tick;

use super::entry::Entry;

use super::entry;
use super::keys::Keys;
use crate::clock::now_millis;
use crate::redis::Link;
use crate::redis::reply::{pairs, text};

/// A journal entry: its id in its stream (`<ms>-<seq>`), behind its
/// shard's number with several streams (`<shard>/<ms>-<seq>`).
pub type EntryId = String;

/// The id of entry `id` of stream `shard` among `streams`.
fn entry_id(streams: usize, shard: usize, id: String) -> EntryId {
    if streams == 1 {
        id
    } else {
        format!("{shard}/{id}")
    }
}

/// An [`EntryId`]'s stream and id there.
fn split_id(entry: &str) -> (usize, &str) {
    match entry.split_once('/') {
        Some((shard, id)) => (shard.parse().unwrap_or(usize::MAX), id),
        None => (0, entry),
    }
}

/// A reader whose position is older than this no longer holds the stream
/// back (it stopped or died).
pub const READER_ALIVE_MS: i64 = 30_000;
/// A reader silent for this long is removed from the readers' hash.
const READER_FORGOTTEN_MS: i64 = 600_000;
/// With several streams, the pause after a read that found nothing in any
/// (a blocking read can wait on one stream only).
const SHARDS_IDLE: Duration = Duration::from_millis(50);

/// One journal stream and its readers' hash.
struct Stream {
    key: String,
    readers: String,
}

/// One consumer of the group on every journal stream.
pub struct ConsumerGroup {
    conn: Link,
    streams: Vec<Stream>,
    group: String,
    consumer: String,
}

impl ConsumerGroup {
    /// Joins (creating if need be) `group` on every journal stream as
    /// `consumer`. A new group starts at the beginning of its stream, so
    /// nothing journaled before it existed is missed.
    ///
    /// # Errors
    ///
    /// A Redis error other than "the group exists".
    pub async fn join(
        mut conn: Link,
        keys: &Keys,
        group: &str,
        consumer: &str,
    ) -> redis::RedisResult<Self> {
        let mut streams = Vec::new();
        for shard in 0..keys.shards() {
            let key = keys.journal(shard);
            let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&key)
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
            streams.push(Stream {
                key,
                readers: keys.readers(shard),
            });
        }
        Ok(Self {
            conn,
            streams,
            group: group.to_owned(),
            consumer: consumer.to_owned(),
        })
    }

    /// Reads up to `count` entries per stream never delivered to the group,
    /// waiting up to `block_ms` for the first; a simulated entry holds no
    /// ticks.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn read(
        &mut self,
        count: usize,
        block_ms: u64,
    ) -> redis::RedisResult<Vec<(EntryId, Vec<Tick>)>> {
        let streams = self.streams.len();
        let block = (streams == 1).then_some(block_ms);
        let reads = self.streams.iter().enumerate().map(|(shard, stream)| {
            let mut conn = self.conn.clone();
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP")
                .arg(&self.group)
                .arg(&self.consumer)
                .arg("COUNT")
                .arg(count);
            if let Some(ms) = block {
                cmd.arg("BLOCK").arg(ms);
            }
            cmd.arg("STREAMS").arg(&stream.key).arg(">");
            async move {
                let reply: Value = cmd.query_async(&mut conn).await?;
                Ok::<_, redis::RedisError>(ticks(streams, shard, &reply))
            }
        });
        let mut out = Vec::new();
        for read in join_all(reads).await {
            out.extend(read?);
        }
        if out.is_empty() && block.is_none() {
            tokio::time::sleep(SHARDS_IDLE.min(Duration::from_millis(block_ms))).await;
        }
        Ok(out)
    }

    /// Takes over up to `count` entries per stream delivered to any
    /// consumer of the group but not acknowledged for `min_idle_ms` (a
    /// crashed process).
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn claim_stale(
        &mut self,
        min_idle_ms: u64,
        count: usize,
    ) -> redis::RedisResult<Vec<(EntryId, Vec<Tick>)>> {
        let mut all = Vec::new();
        for (shard, stream) in self.streams.iter().enumerate() {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(&stream.key)
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
                continue;
            };
            let Some(Value::Array(claimed)) = parts.get(1) else {
                continue;
            };
            let (mut out, mut skipped) = (Vec::new(), 0);
            entry::parse_entries(claimed, &mut out, &mut skipped);
            all.extend(batches(self.streams.len(), shard, out, skipped));
        }
        Ok(all)
    }

    /// Acknowledges stored entries.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn ack(&mut self, ids: &[EntryId]) -> redis::RedisResult<u64> {
        let mut acked = 0;
        for (shard, stream) in self.streams.iter().enumerate() {
            let own: Vec<&str> = ids
                .iter()
                .map(|e| split_id(e))
                .filter(|(s, _)| *s == shard)
                .map(|(_, id)| id)
                .collect();
            if own.is_empty() {
                continue;
            }
            acked += redis::cmd("XACK")
                .arg(&stream.key)
                .arg(&self.group)
                .arg(&own)
                .query_async::<u64>(&mut self.conn)
                .await?;
        }
        Ok(acked)
    }

    /// Entries delivered but not yet acknowledged, in every stream.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn pending(&mut self) -> redis::RedisResult<u64> {
        let mut total = 0;
        for stream in &self.streams {
            let reply: Value = redis::cmd("XPENDING")
                .arg(&stream.key)
                .arg(&self.group)
                .query_async(&mut self.conn)
                .await?;
            total += match reply {
                Value::Array(parts) => match parts.first() {
                    Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
                    _ => 0,
                },
                _ => 0,
            };
        }
        Ok(total)
    }

    /// Trims each stream below the oldest entry still needed: by the group
    /// (its oldest pending entry, or else the last one delivered: entries
    /// before it are acknowledged) and by every live reader (its published
    /// position). Returns how many entries were removed.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub async fn trim_acknowledged(&mut self) -> redis::RedisResult<u64> {
        let mut removed = 0;
        for i in 0..self.streams.len() {
            removed += self.trim(i).await?;
        }
        Ok(removed)
    }

    async fn trim(&mut self, i: usize) -> redis::RedisResult<u64> {
        let (stream, readers) = (self.streams[i].key.clone(), self.streams[i].readers.clone());
        let summary: Value = redis::cmd("XPENDING")
            .arg(&stream)
            .arg(&self.group)
            .query_async(&mut self.conn)
            .await?;
        let oldest_pending = match &summary {
            Value::Array(parts) => parts.get(1).and_then(text),
            _ => None,
        };
        let floor = match oldest_pending {
            Some(id) => id,
            None => match self.last_delivered(&stream).await? {
                Some(id) => id,
                None => return Ok(0),
            },
        };
        let floor = match self.slowest_reader(&readers).await? {
            Some(reader) if id_key(&reader) < id_key(&floor) => reader,
            _ => floor,
        };
        redis::cmd("XTRIM")
            .arg(&stream)
            .arg("MINID")
            .arg(floor)
            .query_async(&mut self.conn)
            .await
    }

    /// The position of the slowest live reader; forgets long-silent ones.
    async fn slowest_reader(&mut self, key: &str) -> redis::RedisResult<Option<String>> {
        let readers: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(key)
            .query_async(&mut self.conn)
            .await?;
        let now = now_millis();
        let mut slowest: Option<String> = None;
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
                .arg(key)
                .arg(&forgotten)
                .query_async::<()>(&mut self.conn)
                .await?;
        }
        Ok(slowest)
    }

    async fn last_delivered(&mut self, stream: &str) -> redis::RedisResult<Option<String>> {
        let groups: Value = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(stream)
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

fn ticks(streams: usize, shard: usize, reply: &Value) -> Vec<(EntryId, Vec<Tick>)> {
    let (entries, skipped) = entry::parse_xread(reply);
    batches(streams, shard, entries, skipped)
}

fn batches(
    streams: usize,
    shard: usize,
    entries: Vec<(String, Entry)>,
    skipped: usize,
) -> Vec<(EntryId, Vec<Tick>)> {
    if skipped > 0 {
        tracing::warn!("{skipped} journal entries could not be read");
    }
    entries
        .into_iter()
        .map(|(id, e)| {
            let ticks = if e.simulated { Vec::new() } else { e.ticks };
            (entry_id(streams, shard, id), ticks)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_ids_name_their_stream_only_among_several() {
        use super::{entry_id, split_id};
        assert_eq!(entry_id(1, 0, "5-1".to_owned()), "5-1");
        assert_eq!(split_id("5-1"), (0, "5-1"));
        assert_eq!(entry_id(16, 11, "5-1".to_owned()), "11/5-1");
        assert_eq!(split_id("11/5-1"), (11, "5-1"));
    }

    #[test]
    fn entry_ids_order_as_numbers() {
        use super::id_key;
        assert!(id_key("999-5") < id_key("1000-0"));
        assert!(id_key("1000-2") < id_key("1000-10"));
        assert_eq!(id_key("1000"), (1000, 0));
    }
}
