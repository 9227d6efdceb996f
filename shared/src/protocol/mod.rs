//! The WebSocket wire protocol: JSON text frames `{"event": NAME, "data": {...}}`.
//!
//! [`ClientMessage`] is what a browser sends, [`ServerMessage`] what the
//! server answers; the event names are those of the original design. Parsing
//! never panics: anything malformed is a [`ProtocolError`] that names the
//! event and the field at fault.

mod client;
mod server;

pub use client::{Authenticate, CacheRequest, ClientMessage, Subscribe};
pub use server::{
    Authenticated, CacheStored, CandleSnapshot, CandleUpdate, ErrorMessage, FeedHealth,
    HistoricalData, HistorySource, RedisStatus, ServerMessage, SnapshotReason, StreamError,
    StreamStarted, StreamStopped,
};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{Asset, Timeframe};

/// Why a frame is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The frame is not UTF-8 text.
    #[error("frame is not UTF-8 text")]
    NotText,
    /// The frame is not a JSON object with an `event` string.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The event name is not one this side understands.
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    /// The event needs a `data` object and none came.
    #[error("event {0:?} needs a data object")]
    MissingData(&'static str),
    /// The `data` object is wrong for its event.
    #[error("invalid data for {event:?}: {reason}")]
    InvalidData {
        /// The event whose data is wrong.
        event: &'static str,
        /// What is wrong, naming the field.
        reason: String,
    },
}

/// The data of an event about one asset: `{asset}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForAsset {
    /// The asset.
    pub asset: Asset,
}

/// `unsubscribe_redis_updates {asset, timeframe?}` and its answer
/// `redis_unsubscribed`: ends the subscription to one timeframe of an asset,
/// or every subscription to the asset when no timeframe is named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsubscribe {
    /// The asset.
    pub asset: Asset,
    /// The one timeframe to stop following; all of them when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<Timeframe>,
}

impl Unsubscribe {
    /// Every subscription to `asset`.
    #[must_use]
    pub const fn asset(asset: Asset) -> Self {
        Self {
            asset,
            timeframe: None,
        }
    }
}

/// The data of an event about one asset's candles in one timeframe:
/// `{asset, timeframe}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForSeries {
    /// The asset.
    pub asset: Asset,
    /// The timeframe; `1M` when omitted, as in the original design.
    #[serde(default = "default_timeframe")]
    pub timeframe: Timeframe,
}

/// A frame split into its event name and raw data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Frame<'a> {
    event: String,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

fn split_frame(text: &str) -> Result<Frame<'_>, ProtocolError> {
    serde_json::from_str(text).map_err(|e| ProtocolError::Malformed(e.to_string()))
}

fn text_of(bytes: &[u8]) -> Result<&str, ProtocolError> {
    std::str::from_utf8(bytes).map_err(|_| ProtocolError::NotText)
}

/// Parses the data of `event`, which must be present.
fn data<T: DeserializeOwned>(
    event: &'static str,
    raw: Option<&RawValue>,
) -> Result<T, ProtocolError> {
    let raw = raw
        .filter(|r| r.get() != "null")
        .ok_or(ProtocolError::MissingData(event))?;
    serde_json::from_str(raw.get()).map_err(|e| ProtocolError::InvalidData {
        event,
        reason: e.to_string(),
    })
}

/// The `1M` default of the original design for a missing timeframe.
const fn default_timeframe() -> Timeframe {
    Timeframe::M1
}

/// Makes the ISO 8601 UTC text used in `timestamp` fields of server events.
#[must_use]
pub fn wire_time(millis: i64) -> String {
    crate::time::iso8601_millis(millis)
}

#[cfg(test)]
mod tests;
