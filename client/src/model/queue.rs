//! [`MessageQueue`]: the server's messages waiting for the next processing
//! tick, bounded. Candle data can be dropped (a snapshot restores it); the
//! other messages (stream started or failed, errors, status) cannot.

use std::collections::VecDeque;

use shared::ServerMessage;

/// Whether a message carries candles of a series.
#[must_use]
pub const fn is_candle_data(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::RedisUpdate(_)
            | ServerMessage::CandleSnapshot(_)
            | ServerMessage::CachedHistoricalData(_)
    )
}

/// Messages waiting to be applied, at most `max` of them.
#[derive(Debug, Clone)]
pub struct MessageQueue {
    messages: VecDeque<ServerMessage>,
    max: usize,
}

impl MessageQueue {
    /// An empty queue of at most `max` messages.
    #[must_use]
    pub const fn new(max: usize) -> Self {
        Self {
            messages: VecDeque::new(),
            max,
        }
    }

    /// How many messages wait.
    #[must_use]
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether nothing waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Queues `message`. Returns `true` when the queue was full: the live
    /// updates queued (and `message`, if one) were dropped, so the series
    /// must start over from a snapshot; everything else is kept.
    pub fn push(&mut self, message: ServerMessage) -> bool {
        let overflow = self.messages.len() >= self.max;
        if overflow {
            self.messages
                .retain(|m| !matches!(m, ServerMessage::RedisUpdate(_)));
            if matches!(message, ServerMessage::RedisUpdate(_)) {
                return true;
            }
        }
        self.messages.push_back(message);
        overflow
    }

    /// Another series is shown: its predecessor's candles are dropped, the
    /// other messages kept.
    pub fn drop_candle_data(&mut self) {
        self.messages.retain(|m| !is_candle_data(m));
    }

    /// Takes every message queued, oldest first.
    pub fn take(&mut self) -> VecDeque<ServerMessage> {
        std::mem::take(&mut self.messages)
    }
}

#[cfg(test)]
mod tests {
    use shared::Asset;
    use shared::protocol::{CandleUpdate, StreamStarted};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::model::testing::candle;

    fn update(seq: u64) -> ServerMessage {
        ServerMessage::RedisUpdate(CandleUpdate {
            data: candle(0, "1.1"),
            seq,
        })
    }

    fn started() -> ServerMessage {
        ServerMessage::StreamStarted(StreamStarted {
            asset: Asset::new("EURUSD_otc"),
            timestamp: "2026-01-01T00:00:00Z".into(),
        })
    }

    #[wasm_bindgen_test]
    fn an_overflow_drops_only_live_updates() {
        let mut q = MessageQueue::new(3);
        assert!(!q.push(update(1)));
        assert!(!q.push(started()));
        assert!(!q.push(update(2)));
        assert!(q.push(update(3)), "full: the updates go, this one too");
        assert_eq!(q.take(), [started()]);
        for seq in 0..3 {
            q.push(update(seq));
        }
        assert!(q.push(ServerMessage::error("refused")));
        assert_eq!(q.take(), [ServerMessage::error("refused")]);
        assert!(q.is_empty());
    }

    #[wasm_bindgen_test]
    fn a_switch_drops_candles_but_keeps_the_rest() {
        let mut q = MessageQueue::new(100);
        q.push(update(1));
        q.push(started());
        q.push(update(2));
        q.push(ServerMessage::error("no such asset"));
        q.drop_candle_data();
        assert_eq!(q.len(), 2);
        assert_eq!(q.take(), [started(), ServerMessage::error("no such asset")]);
    }
}
