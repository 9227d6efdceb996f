//! [`ServerMessage`]: what the server sends to a browser.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ForAsset, ForSeries, ProtocolError, Unsubscribe, data, split_frame, text_of};
use crate::{Asset, Candle, Timeframe};

/// A live change to a candle, numbered per asset and timeframe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandleUpdate {
    /// The candle as it now is.
    pub data: Candle,
    /// Its sequence number within (asset, timeframe) and the server's run
    /// (`epoch`), increasing. Numbers may skip: a slow client's queue keeps
    /// only the newest state of each candle, which stands for the updates it
    /// replaced, so a gap loses nothing. A number at or below the last one
    /// applied is a repeat.
    pub seq: u64,
}

/// Why a snapshot is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotReason {
    /// A new subscription starts from the current candles.
    Subscribed,
    /// The updates after the client's `last_seq` are no longer held.
    ResumeTooOld,
    /// The client fell too far behind; queued updates were replaced by this.
    Lagged,
}

/// `candle_snapshot {asset, timeframe, seq, reason, data}`: the recent
/// candles, oldest first with the forming one last, as of update `seq`. Live
/// updates continue from `seq + 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandleSnapshot {
    /// The asset.
    pub asset: Asset,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// The last update included.
    pub seq: u64,
    /// Which numbering `seq` belongs to (one per server process run).
    pub epoch: u64,
    /// Why it was sent.
    pub reason: SnapshotReason,
    /// The candles.
    pub data: Vec<Candle>,
}

/// `stream_started {asset, timestamp}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamStarted {
    /// The asset now streaming.
    pub asset: Asset,
    /// When, ISO 8601 UTC.
    pub timestamp: String,
}

/// `stream_stopped {timestamp}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamStopped {
    /// When, ISO 8601 UTC.
    pub timestamp: String,
}

/// `stream_error {error, timestamp}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamError {
    /// What went wrong, for the user.
    pub error: String,
    /// When, ISO 8601 UTC.
    pub timestamp: String,
}

/// Where historical candles came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistorySource {
    /// The Redis cache `historical:{asset}:{timeframe}`.
    RedisCache,
    /// Computed from stored ticks.
    Database,
    /// Nothing cached and nothing stored.
    CacheMiss,
}

/// `cached_historical_data {asset, timeframe, data, source}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoricalData {
    /// The asset.
    pub asset: Asset,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// Candles oldest first, or `null` on a miss.
    pub data: Option<Vec<Candle>>,
    /// Where they came from.
    pub source: HistorySource,
}

/// `historical_data_cached {asset, timeframe, count}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheStored {
    /// The asset.
    pub asset: Asset,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// How many candles were stored.
    pub count: usize,
}

/// `redis_status {connected, redis_info, batch_status, timestamp}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisStatus {
    /// Whether the server is talking to Redis now.
    pub connected: bool,
    /// Figures from Redis `INFO`, as name to value.
    #[serde(default)]
    pub redis_info: serde_json::Map<String, serde_json::Value>,
    /// The persister's status.
    #[serde(default)]
    pub batch_status: serde_json::Map<String, serde_json::Value>,
    /// This process's live counters: updates delivered, lagging sessions,
    /// late ticks refused, candles revised.
    #[serde(default)]
    pub live: serde_json::Map<String, serde_json::Value>,
    /// When, ISO 8601 UTC.
    pub timestamp: String,
    /// Per asset, whether its feed is stale (no tick for several times its
    /// usual interval), for the page's feed badge.
    #[serde(default)]
    pub feeds: BTreeMap<Asset, FeedHealth>,
}

/// One asset's feed in `redis_status.feeds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedHealth {
    /// No tick for several times the usual interval (and at least the floor).
    pub stale: bool,
    /// Source timestamp of the newest tick, Unix ms.
    pub last_tick_ms: i64,
    /// The learned usual gap between ticks, ms; `null` until two ticks came.
    #[serde(default)]
    pub usual_interval_ms: Option<u64>,
}

/// `error {message}`: a request was refused; the connection goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorMessage {
    /// What was wrong, for the user.
    pub message: String,
}

