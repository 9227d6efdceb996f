//! Round trips of every message and the errors malformed frames get.

use super::*;
use crate::{Candle, CandleState, Price};

fn candle() -> Candle {
    Candle::new_checked(
        Asset::new("EURUSD_otc"),
        Timeframe::M1,
        1_705_314_600,
        Price::new("1.0823"),
        Price::new("1.0830"),
        Price::new("1.0820"),
        Price::new("1.0825"),
        17,
        CandleState::Forming,
    )
    .unwrap()
}

fn eur() -> Asset {
    Asset::new("EURUSD_otc")
}

fn every_client_message() -> Vec<ClientMessage> {
    vec![
        ClientMessage::SubscribeRedisUpdates(Subscribe {
            asset: eur(),
            timeframe: None,
            last_seq: None,
            epoch: None,
        }),
        ClientMessage::SubscribeRedisUpdates(Subscribe {
            asset: eur(),
            timeframe: Some(Timeframe::M5),
            last_seq: Some(41),
            epoch: Some(7),
        }),
        ClientMessage::UnsubscribeRedisUpdates(Unsubscribe::asset(eur())),
        ClientMessage::UnsubscribeRedisUpdates(Unsubscribe {
            asset: eur(),
            timeframe: Timeframe::from_minutes(90),
        }),
        ClientMessage::StartStream(ForAsset { asset: eur() }),
        ClientMessage::StopStream,
        ClientMessage::GetCachedHistoricalData(ForSeries {
            asset: eur(),
            timeframe: Timeframe::H4,
        }),
        ClientMessage::CacheHistoricalData(CacheRequest {
            asset: eur(),
            timeframe: Timeframe::M1,
            data: vec![candle()],
        }),
        ClientMessage::ClearCachedHistoricalData(ForSeries {
            asset: eur(),
            timeframe: Timeframe::D1,
        }),
        ClientMessage::GetRedisStatus,
        ClientMessage::Authenticate(Authenticate {
            token: "0123456789abcdef".into(),
        }),
    ]
}

fn every_server_message() -> Vec<ServerMessage> {
    let mut info = serde_json::Map::new();
    info.insert("redis_version".into(), "7.0.15".into());
    info.insert("connected_clients".into(), 3.into());
    vec![
        ServerMessage::RedisUpdate(CandleUpdate {
            data: candle(),
            seq: 42,
        }),
        ServerMessage::CandleSnapshot(CandleSnapshot {
            asset: eur(),
            timeframe: Timeframe::M1,
            seq: 42,
            epoch: 7,
            reason: SnapshotReason::Subscribed,
            data: vec![candle()],
        }),
        ServerMessage::RedisSubscribed(ForAsset { asset: eur() }),
        ServerMessage::RedisUnsubscribed(Unsubscribe::asset(eur())),
        ServerMessage::RedisUnsubscribed(Unsubscribe {
            asset: eur(),
            timeframe: Some(Timeframe::M5),
        }),
        ServerMessage::StreamStarted(StreamStarted {
            asset: eur(),
            timestamp: wire_time(1_705_314_600_250),
        }),
        ServerMessage::StreamStopped(StreamStopped {
            timestamp: wire_time(1_705_314_600_250),
        }),
        ServerMessage::StreamError(StreamError {
            error: "feed down".into(),
            timestamp: wire_time(0),
        }),
        ServerMessage::CachedHistoricalData(HistoricalData {
            asset: eur(),
            timeframe: Timeframe::M1,
            data: Some(vec![candle(), candle().with_state(CandleState::Closed)]),
            source: HistorySource::RedisCache,
        }),
        ServerMessage::CachedHistoricalData(HistoricalData {
            asset: eur(),
            timeframe: Timeframe::M5,
            data: None,
            source: HistorySource::CacheMiss,
        }),
        ServerMessage::HistoricalDataCached(CacheStored {
            asset: eur(),
            timeframe: Timeframe::M1,
            count: 2,
        }),
        ServerMessage::HistoricalDataCacheCleared(ForSeries {
            asset: eur(),
            timeframe: Timeframe::M1,
        }),
        ServerMessage::RedisStatus(RedisStatus {
            connected: true,
            redis_info: info,
            batch_status: serde_json::Map::new(),
            live: serde_json::Map::new(),
            timestamp: wire_time(1_705_314_600_000),
            feeds: [(
                eur(),
                FeedHealth {
                    stale: true,
                    last_tick_ms: 1_705_314_600_000,
                    usual_interval_ms: Some(250),
                },
            )]
            .into(),
        }),
        ServerMessage::error("unknown asset"),
        ServerMessage::Authenticated(Authenticated {}),
    ]
}

