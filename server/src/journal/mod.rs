//! The journal: every accepted tick is written here before ingest answers.
//!
//! With Redis, the journal is the stream `{prefix}journal` (plus the capped
//! view `{prefix}ticks:{asset}` and a pub/sub message per asset, as in the
//! original design); with `JOURNAL_SHARDS` = N (16 on a Redis Cluster), N
//! streams, an asset's ticks always in the same one ([`keys`]). Every
//! process tails every stream, each in order, so every process builds the
//! same candles; live fan-out between processes comes from that tail. The
//! persister reads the streams through a consumer group each, and a stream
//! is trimmed only below what that group has acknowledged and what every
//! live reader has read. The shard count is recorded in Redis: a process
//! configured with another one refuses to start.
//!
//! Three modes, what `/api/status` shows as `batch_status.journal`:
//! - `redis`: a batch is in the stream (one `MULTI`/`EXEC`) before ingest
//!   answers.
//! - `write-ahead`: the configured Redis is away; a batch is in the local
//!   write-ahead file (fsynced) before ingest answers, and reaches this
//!   process's candles at once. When Redis returns (or the process restarts)
//!   the file's records go to the stream in order, exactly once.
//! - `store`: no Redis configured (`REDIS_URL=none`), or the default
//!   address and no Redis answering at start-up: each batch is committed to
//!   the tick store before ingest answers.
//!
//! Ticks of an on-demand simulation are marked in their entry, so every
//! process shows them and no persister stores them; without Redis they reach
//! only this process's candles.
//!
//! # Layout
//!
//! - [`handle`]: [`Journal`], the handle.
//! - [`types`]: what it answers with and feeds, and the [`Keeper`] trait.
//! - [`inner`]: what the handle, the writer and the tailer share.
//! - [`writer`]: the one task that writes, grouping waiting appends.
//! - [`parts`]: a request split by shard.
//! - [`flush`]: the write-ahead file into Redis.
//! - [`commands`]: the Redis commands of a write.
//! - [`wal`]: the write-ahead file.
//! - [`tail`]: reading the stream in order, publishing the reader's position.
//! - [`delivered`]: own batches already delivered, not applied twice.
//! - [`entry`]: the stream entry's fields, written and read back.
//! - [`group`]: the persister's consumer group, and trimming.
//! - [`keys`]: key names, and an asset's shard.
//! - [`shards`]: the shard count recorded in Redis.

mod commands;
mod delivered;
pub mod entry;
mod flush;
pub mod group;
mod handle;
mod inner;
mod keys;
mod parts;
mod shards;
mod tail;
mod types;
pub mod wal;
mod writer;

pub use handle::Journal;
pub use keys::{Keys, shard_of};
pub use types::{Durability, Feed, JournalError, JournalMode, Journaled, Keeper, Keeping};
pub use wal::WalSettings;
