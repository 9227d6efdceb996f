//! One WebSocket session: a writer task draining the session's [`Outbox`]
//! and a reader loop answering the client's messages. One ending ends the
//! other; shutdown closes the socket with a reason.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use shared::protocol::{
    Authenticate, Authenticated, CacheRequest, CacheStored, ForAsset, ForSeries, HistoricalData,
    StreamError, StreamStarted, StreamStopped, Subscribe, wire_time,
};
use shared::{ClientMessage, ServerMessage};

use super::limiter::Limiter;
use crate::clock::now_millis;
use crate::history::CandleCache;
use crate::http::lockout::Verdict;
use crate::http::status;
use crate::hub::{Outbox, OutboxLimits, SessionId};
use crate::simulator::Claim;
use crate::state::AppState;

/// A send that takes longer than this ends the session: the client is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames refused by the rate limit within [`FLOOD_WINDOW`] after which the
/// session is closed: far past any burst, so only a flood ends a session,
/// however slowly the server gets through it.
const FLOOD_FRAMES: u32 = 1000;
/// The window [`FLOOD_FRAMES`] is counted in.
const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// Most frames written with one flush.
const WRITE_BATCH: usize = 64;
/// Pings in a row left unanswered when the session is closed: the client
/// is gone, or does not read.
const MISSED_PONGS: u32 = 2;

/// Serves one connection from `ip` until either side ends it; `admin` when
/// the upgrade carried the admin token.
pub async fn run(socket: WebSocket, state: AppState, admin: bool, ip: IpAddr) {
    let (mut sink, mut stream) = socket.split();
    let session = state.hub.new_session();
    let outbox = state.hub.outbox(OutboxLimits {
        frames: state.config.limits.ws_send_queue,
        bytes: state.config.limits.ws_send_queue_bytes,
    });
    let shutdown = state.shutdown.clone();

    let _counted = Counted::new(state.metrics.ws_clients.clone());
    let writer_outbox = outbox.clone();
    let to_socket = state.metrics.to_socket.clone();
    // Pings sent since the last pong: the writer counts up, the reader resets.
    let unanswered = Arc::new(AtomicU32::new(0));
    let pinged = unanswered.clone();
    let every = state.config.connections.ws_ping_interval;
    let mut writer = tokio::spawn(async move {
        let mut frames = Vec::with_capacity(WRITE_BATCH);
        let mut sources = Vec::with_capacity(WRITE_BATCH);
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ping.tick() => {
                    if pinged.fetch_add(1, Ordering::Relaxed) >= MISSED_PONGS {
                        let close = CloseFrame { code: 1001, reason: "no answer to pings".into() };
                        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(close)))).await;
                        break;
                    }
                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Default::default()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break;
                    }
                }
                open = writer_outbox.next_batch(&mut frames, &mut sources, WRITE_BATCH) => {
                    if !open {
                        break;
                    }
                    // Queue every waiting frame, then one flush: one write
                    // for many frames when the client is busy.
                    let send = async {
                        for frame in frames.drain(..) {
                            sink.feed(Message::Text(frame)).await?;
                        }
                        sink.flush().await
                    };
                    match tokio::time::timeout(SEND_TIMEOUT, send).await {
                        Ok(Ok(())) => {
                            let now = now_millis();
                            to_socket.observe_many(
                                sources.drain(..).map(|s| (now - s) as f64 / 1000.0),
                            );
                        }
                        _ => break,
                    }
                }
                () = shutdown.cancelled() => {
                    let close = CloseFrame { code: 1001, reason: "server shutting down".into() };
                    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(close)))).await;
                    break;
                }
            }
        }
    });

    let mut reader = Reader {
        state: &state,
        session,
        outbox: &outbox,
        limiter: Limiter::new(state.config.limits.ws_rate_limit),
        flood: (Instant::now(), 0),
        streaming: None,
        admin,
        ip,
        first: true,
    };
    let mut writer_done = false;
    loop {
        tokio::select! {
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            message = stream.next() => match message {
                Some(Ok(message)) => {
                    if matches!(message, Message::Pong(_)) {
                        unanswered.store(0, Ordering::Relaxed);
                    }
                    if !reader.handle(message).await {
                        break;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(session, "websocket read error: {e}");
                    break;
                }
                None => break,
            },
        }
    }
    state.hub.remove_session(session);
    outbox.close();
    if !writer_done {
        let _ = writer.await;
    }
}

/// Counts a client while it lives, however its session ends (a dropped
/// session future included).
struct Counted(prometheus_client::metrics::gauge::Gauge);

impl Counted {
    fn new(gauge: prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.dec();
    }
}