/// `authenticated {}`: the session's `authenticate` token was right; it may
/// now write and clear the candle cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authenticated {}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A live candle change.
    RedisUpdate(CandleUpdate),
    /// Recent candles of one series; live updates follow.
    CandleSnapshot(CandleSnapshot),
    /// The subscription is active.
    RedisSubscribed(ForAsset),
    /// The subscription has ended (one timeframe, or all of the asset's).
    RedisUnsubscribed(Unsubscribe),
    /// The feed started.
    StreamStarted(StreamStarted),
    /// The feed stopped.
    StreamStopped(StreamStopped),
    /// The feed could not start or failed.
    StreamError(StreamError),
    /// Historical candles.
    CachedHistoricalData(HistoricalData),
    /// Candles were stored in the cache.
    HistoricalDataCached(CacheStored),
    /// Cached candles were dropped.
    HistoricalDataCacheCleared(ForSeries),
    /// Redis and persister status.
    RedisStatus(RedisStatus),
    /// A request was refused.
    Error(ErrorMessage),
    /// The session is privileged (the answer to `authenticate`).
    Authenticated(Authenticated),
}

impl ServerMessage {
    /// Every event name the server may send.
    pub const EVENTS: [&'static str; 13] = [
        "redis_update",
        "candle_snapshot",
        "redis_subscribed",
        "redis_unsubscribed",
        "stream_started",
        "stream_stopped",
        "stream_error",
        "cached_historical_data",
        "historical_data_cached",
        "historical_data_cache_cleared",
        "redis_status",
        "error",
        "authenticated",
    ];

    /// An `error {message}` frame.
    #[must_use]
    pub fn error(message: impl Into<String>) -> Self {
        Self::Error(ErrorMessage {
            message: message.into(),
        })
    }

    /// Parses one text frame.
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] naming what is wrong; never panics.
    pub fn from_json(text: &str) -> Result<Self, ProtocolError> {
        let frame = split_frame(text)?;
        let raw = frame.data;
        Ok(match frame.event.as_str() {
            "redis_update" => Self::RedisUpdate(data("redis_update", raw)?),
            "candle_snapshot" => Self::CandleSnapshot(data("candle_snapshot", raw)?),
            "redis_subscribed" => Self::RedisSubscribed(data("redis_subscribed", raw)?),
            "redis_unsubscribed" => Self::RedisUnsubscribed(data("redis_unsubscribed", raw)?),
            "stream_started" => Self::StreamStarted(data("stream_started", raw)?),
            "stream_stopped" => Self::StreamStopped(data("stream_stopped", raw)?),
            "stream_error" => Self::StreamError(data("stream_error", raw)?),
            "cached_historical_data" => {
                Self::CachedHistoricalData(data("cached_historical_data", raw)?)
            }
            "historical_data_cached" => {
                Self::HistoricalDataCached(data("historical_data_cached", raw)?)
            }
            "historical_data_cache_cleared" => {
                Self::HistoricalDataCacheCleared(data("historical_data_cache_cleared", raw)?)
            }
            "redis_status" => Self::RedisStatus(data("redis_status", raw)?),
            "error" => Self::Error(data("error", raw)?),
            "authenticated" => Self::Authenticated(data("authenticated", raw)?),
            other => {
                return Err(ProtocolError::UnknownEvent(
                    other.chars().take(64).collect(),
                ));
            }
        })
    }

    /// Parses one frame given as bytes.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::NotText`] for bytes that are not UTF-8, otherwise as
    /// [`ServerMessage::from_json`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProtocolError> {
        Self::from_json(text_of(bytes)?)
    }

    /// The frame as JSON text.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The event name of this message.
    #[must_use]
    pub const fn event(&self) -> &'static str {
        match self {
            Self::RedisUpdate(_) => "redis_update",
            Self::CandleSnapshot(_) => "candle_snapshot",
            Self::RedisSubscribed(_) => "redis_subscribed",
            Self::RedisUnsubscribed(_) => "redis_unsubscribed",
            Self::StreamStarted(_) => "stream_started",
            Self::StreamStopped(_) => "stream_stopped",
            Self::StreamError(_) => "stream_error",
            Self::CachedHistoricalData(_) => "cached_historical_data",
            Self::HistoricalDataCached(_) => "historical_data_cached",
            Self::HistoricalDataCacheCleared(_) => "historical_data_cache_cleared",
            Self::RedisStatus(_) => "redis_status",
            Self::Error(_) => "error",
            Self::Authenticated(_) => "authenticated",
        }
    }
}
