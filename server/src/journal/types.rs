//! The journal's types: what appends are answered with, what the candle
//! builder is fed, and the [`Keeper`] a store implements to be the journal.

use std::future::Future;
use std::pin::Pin;

use shared::Tick;
use tokio::sync::mpsc;

/// Ticks delivered to the candle builder, in journal order.
pub type Feed = mpsc::Receiver<Journaled>;

/// A batch of ticks and when it was journaled (Unix ms).
#[derive(Debug, Clone)]
pub struct Journaled {
    /// When the newest of these ticks was journaled.
    pub at_ms: i64,
    /// The ticks, in journal order.
    pub ticks: Vec<Tick>,
    /// Whether they come from an on-demand simulation.
    pub simulated: bool,
}

/// Why ticks could not be journaled. Nothing of the batch is kept then.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Redis is away and the write-ahead file is at its bound.
    #[error("the journal is full while Redis is unreachable; retry later")]
    Full,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closed,
    /// The tick store, the journal without Redis, could not take the batch.
    #[error("the tick store cannot take ticks now ({0}); retry later")]
    Store(String),
    /// Redis is away and the write-ahead file cannot be written.
    #[error("the write-ahead file cannot take ticks now ({0}); retry later")]
    WriteAhead(String),
    /// Redis is away and this journal has no fallback (the replay writer).
    #[error("Redis is unreachable")]
    Unreachable,
    /// Redis records another journal shard count than this process's.
    #[error(
        "JOURNAL_SHARDS is {configured} but this Redis records {recorded} (field shards of journal:readers): every process on a Redis must use the same count; set JOURNAL_SHARDS={recorded}, or move the data before changing it"
    )]
    Shards {
        /// The count recorded in Redis.
        recorded: String,
        /// This process's `JOURNAL_SHARDS`.
        configured: u16,
    },
    /// Redis answered a start-up check with an error.
    #[error("Redis: {0}")]
    Redis(String),
}

/// Where a batch was journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// In the Redis stream.
    Redis,
    /// In the local write-ahead file (fsynced), written to Redis when it
    /// returns; without any journal configured, in-process only.
    Local,
    /// Committed to the tick store (no Redis: the store is the journal).
    Store,
}

/// Where the journal keeps accepted batches now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    /// The Redis stream.
    Redis,
    /// The local write-ahead file: the configured Redis is away, or the file
    /// is still being written to it.
    WriteAhead,
    /// The tick store (no Redis).
    Store,
    /// Nowhere: no Redis and no store (`REDIS_URL=none`, `DATABASE_URL=none`).
    Memory,
}

impl JournalMode {
    /// The name `/api/status` shows: `redis`, `write-ahead`, `store`, `memory`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::WriteAhead => "write-ahead",
            Self::Store => "store",
            Self::Memory => "memory",
        }
    }
}

/// A boxed future, so [`Keeper`] stays object-safe.
pub type Keeping<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// What keeps batches when there is no Redis: the tick store, committed
/// before ingest answers. Implemented by the persister.
pub trait Keeper: Send + Sync {
    /// Commits `ticks`, all or nothing; the error says why not.
    fn keep<'a>(&'a self, ticks: &'a [Tick]) -> Keeping<'a>;
}
