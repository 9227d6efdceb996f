//! The original server's payloads, made from the `/ws` frames a session's
//! outbox holds (`{"event", "data"}`), and the client's events read back.
//!
//! Most events are the same on both. Two differ:
//! - `redis_update` is `{data: candle}`: the `/ws` sequence number stays out
//!   (the candle keeps its extra `timeframe` and `state` fields).
//! - `redis_status` carries `batch_status.is_running`, and while Redis is away
//!   only `{connected: false, error, timestamp}`.
//!
//! Events the original never sent (`candle_snapshot`) go out as they are:
//! a client without a handler for them ignores them. A snapshot sent in
//! place of updates a client could not take (`reason` `lagged` or
//! `resume_too_old`) is followed by `redis_update`s of its two newest
//! candles, so that an original client still gets the final state of the
//! candle that just closed and the forming one.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A `/ws` frame taken apart without copying its data.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// A `redis_update`'s data, read without its `seq`.
#[derive(Deserialize)]
struct Update<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

/// A `candle_snapshot`'s data, as far as the original clients need it.
#[derive(Deserialize)]
struct Snapshot<'a> {
    #[serde(borrow)]
    reason: Cow<'a, str>,
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

/// Candles of a catch-up snapshot also sent as `redis_update`.
const CAUGHT_UP: usize = 2;

/// The data of one Socket.IO event.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Payload<'a> {
    /// `{data: candle}`, the candle's JSON as it was serialised once.
    Candle {
        /// The candle.
        data: &'a RawValue,
    },
    /// The `/ws` data as it is.
    Same(&'a RawValue),
    /// Rebuilt (`redis_status`).
    Rebuilt(Value),
}

/// An event to emit.
pub struct Outgoing<'a> {
    /// Its name.
    pub event: Cow<'a, str>,
    /// Its data; `None` for an event without.
    pub payload: Option<Payload<'a>>,
}

/// The event an idle session sends to learn whether its client is still
/// there (clients without a handler ignore it).
pub const ALIVE: &str = "tickstream_alive";

impl Outgoing<'_> {
    /// [`ALIVE`], without data.
    #[must_use]
    pub const fn alive() -> Self {
        Outgoing {
            event: Cow::Borrowed(ALIVE),
            payload: None,
        }
    }
}

/// The Socket.IO events of a `/ws` frame: one, or for a catch-up snapshot
/// the snapshot and the `redis_update`s of its newest candles.
///
/// # Errors
///
/// A frame that is not `{"event", "data"}` JSON (never made by this server).
pub fn outgoing(frame: &str) -> Result<Vec<Outgoing<'_>>, serde_json::Error> {
    let Frame { event, data } = serde_json::from_str(frame)?;
    let payload = match (event.as_ref(), data) {
        (_, None) => None,
        ("redis_update", Some(raw)) => {
            let Update { data } = serde_json::from_str(raw.get())?;
            Some(Payload::Candle { data })
        }
        ("redis_status", Some(raw)) => Some(Payload::Rebuilt(original_status(
            serde_json::from_str(raw.get())?,
        ))),
        ("candle_snapshot", Some(raw)) => {
            let snapshot: Snapshot<'_> = serde_json::from_str(raw.get())?;
            let mut events = vec![Outgoing {
                event,
                payload: Some(Payload::Same(raw)),
            }];
            if snapshot.reason != "subscribed" {
                let newest = snapshot.data.len().saturating_sub(CAUGHT_UP);
                events.extend(snapshot.data[newest..].iter().map(|data| Outgoing {
                    event: Cow::Borrowed("redis_update"),
                    payload: Some(Payload::Candle { data }),
                }));
            }
            return Ok(events);
        }
        (_, Some(raw)) => Some(Payload::Same(raw)),
    };
    Ok(vec![Outgoing { event, payload }])
}

