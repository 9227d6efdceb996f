//! Tokens and the other defences of issue 10's items 7 and 8, against the
//! real server: short tokens stop start-up, the `authenticate` message,
//! wrong tokens locked out per address (a second address is `127.0.0.2`),
//! no token in a debug log of the real binary, cache writes from the future
//! refused, every frame counted by the rate limit, the security headers on
//! every response, and `/metrics` on `METRICS_BIND`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ADMIN, Client, Running, TOKEN};
use shared::protocol::{Authenticate, CacheRequest, ForSeries};
use shared::{Asset, Candle, CandleState, ClientMessage, Price, ServerMessage, Timeframe};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BIN: &str = env!("CARGO_BIN_EXE_tickstream");

fn addr_of(server: &Running) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// Opens `path` (`/ws?...`) from the local address `from`; the HTTP status
/// when the upgrade is refused, and its `Retry-After`.
async fn upgrade_from(
    server: &Running,
    from: IpAddr,
    path: &str,
) -> Result<Client, (u16, Option<String>)> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let stream = socket.connect(addr_of(server)).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let url = format!("ws://{}{path}", addr_of(server));
    match tokio_tungstenite::client_async(url.into_client_request().unwrap(), stream).await {
        Ok((socket, _)) => Ok(Client::from_socket(socket)),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err((
            response.status().as_u16(),
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
        )),
        Err(e) => panic!("{e}"),
    }
}

