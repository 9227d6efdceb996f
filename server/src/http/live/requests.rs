//! [`Requests`]: what a client may ask of a live session, whatever carries
//! it (`/ws` frames or Socket.IO events): the rate limit, then parsing and
//! answering each request into the session's outbox.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use serde_json::value::RawValue;
use shared::protocol::{
    Authenticate, Authenticated, CacheRequest, CacheStored, ForAsset, ForSeries, HistoricalData,
    StreamError, StreamStarted, StreamStopped, Subscribe, wire_time,
};
use shared::{ClientMessage, ServerMessage, Timeframe};

use super::cached::checked;
use super::limiter::Limiter;
use crate::clock::now_millis;
use crate::history::CandleCache;
use crate::http::lockout::Verdict;
use crate::http::status;
use crate::hub::{Outbox, Seed, SessionId};
use crate::simulator::Claim;
use crate::state::AppState;

/// Frames refused by the rate limit within [`FLOOD_WINDOW`] after which the
/// session is closed: far past any burst, so only a flood ends a session,
/// however slowly the server gets through it.
const FLOOD_FRAMES: u32 = 1000;
/// The window [`FLOOD_FRAMES`] is counted in.
const FLOOD_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// One live session's requests, whatever carries them: the rate limit, then
/// parsing and answering each one into the session's outbox.
pub struct Requests<'a> {
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
    /// What a subscription without a timeframe covers: every timeframe
    /// (`None`, the `/ws` protocol) or one (Socket.IO: one-minute candles,
    /// as the original server streamed).
    unspecified: Option<Timeframe>,
}

/// What the rate limit says of a message.
pub enum Admission {
    /// Answer it.
    Admitted,
    /// Refused and answered with an error; the session goes on.
    Refused,
    /// A flood, not a burst: end the session.
    Flood,
}

/// How a session started: its id and queue, the client's address, whether
/// it presented the admin token, and what a subscription without a
/// timeframe covers.
pub struct Opening<'a> {
    /// The session's id in the hub.
    pub session: SessionId,
    /// Its send queue.
    pub outbox: &'a Arc<Outbox>,
    /// The client's address.
    pub ip: IpAddr,
    /// Whether it presented the admin token when it connected.
    pub admin: bool,
    /// See [`Requests`]: `None` for every timeframe.
    pub unspecified: Option<Timeframe>,
}

impl<'a> Requests<'a> {
    /// A session's requests, before the first.
    #[must_use]
    pub fn new(state: &'a AppState, opening: Opening<'a>) -> Self {
        Self {
            state,
            session: opening.session,
            outbox: opening.outbox,
            limiter: Limiter::new(state.config.limits.ws_rate_limit),
            flood: (Instant::now(), 0),
            streaming: None,
            admin: opening.admin,
            ip: opening.ip,
            first: true,
            unspecified: opening.unspecified,
        }
    }

    /// Counts one message (of any kind but a close) against the rate limit.
    pub fn admit(&mut self) -> Admission {
        let now = Instant::now();
        if self.limiter.allow(now) {
            return Admission::Admitted;
        }
        if self.flooded(now, 1) {
            return Admission::Flood;
        }
        let rate = self.state.config.limits.ws_rate_limit;
        self.state.metrics.frame_refused("rate_limited");
        self.refuse(format!(
            "rate limit exceeded: at most {rate} messages a second; message ignored"
        ));
        Admission::Refused
    }

    /// Counts `dropped` messages refused before they reached the session
    /// (its inbox was full) towards the flood rule; `true` for a flood.
    pub fn dropped(&mut self, dropped: u32) -> bool {
        dropped > 0 && self.flooded(Instant::now(), dropped)
    }

    /// Counts `refused` messages at `now` in the flood window; `true` once
    /// they are past [`FLOOD_FRAMES`] in it.
    fn flooded(&mut self, now: Instant, refused: u32) -> bool {
        if now.saturating_duration_since(self.flood.0) > FLOOD_WINDOW {
            self.flood = (now, 0);
        }
        self.flood.1 = self.flood.1.saturating_add(refused);
        if self.flood.1 > FLOOD_FRAMES {
            tracing::debug!(session = self.session, "rate limit flooded: session closed");
            return true;
        }
        false
    }

    /// Answers one `{"event", "data"}` text frame of `/ws`.
    pub async fn frame(&mut self, text: &str) {
        if !self.fits(text.len()) {
            return;
        }
        self.parsed(ClientMessage::from_json(text)).await;
    }

