//! Socket.IO at `/socket.io/` against the original design's own clients
//! (issue 12, item 1): Debian's python3-socketio and socket.io-client 4 from
//! npm under Node, each driving the real server and reporting what came
//! back. Payloads are checked against what the original server emitted:
//! `redis_update {data: candle}` with exact prices and one-minute candles by
//! default, `redis_status` with `batch_status.is_running`, or `{connected:
//! false, error, timestamp}` while Redis is away.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ADMIN, TOKEN};
use serde_json::Value;

/// Debian's interpreter, where python3-socketio is installed (the `python3`
/// on `PATH` may be another one).
const PYTHON: &str = "/usr/bin/python3";

fn clients() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs a client to the end (bounded by `timeout`) and reads its report.
fn run(program: &str, script: &str, args: &[String]) -> Value {
    let output = Command::new("timeout")
        .arg("60")
        .arg(program)
        .arg(clients().join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The exact text of a number the Python client read as a Decimal.
fn exact(v: &Value) -> &str {
    v["decimal"]
        .as_str()
        .unwrap_or_else(|| panic!("not a decimal: {v}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn python_socketio_gets_the_original_events_and_payloads() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-py");
    let server = common::start_on_redis(dist.path(), &prefix, &["--admin-token", ADMIN]).await;
    let minute = common::future_minute();
    let base = server.base.clone();
    let args = [
        base,
        TOKEN.into(),
        ADMIN.into(),
        "SIOPY".into(),
        minute.to_string(),
    ];
    let report = tokio::task::spawn_blocking(move || run(PYTHON, "original_client.py", &args))
        .await
        .unwrap();

    // Long-polling first, as python-socketio starts, then the upgrade.
    assert_eq!(report["transport"], "websocket", "{report}");
    // The candle alone under `data`, with the original fields and exact digits.
    let update = &report["update"];
    assert_eq!(
        update.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["data"]
    );
    let candle = &update["data"];
    assert_eq!(candle["asset"], "SIOPY");
    assert_eq!(candle["timestamp"], minute / 1000);
    assert_eq!(exact(&candle["open"]), "1.08231");
    assert_eq!(exact(&candle["high"]), "1.08245");
    assert_eq!(exact(&candle["low"]), "1.08219");
    assert_eq!(exact(&candle["close"]), "1.08219");
    assert_eq!(candle["volume"], 3);
    assert!(
        candle["date"].as_str().unwrap().starts_with("20"),
        "{candle}"
    );
    // A subscription without a timeframe streams one-minute candles only.
    for u in report["updates"].as_array().unwrap() {
        assert_eq!(u["data"]["timeframe"], "1M", "{u}");
    }

    let status = &report["status"];
    assert_eq!(status["connected"], true);
    assert_eq!(status["batch_status"]["is_running"], false, "{status}");
    assert!(
        status["redis_info"]
            .as_object()
            .unwrap()
            .contains_key("redis_version")
    );
    assert!(status["timestamp"].is_string());

    let history = &report["history"];
    assert_eq!(history["asset"], "SIOPY");
    assert_eq!(history["timeframe"], "1M");
    assert!(
        ["redis_cache", "database", "cache_miss"].contains(&history["source"].as_str().unwrap())
    );

    // Each bad message answered with `error {message}`.
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors.iter().all(|e| e["message"].is_string()),
        "{errors:?}"
    );
    assert!(
        errors[2]["message"]
            .as_str()
            .unwrap()
            .contains("admin token"),
        "{errors:?}"
    );

    let start = report["start"].as_array().unwrap();
    assert_eq!(start.len(), 1, "{start:?}");
    assert!(start[0][1]["timestamp"].is_string(), "{start:?}");
    assert!(report["stop"]["timestamp"].is_string());
    assert_eq!(report["unsubscribed"]["asset"], "SIOPY");

    assert_eq!(
        report["wrong_token"],
        serde_json::json!([{"message": "wrong admin token"}]),
        "{report}"
    );
    assert_eq!(report["admin_transport"], "websocket");
    assert_eq!(report["cached"]["count"], 1, "{report}");
    server.stop().await;
    common::cleanup(&prefix).await;
}

/// Node's socket.io-client from the repository's `node_modules`.
fn node(scenario: &str, base: &str, asset: &str, minute: i64) -> Value {
    let args = [
        base.to_owned(),
        TOKEN.to_owned(),
        asset.to_owned(),
        minute.to_string(),
        scenario.to_owned(),
    ];
    run("node", "original_client.cjs", &args)
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_io_client_under_node_streams_exact_one_minute_candles() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-node");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    let minute = common::future_minute();
    let base = server.base.clone();
    let report = tokio::task::spawn_blocking(move || node("live", &base, "SIONODE", minute))
        .await
        .unwrap();
    assert_eq!(report["ingest"], 200);
    assert_eq!(report["transport"], "websocket", "{report}");
    let candle = &report["update"]["data"];
    assert_eq!(candle["open"], 1.25);
    assert_eq!(candle["close"], 1.2575);
    assert_eq!(candle["timestamp"], minute / 1000);
    assert!(report["update"].get("seq").is_none(), "{report}");
    assert_eq!(report["timeframes"], serde_json::json!(["1M"]));
    assert!(report["status"]["batch_status"].get("is_running").is_some());
    assert_eq!(report["history"]["asset"], "SIONODE");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("asset"),
        "{report}"
    );
    server.stop().await;
    common::cleanup(&prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_io_client_under_node_streams_a_derived_timeframe() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-derived");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    let minute = common::future_minute();
    let base = server.base.clone();
    let report = tokio::task::spawn_blocking(move || node("derived", &base, "SIODER", minute))
        .await
        .unwrap();
    assert_eq!(report["ingest"], 200);
    // Only 90M, rolled up live from the 30M candle: no tick aggregator of
    // its own.
    assert_eq!(report["timeframes"], serde_json::json!(["90M"]), "{report}");
    let candle = &report["update"]["data"];
    let ninety = 90 * 60;
    assert_eq!(candle["timestamp"], minute / 1000 / ninety * ninety);
    assert_eq!(candle["open"], 1.25);
    assert_eq!(candle["close"], 1.2575);
    assert_eq!(candle["volume"], 2);
    assert_eq!(candle["state"], "forming");
    server.stop().await;
    common::cleanup(&prefix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_origin_is_refused_at_connect() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-origin");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    let base = server.base.clone();
    let report = tokio::task::spawn_blocking(move || node("foreign-origin", &base, "SIO", 0))
        .await
        .unwrap();
    assert!(
        report["refused"]
            .as_str()
            .unwrap()
            .contains("origin not allowed"),
        "{report}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_away_the_status_is_the_original_error_form() {
    let dist = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: Redis is configured and away.
    let server = common::start(dist.path(), &["--redis-url", "redis://127.0.0.1:1/0"]).await;
    let base = server.base.clone();
    let report = tokio::task::spawn_blocking(move || node("redis-away", &base, "SIO", 0))
        .await
        .unwrap();
    let status = report["status"].as_object().unwrap();
    assert_eq!(
        status.keys().collect::<Vec<_>>(),
        ["connected", "error", "timestamp"]
    );
    assert_eq!(status["connected"], false);
    assert!(
        status["error"].as_str().unwrap().contains("Redis"),
        "{status:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flooding_client_is_refused_then_disconnected_and_others_go_on() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-flood");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    let base = server.base.clone();
    let report = tokio::task::spawn_blocking(move || node("flood", &base, "SIO", 0))
        .await
        .unwrap();
    // Socket.IO's reasons for a disconnect the server made: with its
    // disconnect packet, or (when that packet found the client's buffer
    // full) by closing the transport.
    assert!(
        ["io server disconnect", "transport close"].contains(&report["reason"].as_str().unwrap()),
        "{report}"
    );
    // Refusals reached it first (not all: past socketioxide's buffer of a
    // client that does not read, the server drops them).
    assert!(report["refused"].as_u64().unwrap() >= 100, "{report}");
    assert_eq!(server.get("/healthz").await.0, 200);
    server.stop().await;
    common::cleanup(&prefix).await;
}

/// One long-polling request to `/socket.io/` from a page at `origin`: the
/// status, its `Access-Control-Allow-Origin`, and the body.
async fn poll(
    http: &reqwest::Client,
    base: &str,
    origin: &str,
    query: &str,
    body: Option<&str>,
) -> (u16, Option<String>, String) {
    let url = format!("{base}/socket.io/?EIO=4&transport=polling{query}");
    let request = match body {
        Some(b) => http.post(url).body(b.to_owned()),
        None => http.get(url),
    };
    let response = request.header("origin", origin).send().await.unwrap();
    let allowed = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        allowed,
        response.text().await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_an_allowed_origin_long_polls_with_cors_and_others_get_none() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-cors");
    let page = "http://charts.example:5173";
    let server = common::start_on_redis(dist.path(), &prefix, &["--allowed-origins", page]).await;
    let http = reqwest::Client::new();
    // The browser's preflight for the polling POST.
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/socket.io/?EIO=4&transport=polling", server.base),
        )
        .header("origin", page)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], page);

    // Handshake, namespace connect, and the connect's answer, as
    // socket.io-client does them over long-polling.
    for (origin, allowed) in [(page, true), ("http://evil.example", false)] {
        let (status, cors, body) = poll(&http, &server.base, origin, "", None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(cors.as_deref() == Some(origin), allowed, "{cors:?}");
        let open: Value = serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
        let sid = format!("&sid={}", open["sid"].as_str().unwrap());
        let (status, _, _) = poll(&http, &server.base, origin, &sid, Some("40")).await;
        assert_eq!(status, 200);
        // Packets of one poll are separated by 0x1e; engine pings ("2") may
        // come first, alone or with it.
        let mut connect = None;
        for _ in 0..5 {
            let (_, _, answer) = poll(&http, &server.base, origin, &sid, None).await;
            connect = answer
                .split('\u{1e}')
                .find(|p| p.starts_with('4'))
                .map(str::to_owned);
            if connect.is_some() {
                break;
            }
        }
        let answer = connect.clone().unwrap_or_default();
        if allowed {
            assert!(
                connect.is_some_and(|p| p.starts_with("40{\"sid\"")),
                "{answer:?}"
            );
        } else {
            assert!(
                connect.is_some_and(|p| p.contains("origin not allowed")),
                "{answer:?}"
            );
        }
    }
    server.stop().await;
    common::cleanup(&prefix).await;
}

/// `tickstream_ws_clients` from `/metrics`.
async fn live_clients(server: &common::Running) -> u64 {
    let (_, text) = server.get("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix("tickstream_ws_clients "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no tickstream_ws_clients in {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_that_race_their_own_connect_and_leave_give_their_places_back() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-race");
    let args = [
        "--max-connections-per-ip",
        "3",
        "--ws-ping-interval",
        PROBE_EVERY,
    ];
    let server = common::start_on_redis(dist.path(), &prefix, &args).await;
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        server.base.replace("http://", "ws://")
    );
    // A hand-made client: the namespace connect and an event at once, then
    // gone. socketioxide may close such a client before its session exists.
    for _ in 0..6 {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        let open = ws.next().await.unwrap().unwrap();
        assert!(open.to_text().unwrap().starts_with('0'), "{open:?}");
        ws.send(Message::text("40")).await.unwrap();
        ws.send(Message::text(r#"42["get_redis_status"]"#))
            .await
            .unwrap();
        drop(ws);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while live_clients(&server).await > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(live_clients(&server).await, 0);
    // Every place is free again: three well-behaved clients are admitted.
    let mut kept = Vec::new();
    for _ in 0..3 {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        ws.next().await.unwrap().unwrap();
        ws.send(Message::text("40")).await.unwrap();
        let answer = loop {
            let text = ws.next().await.unwrap().unwrap().into_text().unwrap();
            if text.starts_with('4') {
                break text;
            }
        };
        assert!(answer.starts_with("40{\"sid\""), "{answer}");
        kept.push(ws);
    }
    server.stop().await;
    common::cleanup(&prefix).await;
}

/// The idle-session probe's interval in the race test (`WS_PING_INTERVAL`).
const PROBE_EVERY: &str = "0.5";

#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_message_past_four_times_the_frame_limit_ends_the_connection() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("sio-big");
    let server = common::start_on_redis(dist.path(), &prefix, &[]).await;
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        server.base.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text("40")).await.unwrap();
    // 2 MiB, past 4 x MAX_FRAME_BYTES (1 MiB): not read, the connection ends.
    let huge = format!(r#"42["get_redis_status","{}"]"#, "a".repeat(2 << 20));
    let _ = ws.send(Message::text(huge)).await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                None | Some(Err(_) | Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection stayed open");
    assert_eq!(server.get("/healthz").await.0, 200);
    server.stop().await;
    common::cleanup(&prefix).await;
}