/// `redis_status` as the original sent it: `batch_status.is_running`
/// beside the rest while Redis answers; otherwise `{connected: false, error,
/// timestamp}` with what happens to ticks meanwhile.
fn original_status(mut status: Map<String, Value>) -> Value {
    let connected = status.get("connected").and_then(Value::as_bool) == Some(true);
    let journal = status
        .get("batch_status")
        .and_then(|b| b.get("journal"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !connected {
        let error = match journal {
            "store" => "no Redis configured: accepted ticks are journaled in the tick store",
            "memory" => "no Redis and no tick store configured: ticks are kept in memory only",
            _ => "Redis unreachable: accepted ticks are journaled in the local write-ahead file",
        };
        let mut away = Map::new();
        away.insert("connected".into(), false.into());
        away.insert("error".into(), error.into());
        away.insert(
            "timestamp".into(),
            status.remove("timestamp").unwrap_or(Value::Null),
        );
        return Value::Object(away);
    }
    if let Some(Value::Object(batch)) = status.get_mut("batch_status") {
        let running = batch.get("running").cloned().unwrap_or(false.into());
        batch.insert("is_running".into(), running);
    }
    Value::Object(status)
}

/// The raw JSON of an incoming event's data, for the shared request parser;
/// `None` for no data (`stop_stream`, `get_redis_status`).
///
/// # Errors
///
/// Data that cannot be written back as JSON (never from a parsed value).
pub fn incoming(data: Option<&Value>) -> Result<Option<Box<RawValue>>, serde_json::Error> {
    data.filter(|v| !v.is_null())
        .map(serde_json::value::to_raw_value)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANDLE: &str = r#"{"asset":"EURUSD_otc","timeframe":"1M","timestamp":1700000040,"open":1.08230,"high":1.0824,"low":1.0822,"close":1.0823,"volume":3,"date":"2023-11-14T22:14:00Z","state":"forming"}"#;

    fn all_emitted(frame: &str) -> Vec<(String, String)> {
        outgoing(frame)
            .unwrap()
            .into_iter()
            .map(|out| {
                let data = out
                    .payload
                    .map(|p| serde_json::to_string(&p).unwrap())
                    .unwrap_or_default();
                (out.event.into_owned(), data)
            })
            .collect()
    }

    fn emitted(frame: &str) -> (String, String) {
        let mut all = all_emitted(frame);
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn an_update_is_the_candle_alone_with_its_digits() {
        let frame = format!(r#"{{"event":"redis_update","data":{{"data":{CANDLE},"seq":42}}}}"#);
        let (event, data) = emitted(&frame);
        assert_eq!(event, "redis_update");
        assert_eq!(data, format!(r#"{{"data":{CANDLE}}}"#));
        assert!(data.contains("\"open\":1.08230"));
    }

    #[test]
    fn status_has_is_running_while_redis_answers() {
        let frame = r#"{"event":"redis_status","data":{"connected":true,"redis_info":{"redis_version":"7.0.15"},"batch_status":{"running":true,"journal":"redis","processed":12345678901234567890123},"live":{},"timestamp":"2026-12-07T10:00:00.000Z","feeds":{}}}"#;
        let (_, data) = emitted(frame);
        let v: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(v["batch_status"]["is_running"], Value::Bool(true));
        assert_eq!(v["batch_status"]["running"], Value::Bool(true));
        assert_eq!(v["redis_info"]["redis_version"], "7.0.15");
        assert!(data.contains("12345678901234567890123"), "{data}");
    }

    #[test]
    fn status_without_redis_is_the_original_error_form() {
        let frame = r#"{"event":"redis_status","data":{"connected":false,"redis_info":{},"batch_status":{"running":true,"journal":"write-ahead"},"live":{},"timestamp":"2026-12-07T10:00:00.000Z","feeds":{}}}"#;
        let (_, data) = emitted(frame);
        let v: Value = serde_json::from_str(&data).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["connected", "error", "timestamp"]);
        assert_eq!(v["connected"], Value::Bool(false));
        assert!(v["error"].as_str().unwrap().contains("write-ahead"));
    }

    #[test]
    fn other_events_pass_as_they_are() {
        let frame = r#"{"event":"error","data":{"message":"No asset specified"}}"#;
        assert_eq!(
            emitted(frame),
            ("error".into(), r#"{"message":"No asset specified"}"#.into())
        );
        assert_eq!(
            emitted(r#"{"event":"authenticated"}"#),
            ("authenticated".into(), String::new())
        );
    }

    #[test]
    fn a_catch_up_snapshot_also_updates_its_newest_candles() {
        let snapshot = |reason: &str, n: usize| {
            let candles = vec![CANDLE; n].join(",");
            format!(
                r#"{{"event":"candle_snapshot","data":{{"asset":"EURUSD_otc","timeframe":"1M","seq":9,"epoch":1,"reason":"{reason}","data":[{candles}]}}}}"#
            )
        };
        let lagged = all_emitted(&snapshot("lagged", 3));
        let names: Vec<&str> = lagged.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(names, ["candle_snapshot", "redis_update", "redis_update"]);
        assert_eq!(lagged[2].1, format!(r#"{{"data":{CANDLE}}}"#));
        assert_eq!(all_emitted(&snapshot("resume_too_old", 1)).len(), 2);
        assert_eq!(all_emitted(&snapshot("lagged", 0)).len(), 1);
        assert_eq!(all_emitted(&snapshot("subscribed", 3)).len(), 1);
    }

    #[test]
    fn incoming_data_keeps_exact_numbers() {
        let v: Value =
            serde_json::from_str(r#"{"asset":"X","price":1.10000000000000000001}"#).unwrap();
        let raw = incoming(Some(&v)).unwrap().unwrap();
        assert!(raw.get().contains("1.10000000000000000001"));
        assert!(incoming(Some(&Value::Null)).unwrap().is_none());
        assert!(incoming(None).unwrap().is_none());
    }
}