struct Reader<'a> {
    state: &'a AppState,
    session: SessionId,
    outbox: &'a Arc<Outbox>,
    limiter: Limiter,
    /// When the current flood window began, and the frames the rate limit
    /// refused in it.
    flood: (Instant, u32),
    /// The on-demand simulation this session holds; let go (after the
    /// linger) when the session ends.
    streaming: Option<Claim>,
    /// Whether the session presented the admin token.
    admin: bool,
    /// The client's address, against which wrong tokens count.
    ip: IpAddr,
    /// No message has been answered yet: `authenticate` is allowed.
    first: bool,
}

impl Reader<'_> {
    /// The cache, if this session may write it; otherwise says why not.
    fn privileged_cache(&self) -> Option<&CandleCache> {
        if !self.admin {
            self.state.metrics.frame_refused("not_admin");
            self.refuse(
                "this event needs the admin token: send {\"event\":\"authenticate\",\"data\":{\"token\":ADMIN_TOKEN}} as the first message",
            );
            return None;
        }
        let cache = self.state.history.cache();
        if cache.is_none() {
            self.refuse("the candle cache needs Redis, and none is configured");
        }
        cache
    }

    /// `cache_historical_data`: every candle must be of the named asset and
    /// timeframe (the protocol already checked each one's prices and time);
    /// one wrong candle refuses them all and the cache stays as it was.
    async fn cache(&self, request: CacheRequest) {
        let Some(cache) = self.privileged_cache() else {
            return;
        };
        let CacheRequest {
            asset,
            timeframe,
            data,
        } = request;
        if data.is_empty() {
            self.refuse("cache_historical_data needs at least one candle");
            return;
        }
        // A candle from the future would sort after the forming one and
        // hide it from every reader.
        let forming = timeframe.bucket_of_millis(now_millis());
        if let Some((i, c)) = data
            .iter()
            .enumerate()
            .find(|(_, c)| c.open_time() > forming)
        {
            self.refuse(format!(
                "candle {i} opens at {}, after the forming {timeframe} candle ({}); nothing was cached",
                wire_time(c.open_time().saturating_mul(1000)),
                wire_time(forming * 1000)
            ));
            return;
        }
        if let Some((i, c)) = data
            .iter()
            .enumerate()
            .find(|(_, c)| c.asset() != asset || c.timeframe() != timeframe)
        {
            self.refuse(format!(
                "candle {i} is for {} {}, not {asset} {timeframe}; nothing was cached",
                c.asset(),
                c.timeframe()
            ));
            return;
        }
        let mut sorted = data;
        sorted.sort_by_key(shared::Candle::open_time);
        if sorted
            .windows(2)
            .any(|w| w[0].open_time() == w[1].open_time())
        {
            self.refuse("two candles share an open time; nothing was cached");
            return;
        }
        match cache.merge(asset, timeframe, &sorted).await {
            Ok(_) => self.reply(&ServerMessage::HistoricalDataCached(CacheStored {
                asset,
                timeframe,
                count: sorted.len(),
            })),
            Err(e) => {
                tracing::warn!("writing the cache failed: {e}");
                self.refuse("the cache could not be written; try again");
            }
        }
    }

    fn reply(&self, message: &ServerMessage) {
        self.outbox.push_frame(Utf8Bytes::from(message.to_json()));
    }

    fn stream_error(&self, error: String) {
        self.reply(&ServerMessage::StreamError(StreamError {
            error,
            timestamp: wire_time(now_millis()),
        }));
    }

    fn refuse(&self, message: impl Into<String>) {
        self.reply(&ServerMessage::error(message));
    }

    /// Answers one frame; `false` ends the session. Every frame but a
    /// close counts against the rate limit, pings and binary ones included.
    async fn handle(&mut self, message: Message) -> bool {
        if matches!(message, Message::Close(_)) {
            return false;
        }
        let now = Instant::now();
        if !self.limiter.allow(now) {
            if now.saturating_duration_since(self.flood.0) > FLOOD_WINDOW {
                self.flood = (now, 0);
            }
            self.flood.1 += 1;
            if self.flood.1 > FLOOD_FRAMES {
                // A flood, not a burst: reading it would cost everyone.
                tracing::debug!(session = self.session, "rate limit flooded: session closed");
                return false;
            }
            let rate = self.state.config.limits.ws_rate_limit;
            self.state.metrics.frame_refused("rate_limited");
            self.refuse(format!(
                "rate limit exceeded: at most {rate} messages a second; message ignored"
            ));
            return true;
        }
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                self.state.metrics.frame_refused("binary");
                self.refuse("binary frames are not supported: send JSON text frames");
                return true;
            }
            // Answered by the socket itself (a ping's pong) or nothing to do.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return true,
        };
        let max = self.state.config.limits.max_frame_bytes;
        if text.len() > max {
            self.state.metrics.frame_refused("too_large");
            self.refuse(format!(
                "frame of {} bytes is larger than the {max}-byte limit",
                text.len()
            ));
            return true;
        }
        match ClientMessage::from_json(&text) {
            Ok(request) => self.dispatch(request).await,
            Err(e) => {
                self.state.metrics.frame_refused("malformed");
                self.refuse(e.to_string());
            }
        }
        self.first = false;
        true
    }

    /// `authenticate {token}`: the session's first message only. A wrong
    /// token counts against the address like a wrong `?token=`.
    fn authenticate(&mut self, request: &Authenticate) {
        if !self.first {
            self.state.metrics.frame_refused("not_first");
            self.refuse(
                "authenticate must be the session's first message: reconnect and send it first",
            );
            return;
        }
        let expected = self.state.config.access.admin_token.as_deref();
        match self.state.lockout.check(self.ip, &request.token, expected) {
            Verdict::Accepted => {
                self.admin = true;
                self.reply(&ServerMessage::Authenticated(Authenticated {}));
            }
            Verdict::Wrong => {
                self.state.metrics.frame_refused("wrong_token");
                self.refuse("wrong admin token; the session goes on without privileges");
            }
            Verdict::LockedOut { retry_after_secs } => {
                self.state.metrics.frame_refused("locked_out");
                self.refuse(format!(
                    "too many wrong tokens from this address; try again in {retry_after_secs} s"
                ));
            }
        }
    }

    async fn dispatch(&mut self, request: ClientMessage) {
        let state = self.state;
        match request {
            ClientMessage::SubscribeRedisUpdates(subscribe) => {
                if let Err(e) = state.hub.subscribe(self.session, self.outbox, &subscribe) {
                    state.metrics.frame_refused("too_many_subscriptions");
                    self.refuse(e.to_string());
                }
            }
            ClientMessage::UnsubscribeRedisUpdates(ForAsset { asset }) => {
                state.hub.unsubscribe(self.session, asset);
                // Leaving the asset lets go of its simulation.
                if self.streaming.as_ref().is_some_and(|c| c.asset() == asset) {
                    self.streaming = None;
                }
                self.reply(&ServerMessage::RedisUnsubscribed(ForAsset { asset }));
            }
            ClientMessage::StartStream(ForAsset { asset }) => {
                // The asset's live stream first: a session at its subscription
                // limit starts nothing.
                if !state.hub.follows(self.session, asset) {
                    let every_timeframe = Subscribe {
                        asset,
                        timeframe: None,
                        last_seq: None,
                        epoch: None,
                    };
                    if let Err(e) = state
                        .hub
                        .subscribe(self.session, self.outbox, &every_timeframe)
                    {
                        state.metrics.frame_refused("too_many_subscriptions");
                        self.stream_error(e.to_string());
                        return;
                    }
                }
                // Simulated only if it may be (one simulation a session: a
                // new one lets go of the previous).
                match state.simulator.stream(asset).await {
                    Ok(claim) => {
                        self.streaming = claim;
                        self.reply(&ServerMessage::StreamStarted(StreamStarted {
                            asset,
                            timestamp: wire_time(now_millis()),
                        }));
                    }
                    Err(refused) => self.stream_error(refused.to_string()),
                }
            }
            ClientMessage::StopStream => {
                // Only this session's hold; never the operator's feeds.
                if let Some(claim) = self.streaming.take() {
                    claim.stop();
                }
                self.reply(&ServerMessage::StreamStopped(StreamStopped {
                    timestamp: wire_time(now_millis()),
                }));
            }
            ClientMessage::GetCachedHistoricalData(ForSeries { asset, timeframe }) => {
                let limit =
                    usize::try_from(state.config.redis.redis_historical_cache_size).unwrap_or(200);
                let found = state.history.recent(asset, timeframe, limit).await;
                self.reply(&ServerMessage::CachedHistoricalData(HistoricalData {
                    asset,
                    timeframe,
                    data: found.candles,
                    source: found.source,
                }));
            }
            ClientMessage::CacheHistoricalData(request) => self.cache(request).await,
            ClientMessage::ClearCachedHistoricalData(ForSeries { asset, timeframe }) => {
                let Some(cache) = self.privileged_cache() else {
                    return;
                };
                match cache.clear(asset, timeframe).await {
                    Ok(()) => self.reply(&ServerMessage::HistoricalDataCacheCleared(ForSeries {
                        asset,
                        timeframe,
                    })),
                    Err(e) => {
                        tracing::warn!("clearing the cache failed: {e}");
                        self.refuse("the cache could not be cleared; try again");
                    }
                }
            }
            ClientMessage::GetRedisStatus => {
                self.reply(&ServerMessage::RedisStatus(status::current(state).await));
            }
            ClientMessage::Authenticate(request) => self.authenticate(&request),
        }
    }
}
