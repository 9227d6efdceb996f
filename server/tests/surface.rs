//! The public surface against the real server (issue 10, item 8): cache
//! writes from the future refused, every frame counted by the rate limit,
//! the security headers on every response, and `/metrics` on
//! `METRICS_BIND`. Tokens are in `auth.rs`.

mod common;

use std::time::Duration;

use common::{ADMIN, Client};
use shared::protocol::{CacheRequest, ForSeries};
use shared::{Asset, Candle, CandleState, ClientMessage, Price, ServerMessage, Timeframe};
use tokio_tungstenite::tungstenite::Message;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A closed 1M candle of `asset` opening at `open_s`.
fn candle(asset: &str, open_s: i64) -> Candle {
    let p = Price::new("1.1");
    Candle::new_checked(
        Asset::new(asset),
        Timeframe::M1,
        open_s,
        p,
        p,
        p,
        p,
        1,
        CandleState::Closed,
    )
    .unwrap()
}

#[tokio::test]
async fn a_cache_write_from_the_future_is_refused_and_the_forming_candle_stays_shown() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("future");
    let server = common::start_on_redis(dist.path(), &prefix, &["--admin-token", ADMIN]).await;
    let mut watcher = Client::connect(&server.ws).await;
    watcher.subscribe("FUTA", Some(Timeframe::M1)).await;
    watcher.snapshot().await;
    server
        .ingest(&common::ticks_json("FUTA", &[("1.2345", now_ms())]))
        .await;
    let forming = watcher.update().await.data.open_time();

    let mut admin = Client::connect(&format!("{}?token={ADMIN}", server.ws)).await;
    let write = |data: Vec<Candle>| {
        ClientMessage::CacheHistoricalData(CacheRequest {
            asset: Asset::new("FUTA"),
            timeframe: Timeframe::M1,
            data,
        })
    };
    let year_2099 = 4_070_908_800; // 2099-01-01T00:00:00Z
    for data in [
        vec![candle("FUTA", forming - 3600), candle("FUTA", year_2099)],
        vec![candle("FUTA", forming + 60)],
    ] {
        admin.send(&write(data)).await;
        match admin.recv().await {
            ServerMessage::Error(e) => assert!(
                e.message.contains("after the forming 1M candle")
                    && e.message.contains("nothing was cached"),
                "{e:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
    let mut conn = common::redis().await;
    let cached: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}historical:FUTA:1M"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(cached, None, "nothing was cached");

    // An honest write still works, and the forming candle is shown last.
    admin
        .send(&write(vec![candle("FUTA", forming - 3600)]))
        .await;
    assert!(matches!(
        admin.recv().await,
        ServerMessage::HistoricalDataCached(_)
    ));
    admin
        .send(&ClientMessage::GetCachedHistoricalData(ForSeries {
            asset: Asset::new("FUTA"),
            timeframe: Timeframe::M1,
        }))
        .await;
    let data = admin
        .until(|m| match m {
            ServerMessage::CachedHistoricalData(h) => Some(h.data.unwrap()),
            _ => None,
        })
        .await;
    let last = data.last().unwrap();
    assert_eq!(last.open_time(), forming);
    assert_eq!(last.close().to_string(), "1.2345");
    server.stop().await;
    common::cleanup(&prefix).await;
}

/// Sends `frames` at once, then counts the `rate limit` errors that come
/// back within a second of quiet.
async fn flood(client: &mut Client, frames: Vec<Message>) -> usize {
    let count = frames.len();
    for frame in frames {
        client.send_raw(frame).await;
    }
    let mut limited = 0;
    let mut answered = 0;
    while let Some(message) = client.try_recv(Duration::from_secs(1)).await {
        answered += 1;
        if let ServerMessage::Error(e) = message
            && e.message.contains("rate limit")
        {
            limited += 1;
        }
        if answered == count {
            break;
        }
    }
    limited
}

#[tokio::test]
async fn binary_ping_and_pong_floods_hit_the_rate_limit() {
    let dist = tempfile::tempdir().unwrap();
    let server = common::start(
        dist.path(),
        &["--redis-url", "none", "--ws-rate-limit", "5"],
    )
    .await;
    // A budget of 10 at once: of 40 frames, about 30 are refused.
    let mut pinger = Client::connect(&server.ws).await;
    let pings = (0..20)
        .map(|_| Message::Ping(vec![1u8; 8].into()))
        .chain((0..20).map(|_| Message::Pong(vec![2u8; 8].into())))
        .collect();
    let limited = flood(&mut pinger, pings).await;
    assert!((25..=30).contains(&limited), "{limited} pings refused");
    let mut binary = Client::connect(&server.ws).await;
    let frames = (0..40).map(|_| Message::binary(vec![0u8; 16])).collect();
    let limited = flood(&mut binary, frames).await;
    assert!(
        (25..=30).contains(&limited),
        "{limited} binary frames refused"
    );
    let (_, metrics) = server.get("/metrics").await;
    let refused: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"tickstream_ws_frames_refused_total{reason="rate_limited"} "#)
        })
        .expect("counted")
        .parse()
        .unwrap();
    assert!(refused >= 50, "{refused}");
    server.stop().await;
}