/// `POST /api/ticks` from `from` with the bearer `token`: the status.
async fn ingest_from(server: &Running, from: IpAddr, token: &str, body: &str) -> u16 {
    reqwest::Client::builder()
        .local_address(from)
        .build()
        .unwrap()
        .post(format!("{}/api/ticks", server.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn authenticate(token: &str) -> ClientMessage {
    ClientMessage::Authenticate(Authenticate {
        token: token.to_owned(),
    })
}

/// The real binary with `env` (and nothing from a `.env` file): its exit
/// status and standard error, when it stops by itself within 20 s.
fn run_binary_until_exit(env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the server started with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.success(), stderr)
}

#[test]
fn an_empty_or_short_token_stops_start_up_naming_the_variable() {
    let base = [
        ("BIND", "127.0.0.1:0"),
        ("REDIS_URL", "none"),
        ("DATABASE_URL", "none"),
    ];
    for (name, value) in [
        ("ADMIN_TOKEN", ""),
        ("ADMIN_TOKEN", "sesame"),
        ("INGEST_TOKEN", ""),
        ("INGEST_TOKEN", "fifteen-chars!!"),
    ] {
        let mut env = base.to_vec();
        env.push((name, value));
        let (ok, stderr) = run_binary_until_exit(&env);
        assert!(!ok, "{name}={value:?} started");
        assert!(
            stderr.contains(name) && stderr.contains("16 characters"),
            "{name}={value:?}: {stderr}"
        );
        if !value.is_empty() {
            assert!(!stderr.contains(value), "the token is shown: {stderr}");
        }
    }
}

#[tokio::test]
async fn without_an_admin_token_no_session_is_admin() {
    let dist = tempfile::tempdir().unwrap();
    let server = common::start(dist.path(), &["--redis-url", "none"]).await;
    let local = IpAddr::from([127, 0, 0, 1]);
    for path in [
        "/ws?token=",
        "/ws?token=anything-at-all-really",
        "/ws?token",
    ] {
        assert_eq!(
            upgrade_from(&server, local, path).await.err().map(|e| e.0),
            Some(401),
            "{path}"
        );
    }
    let mut client = Client::connect(&server.ws).await;
    client.send(&authenticate("")).await;
    match client.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("wrong admin token"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    client
        .send(&ClientMessage::ClearCachedHistoricalData(ForSeries {
            asset: Asset::new("EURUSD"),
            timeframe: Timeframe::M1,
        }))
        .await;
    match client.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("admin token"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn the_authenticate_message_makes_the_session_admin_only_first_and_only_when_right() {
    let dist = tempfile::tempdir().unwrap();
    let server = common::start(
        dist.path(),
        &["--redis-url", "none", "--admin-token", ADMIN],
    )
    .await;
    let clear = ClientMessage::ClearCachedHistoricalData(ForSeries {
        asset: Asset::new("EURUSD"),
        timeframe: Timeframe::M1,
    });

    let mut admin = Client::connect(&server.ws).await;
    admin.send(&authenticate(ADMIN)).await;
    assert!(matches!(
        admin.recv().await,
        ServerMessage::Authenticated(_)
    ));
    admin.send(&clear).await;
    // Past the admin check: without Redis there is no cache to clear.
    match admin.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("needs Redis"), "{e:?}"),
        other => panic!("{other:?}"),
    }

    let mut wrong = Client::connect(&server.ws).await;
    wrong.send(&authenticate("not-the-admin-token")).await;
    match wrong.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("wrong admin token"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    wrong.send(&clear).await;
    match wrong.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("admin token"), "{e:?}"),
        other => panic!("{other:?}"),
    }

    let mut late = Client::connect(&server.ws).await;
    late.send(&ClientMessage::GetRedisStatus).await;
    assert!(matches!(late.recv().await, ServerMessage::RedisStatus(_)));
    late.send(&authenticate(ADMIN)).await;
    match late.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("first message"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    late.send(&clear).await;
    match late.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("admin token"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn the_eleventh_wrong_token_from_one_address_gets_429_and_others_go_on() {
    let dist = tempfile::tempdir().unwrap();
    let server = common::start(
        dist.path(),
        &[
            "--redis-url",
            "none",
            "--admin-token",
            ADMIN,
            "--auth-failure-window",
            "3",
        ],
    )
    .await;
    let guesser = IpAddr::from([127, 0, 0, 2]);
    let other = IpAddr::from([127, 0, 0, 1]);
    let body = common::ticks_json("LOCKA", &[("1.1", now_ms())]);
    // Ten wrong tokens, by both routes and both ways of presenting one.
    for i in 0..4 {
        let path = format!("/ws?token=guess-{i}");
        assert_eq!(
            upgrade_from(&server, guesser, &path)
                .await
                .err()
                .map(|e| e.0),
            Some(401)
        );
    }
    for i in 0..4 {
        assert_eq!(
            ingest_from(&server, guesser, &format!("guess-{i}"), &body).await,
            401
        );
    }
    for i in 0..2 {
        let mut client = upgrade_from(&server, guesser, "/ws").await.unwrap();
        client.send(&authenticate(&format!("guess-{i}"))).await;
        assert!(matches!(client.recv().await, ServerMessage::Error(_)));
    }
    // The eleventh try is refused whatever it carries, the right token too.
    let (status, retry_after) = upgrade_from(&server, guesser, &format!("/ws?token={ADMIN}"))
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 429);
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert_eq!(ingest_from(&server, guesser, TOKEN, &body).await, 429);
    let mut client = upgrade_from(&server, guesser, "/ws").await.unwrap();
    client.send(&authenticate(ADMIN)).await;
    match client.recv().await {
        ServerMessage::Error(e) => assert!(e.message.contains("too many wrong tokens"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    // Anonymous sessions from that address still work.
    client.send(&ClientMessage::GetRedisStatus).await;
    assert!(matches!(client.recv().await, ServerMessage::RedisStatus(_)));

    // Another address is untouched.
    assert!(
        upgrade_from(&server, other, &format!("/ws?token={ADMIN}"))
            .await
            .is_ok()
    );
    assert_eq!(ingest_from(&server, other, TOKEN, &body).await, 200);
    let mut admin = upgrade_from(&server, other, "/ws").await.unwrap();
    admin.send(&authenticate(ADMIN)).await;
    assert!(matches!(
        admin.recv().await,
        ServerMessage::Authenticated(_)
    ));

    // Once the window (AUTH_FAILURE_WINDOW=3) is over, the address may try again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(ingest_from(&server, guesser, TOKEN, &body).await, 200);
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains(r#"tickstream_ingest_rejected_total{reason="locked_out"} 1"#),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_debug_log_of_the_real_binary_holds_no_token() {
    const INGEST: &str = "ingest-token-never-logged-7f3a";
    const ADMIN_SECRET: &str = "admin-token-never-logged-91c2";
    const GUESS: &str = "guessed-token-never-logged-55e0";
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .envs([
            ("BIND", "127.0.0.1:0"),
            ("REDIS_URL", "none"),
            ("DATABASE_URL", "none"),
            ("RUST_LOG", "debug"),
            ("INGEST_TOKEN", INGEST),
            ("ADMIN_TOKEN", ADMIN_SECRET),
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no start line");
        if let Some(addr) = line.trim().strip_prefix("tickstream listening on ") {
            break addr.to_owned();
        }
    };
    let ws = base.replace("http://", "ws://");
    for path in [
        format!("/ws?token={ADMIN_SECRET}"),
        format!("/ws?%74oken={ADMIN_SECRET}&x=1"),
        format!("/ws?token={GUESS}"),
    ] {
        let _ = tokio_tungstenite::connect_async(format!("{ws}{path}")).await;
    }
    let mut client = Client::connect(&format!("{ws}/ws")).await;
    client.send(&authenticate(ADMIN_SECRET)).await;
    assert!(matches!(
        client.recv().await,
        ServerMessage::Authenticated(_)
    ));
    let http = reqwest::Client::new();
    for token in [INGEST, GUESS] {
        let _ = http
            .post(format!("{base}/api/ticks"))
            .bearer_auth(token)
            .body(common::ticks_json("LOGA", &[("1.1", now_ms())]))
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("DEBUG"), "not a debug log: {log}");
    assert!(
        log.contains("/ws?token=***"),
        "the request span is logged: {log}"
    );
    for secret in [INGEST, ADMIN_SECRET, GUESS] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
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
