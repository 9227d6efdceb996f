//! [`Shared`]: what the handle, the writer and the tailer share, and the
//! [`Request`] an append sends the writer.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};

use shared::Tick;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::delivered::Delivered;
use super::keys::Keys;
use super::types::{Durability, JournalError, Keeper};
use crate::config::RedisConfig;
use crate::metrics::JournalMetrics;
use crate::redis::{Link, Target};

/// One append waiting for the writer.
pub(super) struct Request {
    pub(super) ticks: Vec<Tick>,
    pub(super) simulated: bool,
    pub(super) reply: oneshot::Sender<Result<Durability, JournalError>>,
    /// Its room in the queue, given back once answered.
    pub(super) room: OwnedSemaphorePermit,
}

/// What the handle, the writer and the tailer share.
pub(super) struct Shared {
    pub(super) keys: Keys,
    pub(super) config: RedisConfig,
    /// The Redis in use (one server or a cluster), when one is configured
    /// (or answered at start-up).
    pub(super) target: Option<Target>,
    /// A random id of this process, written with each entry.
    pub(super) origin: u64,
    pub(super) requests: mpsc::Sender<Request>,
    /// Room in the writer's queue, in ticks.
    pub(super) room: Arc<Semaphore>,
    /// The writer's connection while Redis is in use, for other readers and
    /// writers (cloned out, never held across I/O).
    pub(super) link: Mutex<Option<Link>>,
    /// Ticks in the write-ahead file waiting for Redis.
    pub(super) held: AtomicUsize,
    /// The store that keeps batches when there is no Redis.
    pub(super) keeper: OnceLock<Box<dyn Keeper>>,
    /// Own batches delivered to the candles before they reached the
    /// streams, per shard.
    pub(super) delivered: Vec<Delivered>,
    /// Accepted ticks and their first-hop latency.
    pub(super) metrics: JournalMetrics,
}

impl Shared {
    pub(super) fn set_link(&self, conn: Option<Link>) {
        *self
            .link
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = conn;
    }

    /// The delivered batches of journal stream `shard` (one per shard).
    pub(super) fn delivered(&self, shard: u16) -> &Delivered {
        &self.delivered[usize::from(shard)]
    }
}