/// Every header each response must carry.
fn assert_security_headers(what: &str, headers: &reqwest::header::HeaderMap) -> String {
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    csp
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_the_page_script_hash() {
    use base64::Engine;
    use sha2::Digest;
    let dist = tempfile::tempdir().unwrap();
    let script = "\nimport init from '/client.js';\nawait init('/client_bg.wasm');\n";
    let page = |script: &str| {
        format!(
            "<!doctype html><html><head><script src=\"/lib.js\"></script>\
             <script type=\"module\">{script}</script></head><body></body></html>"
        )
    };
    let hash = |script: &str| {
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script))
        )
    };
    std::fs::write(dist.path().join("index.html"), page(script)).unwrap();
    let server = common::start(dist.path(), &["--redis-url", "none"]).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.base)).send();

    let root = get("/").await.unwrap();
    let csp = assert_security_headers("/", root.headers());
    assert!(csp.contains(&hash(script)), "{csp}");
    for path in [
        "/index.html",
        "/some/client/route",
        "/healthz",
        "/api/status",
        "/api/candles?asset=A&timeframe=1Y",
        "/metrics",
        "/ws",
    ] {
        let response = get(path).await.unwrap();
        assert_security_headers(path, response.headers());
    }
    let refused = http
        .post(format!("{}/api/ticks", server.base))
        .bearer_auth("wrong-token")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_security_headers("ingest", refused.headers());
    let (response, _) = tokio_tungstenite::connect_async(server.ws.as_str())
        .await
        .unwrap()
        .1
        .into_parts();
    assert!(
        response.headers.contains_key("content-security-policy"),
        "the upgrade"
    );

    // A rebuilt page gets its new script's hash without a restart.
    let rebuilt = "\nimport init from '/client-2.js';\nawait init('/client-2_bg.wasm');\n";
    std::fs::write(dist.path().join("index.html"), page(rebuilt)).unwrap();
    let csp = assert_security_headers("rebuilt /", get("/").await.unwrap().headers());
    assert!(
        csp.contains(&hash(rebuilt)) && !csp.contains(&hash(script)),
        "{csp}"
    );
    server.stop().await;
}

#[tokio::test]
async fn metrics_bind_serves_metrics_apart_and_not_on_the_main_port() {
    let dist = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let server = common::start(
        dist.path(),
        &["--redis-url", "none", "--metrics-bind", &metrics_addr],
    )
    .await;
    // The main port answers first; the metrics listener is bound before it.
    let (status, text) = server.get("/healthz").await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = server.get("/metrics").await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("METRICS_BIND"), "{text}");
    let apart = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(apart.status(), 200);
    assert_security_headers("metrics", apart.headers());
    let text = apart.text().await.unwrap();
    assert!(text.contains("tickstream_ws_clients"), "{text}");
    let other = reqwest::get(format!("http://{metrics_addr}/api/status"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    server.stop().await;
    // Stopping the server closes the metrics listener too.
    assert!(
        reqwest::get(format!("http://{metrics_addr}/metrics"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_taken_metrics_bind_stops_start_up_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = server::config::ServeConfig::parse_from([
        "--redis-url",
        "none",
        "--database-url",
        "none",
        "--metrics-bind",
        &addr,
    ])
    .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let err = server::app::run(listener, config, stop)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("METRICS_BIND") && err.contains(&addr), "{err}");
    drop(taken);
}

/// A flood far past the rate limit is not read for ever: the session ends
/// (and a client that pings without reading cannot pile pongs up in the
/// server), while everyone else is still served.
#[tokio::test]
async fn a_frame_flood_ends_the_session_and_no_one_else_notices() {
    use futures_util::{SinkExt, StreamExt};
    let dist = tempfile::tempdir().unwrap();
    let server = common::start(dist.path(), &["--redis-url", "none"]).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(server.ws.as_str())
        .await
        .unwrap();
    let mut sent = 0;
    for _ in 0..5000 {
        if socket
            .send(Message::Ping(vec![1u8; 64].into()))
            .await
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the session outlived a flood of {sent} pings"
    );
    let mut other = Client::connect(&server.ws).await;
    other.send(&ClientMessage::GetRedisStatus).await;
    other
        .until(|m| matches!(m, ServerMessage::RedisStatus(_)).then_some(()))
        .await;
    server.stop().await;
}