#[test]
fn every_client_message_round_trips() {
    let messages = every_client_message();
    let mut names: Vec<&str> = messages.iter().map(ClientMessage::event).collect();
    names.dedup();
    assert_eq!(names, ClientMessage::EVENTS);
    for m in messages {
        let json = m.to_json();
        assert!(
            json.starts_with(&format!(r#"{{"event":"{}""#, m.event())),
            "{json}"
        );
        assert_eq!(ClientMessage::from_json(&json), Ok(m));
    }
}

#[test]
fn every_server_message_round_trips() {
    let messages = every_server_message();
    let mut names: Vec<&str> = messages.iter().map(ServerMessage::event).collect();
    names.dedup();
    assert_eq!(names, ServerMessage::EVENTS);
    for m in messages {
        let json = m.to_json();
        assert_eq!(ServerMessage::from_json(&json), Ok(m), "{json}");
    }
}

#[test]
fn wire_shapes_match_the_design() {
    assert_eq!(
        ClientMessage::from_json(
            r#"{"event":"subscribe_redis_updates","data":{"asset":"EURUSD_otc"}}"#
        ),
        Ok(ClientMessage::SubscribeRedisUpdates(Subscribe {
            asset: eur(),
            timeframe: None,
            last_seq: None,
            epoch: None
        }))
    );
    assert_eq!(
        ClientMessage::from_json(r#"{"event":"stop_stream"}"#),
        Ok(ClientMessage::StopStream)
    );
    assert_eq!(
        ClientMessage::from_json(r#"{"event":"get_redis_status","data":{}}"#),
        Ok(ClientMessage::GetRedisStatus)
    );
    // Data may come before the event name, and the timeframe defaults to 1M.
    assert_eq!(
        ClientMessage::from_json(
            r#"{"data":{"asset":"EURUSD_otc"},"event":"get_cached_historical_data"}"#
        ),
        Ok(ClientMessage::GetCachedHistoricalData(ForSeries {
            asset: eur(),
            timeframe: Timeframe::M1
        }))
    );
    assert_eq!(
        ServerMessage::error("x").to_json(),
        r#"{"event":"error","data":{"message":"x"}}"#
    );
    assert_eq!(
        ServerMessage::RedisUpdate(CandleUpdate {
            data: candle(),
            seq: 1
        })
        .to_json(),
        r#"{"event":"redis_update","data":{"data":{"asset":"EURUSD_otc","timeframe":"1M","timestamp":1705314600,"open":1.0823,"high":1.083,"low":1.082,"close":1.0825,"volume":17,"date":"2024-01-15T10:30:00Z","state":"forming"},"seq":1}}"#
    );
}

#[test]
fn malformed_frames_get_errors_that_say_why() {
    let cases: [(&str, &str); 12] = [
        ("", "malformed frame"),
        ("[]", "malformed frame"),
        ("{}", "missing field `event`"),
        (r#"{"event":7}"#, "malformed frame"),
        (
            r#"{"event":"launch_rockets"}"#,
            r#"unknown event "launch_rockets""#,
        ),
        (
            r#"{"event":"start_stream"}"#,
            r#"event "start_stream" needs a data object"#,
        ),
        (
            r#"{"event":"start_stream","data":null}"#,
            "needs a data object",
        ),
        (
            r#"{"event":"start_stream","data":{}}"#,
            "missing field `asset`",
        ),
        (
            r#"{"event":"start_stream","data":{"asset":"EUR USD"}}"#,
            "invalid asset",
        ),
        (
            r#"{"event":"start_stream","data":{"asset":"EURUSD","x":1}}"#,
            "unknown field `x`",
        ),
        (
            r#"{"event":"get_cached_historical_data","data":{"asset":"EURUSD","timeframe":"0M"}}"#,
            "unknown timeframe",
        ),
        (
            r#"{"event":"stop_stream","extra":1}"#,
            "unknown field `extra`",
        ),
    ];
    for (frame, expected) in cases {
        let err = ClientMessage::from_json(frame).unwrap_err().to_string();
        assert!(err.contains(expected), "{frame}: {err}");
    }
    assert_eq!(
        ClientMessage::from_slice(&[0xff, 0xfe]),
        Err(ProtocolError::NotText)
    );
}

#[test]
fn authenticate_carries_a_token_that_debug_output_hides() {
    let message =
        ClientMessage::from_json(r#"{"event":"authenticate","data":{"token":"0123456789abcdef"}}"#)
            .unwrap();
    assert_eq!(
        message,
        ClientMessage::Authenticate(Authenticate {
            token: "0123456789abcdef".into()
        })
    );
    let shown = format!("{message:?}");
    assert!(!shown.contains("0123"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    assert_eq!(
        ServerMessage::Authenticated(Authenticated {}).to_json(),
        r#"{"event":"authenticated","data":{}}"#
    );
    for (frame, expected) in [
        (r#"{"event":"authenticate"}"#, "needs a data object"),
        (
            r#"{"event":"authenticate","data":{}}"#,
            "missing field `token`",
        ),
        (
            r#"{"event":"authenticate","data":{"token":7}}"#,
            "invalid type",
        ),
        (
            r#"{"event":"authenticate","data":{"token":"t","admin":true}}"#,
            "unknown field `admin`",
        ),
    ] {
        let err = ClientMessage::from_json(frame).unwrap_err().to_string();
        assert!(err.contains(expected), "{frame}: {err}");
    }
}

#[test]
fn a_bad_candle_in_a_cache_request_is_refused() {
    let frame = r#"{"event":"cache_historical_data","data":{"asset":"EURUSD_otc","timeframe":"1M","data":[
        {"asset":"EURUSD_otc","timeframe":"1M","timestamp":1705314600,"open":1,"high":1,"low":2,"close":1,"volume":1}]}}"#;
    let err = ClientMessage::from_json(frame).unwrap_err();
    assert!(
        matches!(&err, ProtocolError::InvalidData { event: "cache_historical_data", reason } if reason.contains("inconsistent")),
        "{err}"
    );
}
