//! The in-process journal: ticks accepted while Redis is away, in order,
//! bounded, waiting to be written to Redis when it returns.

use std::collections::VecDeque;

use shared::Tick;

/// Ticks held in-process.
#[derive(Debug)]
pub struct Backlog {
    /// (append number, tick), oldest first.
    ticks: VecDeque<(u64, Tick)>,
    /// Most ticks held; appends past it are refused, never dropped.
    capacity: usize,
}

impl Backlog {
    /// An empty backlog holding at most `capacity` ticks.
    pub fn new(capacity: usize) -> Self {
        Self {
            ticks: VecDeque::new(),
            capacity,
        }
    }

    /// Whether `n` more ticks fit.
    pub fn has_room(&self, n: usize) -> bool {
        self.ticks.len() + n <= self.capacity
    }

    /// Holds ticks; the caller checked [`Backlog::has_room`].
    pub fn push(&mut self, oseq: u64, tick: Tick) {
        self.ticks.push_back((oseq, tick));
    }

    /// Ticks held.
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// The oldest `n` ticks, to write out.
    pub fn front(&self, n: usize) -> Vec<(u64, Tick)> {
        self.ticks.iter().take(n).copied().collect()
    }

    /// Forgets the oldest `n` ticks once they are written.
    pub fn drop_front(&mut self, n: usize) {
        self.ticks.drain(..n.min(self.ticks.len()));
    }
}