    /// Answers one message given as its event name and raw data (Socket.IO).
    pub async fn event(&mut self, event: &str, data: Option<&RawValue>) {
        if !self.fits(data.map_or(0, |d| d.get().len()) + event.len()) {
            return;
        }
        self.parsed(ClientMessage::from_event(event, data)).await;
    }

    /// Refuses a message whose data could not be read, saying why.
    pub fn malformed(&mut self, why: &str) {
        self.state.metrics.frame_refused("malformed");
        self.refuse(format!("malformed message: {why}"));
        self.first = false;
    }

    /// Refuses a binary message: the protocol is JSON text.
    pub fn binary(&self) {
        self.state.metrics.frame_refused("binary");
        self.refuse("binary frames are not supported: send JSON text frames");
    }

    /// Whether a message of `len` bytes is within `MAX_FRAME_BYTES`;
    /// answers an error when not.
    fn fits(&self, len: usize) -> bool {
        let max = self.state.config.limits.max_frame_bytes;
        if len > max {
            self.state.metrics.frame_refused("too_large");
            self.refuse(format!(
                "frame of {len} bytes is larger than the {max}-byte limit"
            ));
            return false;
        }
        true
    }

    async fn parsed(&mut self, message: Result<ClientMessage, shared::protocol::ProtocolError>) {
        match message {
            Ok(request) => self.dispatch(request).await,
            Err(e) => {
                self.state.metrics.frame_refused("malformed");
                self.refuse(e.to_string());
            }
        }
        self.first = false;
    }

    /// The cache, if this session may write it; otherwise says why not.
    fn privileged_cache(&self) -> Option<&CandleCache> {
        if !self.admin {
            self.state.metrics.frame_refused("not_admin");
            self.refuse(
                "this event needs the admin token: on /ws send {\"event\":\"authenticate\",\"data\":{\"token\":ADMIN_TOKEN}} as the first message; over Socket.IO connect with auth {\"token\": ADMIN_TOKEN}",
            );
            return None;
        }
        let cache = self.state.history.cache();
        if cache.is_none() {
            self.refuse("the candle cache needs Redis, and none is configured");
        }
        cache
    }

    /// `cache_historical_data`: the candles [`checked`], then merged into
    /// the cache; one wrong candle refuses them all and the cache stays as
    /// it was.
    async fn cache(&self, request: CacheRequest) {
        let Some(cache) = self.privileged_cache() else {
            return;
        };
        let (asset, timeframe) = (request.asset, request.timeframe);
        let sorted = match checked(request, now_millis(), self.state.history.sessions()) {
            Ok(sorted) => sorted,
            Err(why) => {
                self.refuse(why);
                return;
            }
        };
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
            ClientMessage::SubscribeRedisUpdates(mut subscribe) => {
                subscribe.timeframe = subscribe.timeframe.or(self.unspecified);
                let seed = match subscribe.timeframe {
                    Some(tf) => state.history.seed(subscribe.asset, tf).await,
                    None => None,
                };
                let seed = seed.as_ref().map(|(from, candles)| Seed {
                    from: *from,
                    candles,
                });
                if let Err(e) = state
                    .hub
                    .subscribe(self.session, self.outbox, &subscribe, seed)
                {
                    state.metrics.frame_refused("too_many_subscriptions");
                    self.refuse(e.to_string());
                }
            }
            ClientMessage::UnsubscribeRedisUpdates(request) => {
                state.hub.unsubscribe(self.session, &request);
                // Leaving the asset altogether lets go of its simulation.
                let asset = request.asset;
                if self.streaming.as_ref().is_some_and(|c| c.asset() == asset)
                    && !state.hub.follows(self.session, asset)
                {
                    self.streaming = None;
                }
                self.reply(&ServerMessage::RedisUnsubscribed(request));
            }
            ClientMessage::StartStream(ForAsset { asset }) => {
                // The asset's live stream first: a session at its subscription
                // limit starts nothing.
                if !state.hub.follows(self.session, asset) {
                    let every_timeframe = Subscribe {
                        asset,
                        timeframe: self.unspecified,
                        last_seq: None,
                        epoch: None,
                    };
                    if let Err(e) =
                        state
                            .hub
                            .subscribe(self.session, self.outbox, &every_timeframe, None)
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
