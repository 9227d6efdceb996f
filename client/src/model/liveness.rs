//! [`Liveness`]: whether the open connection is alive and whether it has
//! proved useful, which decide when the reconnection backoff starts over
//! and when a silent socket is given up.

use shared::ServerMessage;

/// A connection with no frame at all for this long is dead.
pub const SILENCE_LIMIT_MS: f64 = 15_000.0;
/// How often the page probes (`get_redis_status`) while open.
pub const PROBE_EVERY_MS: f64 = 5_000.0;

/// What one connection has shown since it opened.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Liveness {
    /// When the last frame (or the opening) was seen.
    last_heard_ms: f64,
    /// When the oldest probe still unanswered went out.
    probe_out_since_ms: Option<f64>,
    /// A snapshot or `redis_subscribed` came on this connection.
    confirmed: bool,
}

impl Liveness {
    /// A connection opened at `now_ms`: nothing confirmed yet.
    #[must_use]
    pub const fn opened(now_ms: f64) -> Self {
        Self {
            last_heard_ms: now_ms,
            probe_out_since_ms: None,
            confirmed: false,
        }
    }

    /// A frame arrived at `now_ms`. Returns `true` the first time it shows
    /// the server took the subscription (a snapshot or `redis_subscribed`):
    /// only then does the backoff start over, so a server that accepts and
    /// closes at once is not retried at the shortest delay.
    pub fn on_frame(&mut self, message: &ServerMessage, now_ms: f64) -> bool {
        self.last_heard_ms = now_ms;
        self.probe_out_since_ms = None;
        let confirms = matches!(
            message,
            ServerMessage::CandleSnapshot(_) | ServerMessage::RedisSubscribed(_)
        );
        confirms && !std::mem::replace(&mut self.confirmed, true)
    }

    /// A probe went out at `now_ms`.
    pub fn on_probe(&mut self, now_ms: f64) {
        self.probe_out_since_ms.get_or_insert(now_ms);
    }

    /// Whether the connection is to be given up at `now_ms`: no frame for
    /// [`SILENCE_LIMIT_MS`], and a probe unanswered for a probe interval
    /// (so timers slowed down in a hidden tab do not condemn a quiet but
    /// live connection before it was asked).
    #[must_use]
    pub fn is_dead(&self, now_ms: f64) -> bool {
        now_ms - self.last_heard_ms >= SILENCE_LIMIT_MS
            && self
                .probe_out_since_ms
                .is_some_and(|t| now_ms - t >= PROBE_EVERY_MS)
    }
}

#[cfg(test)]
mod tests {
    use shared::{Asset, ForAsset};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    fn subscribed() -> ServerMessage {
        ServerMessage::RedisSubscribed(ForAsset {
            asset: Asset::new("EURUSD_otc"),
        })
    }

    #[wasm_bindgen_test]
    fn only_a_subscription_taken_confirms_the_connection_once() {
        let mut l = Liveness::opened(0.0);
        assert!(!l.on_frame(&ServerMessage::error("busy"), 10.0));
        assert!(l.on_frame(&subscribed(), 20.0));
        assert!(!l.on_frame(&subscribed(), 30.0), "once per connection");
        assert!(Liveness::opened(40.0).on_frame(&subscribed(), 50.0));
    }

    #[wasm_bindgen_test]
    fn a_connection_silent_for_15_s_while_probed_is_dead() {
        let mut l = Liveness::opened(0.0);
        l.on_frame(&subscribed(), 100.0);
        // Probed every 5 s, never answered.
        for t in [5_000.0, 10_000.0, 15_000.0] {
            assert!(!l.is_dead(t), "{t}");
            l.on_probe(t);
        }
        assert!(!l.is_dead(15_099.0));
        assert!(l.is_dead(15_100.0));
        // Any frame keeps it alive.
        l.on_frame(&ServerMessage::error("late"), 15_100.0);
        assert!(!l.is_dead(29_000.0));
    }

    #[wasm_bindgen_test]
    fn a_quiet_connection_is_asked_before_it_is_given_up() {
        // A hidden tab's timers ran late: no probe since the last answer.
        let mut l = Liveness::opened(0.0);
        assert!(!l.is_dead(60_000.0));
        l.on_probe(60_000.0);
        assert!(!l.is_dead(64_000.0));
        assert!(l.is_dead(65_000.0));
    }
}
