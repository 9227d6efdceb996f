//! [`ClientMessage`]: what a browser sends to the server.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{
    ForAsset, ForSeries, ProtocolError, Unsubscribe, data, default_timeframe, split_frame, text_of,
};
use crate::{Asset, Candle, Timeframe};

/// `subscribe_redis_updates {asset, timeframe?, last_seq?}`.
///
/// Without a timeframe the subscription covers every precomputed timeframe;
/// with one, that timeframe. Subscriptions to several timeframes of an asset
/// add up, each ended on its own by `unsubscribe_redis_updates {asset,
/// timeframe}`. With a timeframe and the last sequence number seen, the
/// server resumes: it sends
/// exactly the updates after `last_seq`, or a fresh snapshot when they are no
/// longer held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The asset.
    pub asset: Asset,
    /// One timeframe, or every timeframe when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<Timeframe>,
    /// The last `seq` received for (asset, timeframe), to resume after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// The `epoch` of the snapshot that `last_seq` counts from; a resume
    /// against another epoch (another process, a restart) gets a snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
}

/// A privileged request to store candles in the history cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheRequest {
    /// The asset.
    pub asset: Asset,
    /// The timeframe; `1M` when omitted.
    #[serde(default = "default_timeframe")]
    pub timeframe: Timeframe,
    /// The candles, each checked on arrival.
    pub data: Vec<Candle>,
}

/// `authenticate {token}`: makes the session privileged when `token` is the
/// server's `ADMIN_TOKEN`. Only a session's first message may be one, so the
/// token need not travel in the URL (`/ws?token=`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authenticate {
    /// The admin token.
    pub token: String,
}

/// Never shows the token, so a logged message cannot leak it.
impl fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("token", &"***")
            .finish()
    }
}

/// A message from a browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Receive live candle updates for an asset.
    SubscribeRedisUpdates(Subscribe),
    /// Stop receiving them (one timeframe, or all of the asset's).
    UnsubscribeRedisUpdates(Unsubscribe),
    /// Start the feed (the simulator) for an asset.
    StartStream(ForAsset),
    /// Stop the feed this session started.
    StopStream,
    /// Ask for recent candles.
    GetCachedHistoricalData(ForSeries),
    /// Store candles in the cache (admin only).
    CacheHistoricalData(CacheRequest),
    /// Drop cached candles (admin only).
    ClearCachedHistoricalData(ForSeries),
    /// Ask for Redis and persister status.
    GetRedisStatus,
    /// Present the admin token (the session's first message only).
    Authenticate(Authenticate),
}

impl ClientMessage {
    /// Every event name a client may send.
    pub const EVENTS: [&'static str; 9] = [
        "subscribe_redis_updates",
        "unsubscribe_redis_updates",
        "start_stream",
        "stop_stream",
        "get_cached_historical_data",
        "cache_historical_data",
        "clear_cached_historical_data",
        "get_redis_status",
        "authenticate",
    ];

    /// Parses one text frame.
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] naming what is wrong; never panics.
    pub fn from_json(text: &str) -> Result<Self, ProtocolError> {
        let frame = split_frame(text)?;
        Self::from_event(&frame.event, frame.data)
    }

    /// Parses one frame given as bytes.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::NotText`] for bytes that are not UTF-8, otherwise as
    /// [`ClientMessage::from_json`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProtocolError> {
        Self::from_json(text_of(bytes)?)
    }

    /// Parses a message given as its event name and raw JSON data, as
    /// transports with their own framing (Socket.IO) deliver it.
    ///
    /// # Errors
    ///
    /// As [`ClientMessage::from_json`].
    pub fn from_event(event: &str, raw: Option<&RawValue>) -> Result<Self, ProtocolError> {
        Ok(match event {
            "subscribe_redis_updates" => {
                Self::SubscribeRedisUpdates(data("subscribe_redis_updates", raw)?)
            }
            "unsubscribe_redis_updates" => {
                Self::UnsubscribeRedisUpdates(data("unsubscribe_redis_updates", raw)?)
            }
            "start_stream" => Self::StartStream(data("start_stream", raw)?),
            "stop_stream" => Self::StopStream,
            "get_cached_historical_data" => {
                Self::GetCachedHistoricalData(data("get_cached_historical_data", raw)?)
            }
            "cache_historical_data" => {
                Self::CacheHistoricalData(data("cache_historical_data", raw)?)
            }
            "clear_cached_historical_data" => {
                Self::ClearCachedHistoricalData(data("clear_cached_historical_data", raw)?)
            }
            "get_redis_status" => Self::GetRedisStatus,
            "authenticate" => Self::Authenticate(data("authenticate", raw)?),
            other => {
                return Err(ProtocolError::UnknownEvent(
                    other.chars().take(64).collect(),
                ));
            }
        })
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
            Self::SubscribeRedisUpdates(_) => "subscribe_redis_updates",
            Self::UnsubscribeRedisUpdates(_) => "unsubscribe_redis_updates",
            Self::StartStream(_) => "start_stream",
            Self::StopStream => "stop_stream",
            Self::GetCachedHistoricalData(_) => "get_cached_historical_data",
            Self::CacheHistoricalData(_) => "cache_historical_data",
            Self::ClearCachedHistoricalData(_) => "clear_cached_historical_data",
            Self::GetRedisStatus => "get_redis_status",
            Self::Authenticate(_) => "authenticate",
        }
    }
}
