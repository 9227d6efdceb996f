//! A corpus of malformed inputs across `POST /api/ticks`, `GET /api/candles`
//! and WebSocket frames: each gets a clear error (a 4xx with a JSON
//! `{"error"}` body, or an `error {message}` event) and nothing changes:
//! the journal, the keys in Redis, the counters and the subscriptions are
//! as before. Plus the origin and token checks through real upgrades, and
//! Redis with a password and over TLS (`rediss://`) and PostgreSQL's
//! `sslmode`, for real: a private `redis-server --requirepass`, one with TLS
//! and a certificate made here by `openssl`, and the machine's PostgreSQL
//! (which has SSL on).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Client, PrivateRedis, Running, TOKEN};
use shared::ServerMessage;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ASSET: &str = "CorpusA";

/// Ingest bodies that must all be refused (sent with the right token).
fn bad_ingest_bodies(now: i64) -> Vec<Vec<u8>> {
    let tick = |asset: &str, price: &str, ts: &str| {
        format!(r#"[{{"asset":{asset},"price":{price},"timestamp":{ts}}}]"#)
    };
    let a = format!("\"{ASSET}\"");
    let t = now.to_string();
    let mut bodies: Vec<String> = [
        "",
        " ",
        "null",
        "true",
        "1",
        "\"ticks\"",
        "{}",
        "[",
        "]",
        "[{]",
        "[1]",
        "[null]",
        "[[]]",
        "[\"a\"]",
        "[{}]",
        "[]",
        "[,]",
        "[{},]",
        "{\"asset\":\"A\"}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Nested too deep for the parser.
    bodies.push(format!("{}{}", "[".repeat(500), "]".repeat(500)));
    // Trailing garbage after a valid array.
    bodies.push(format!("{} x", tick(&a, "1.1", &t)));
    for asset in [
        "\"\"",
        "\"A B\"",
        "\"A/B\"",
        "\"EUR-USD\"",
        "\"ABCDEFGHIJKLMNOPQRSTU\"",
        "\"é\"",
        "123",
        "null",
        "[]",
        "{}",
        "true",
    ] {
        bodies.push(tick(asset, "1.1", &t));
    }
    for price in [
        "0",
        "-1",
        "\"0\"",
        "\"-0.1\"",
        "\"abc\"",
        "\"1e400\"",
        "1e400",
        "\"NaN\"",
        "\"Infinity\"",
        "\"1.00000000001\"",
        "12345678901",
        "\"\"",
        "null",
        "true",
        "{}",
        "[]",
        "\"1,5\"",
        "\" 1.5\"",
        "\"0x10\"",
        "0.00000000001",
    ] {
        bodies.push(tick(&a, price, &t));
    }
    let far = (now + 3_600_000).to_string();
    let micro = (now * 1000).to_string();
    let secs = (now / 1000).to_string();
    for ts in [
        "\"now\"",
        "-1",
        "0",
        secs.as_str(),
        micro.as_str(),
        "1.5",
        "null",
        far.as_str(),
        "4102444800001",
        "true",
        "[]",
        "99999999999999999999",
    ] {
        bodies.push(tick(&a, "1.1", ts));
    }
    bodies.push(format!(r#"[{{"asset":{a},"price":1}}]"#));
    bodies.push(format!(r#"[{{"asset":{a},"timestamp":{t}}}]"#));
    bodies.push(format!(r#"[{{"price":1,"timestamp":{t}}}]"#));
    bodies.push(format!(
        r#"[{{"asset":{a},"price":1,"timestamp":{t},"volume":1}}]"#
    ));
    bodies.push(format!(
        r#"[{{"asset":{a},"asset":{a},"price":1,"timestamp":{t}}}]"#
    ));
    // One bad tick after good ones refuses the whole batch.
    let good = format!(r#"{{"asset":{a},"price":1.1,"timestamp":{t}}}"#);
    bodies.push(format!(
        r#"[{good},{good},{{"asset":{a},"price":-2,"timestamp":{t}}}]"#
    ));
    // Too many ticks, and a body over MAX_INGEST_BYTES.
    bodies.push(format!("[{}]", [good.as_str(); 11].join(",")));
    bodies.push(format!("[{}]", "1,".repeat(3_000) + "1"));
    let mut out: Vec<Vec<u8>> = bodies.into_iter().map(String::into_bytes).collect();
    // Not UTF-8.
    out.push(vec![b'[', 0xff, 0xfe, b']']);
    out.push(b"[{\"asset\":\"\xc3\x28\",\"price\":1,\"timestamp\":1}]".to_vec());
    out
}

/// Authorization headers that must be refused, with a valid body (a
/// missing header and a wrong token are in `live.rs`).
const BAD_AUTH: [&str; 5] = [
    "Basic dGVzdDp0ZXN0",
    "bearer test-ingest-token",
    "Bearer",
    "Bearer TEST-INGEST-TOKEN",
    "Bearer  test-ingest-token",
];

/// `GET /api/candles` queries that must be refused.
fn bad_candle_queries() -> Vec<String> {
    let a = format!("asset={ASSET}");
    [
        "".to_owned(),
        "asset=".to_owned(),
        "asset=A%20B".to_owned(),
        "asset=ABCDEFGHIJKLMNOPQRSTU".to_owned(),
        "asset=%C3%A9".to_owned(),
        "timeframe=1M".to_owned(),
        format!("{a}&timeframe=1441M"),
        format!("{a}&timeframe="),
        format!("{a}&timeframe=1X"),
        format!("{a}&limit=0"),
        format!("{a}&limit=5001"),
        format!("{a}&limit=-1"),
        format!("{a}&limit=abc"),
        format!("{a}&from=abc"),
        format!("{a}&from=10&to=5"),
        format!("{a}&to=1e3"),
        format!("{a}&from=99999999999999999999"),
        format!("{a}&unknown=1"),
        format!("{a}&asset=B"),
        format!("{a}&limit=1.5"),
    ]
    .into()
}

/// WebSocket text frames that must each be answered with `error`.
fn bad_frames() -> Vec<String> {
    let mut frames: Vec<String> = [
        "",
        " ",
        "null",
        "[]",
        "{}",
        "1",
        "\"event\"",
        "not json",
        "{\"event\":1}",
        "{\"event\":null}",
        "{\"event\":\"\"}",
        "{\"event\":\"launch\"}",
        "{\"event\":\"REDIS_STATUS\"}",
        "{\"event\":\"get_redis_status\"} x",
        "{\"data\":{}}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    frames.push(format!("{}{}", "[".repeat(300), "]".repeat(300)));
    for event in [
        "subscribe_redis_updates",
        "unsubscribe_redis_updates",
        "start_stream",
    ] {
        frames.push(format!(r#"{{"event":"{event}"}}"#));
        frames.push(format!(r#"{{"event":"{event}","data":null}}"#));
        frames.push(format!(r#"{{"event":"{event}","data":[]}}"#));
        for asset in ["\"\"", "\"A B\"", "\"ABCDEFGHIJKLMNOPQRSTU\"", "7", "null"] {
            frames.push(format!(
                r#"{{"event":"{event}","data":{{"asset":{asset}}}}}"#
            ));
        }
        frames.push(format!(
            r#"{{"event":"{event}","data":{{"asset":"{ASSET}","extra":1}}}}"#
        ));
    }
    for (tf, seq, epoch) in [
        ("\"1441M\"", "1", "1"),
        ("\"1M\"", "-1", "1"),
        ("\"1M\"", "\"5\"", "1"),
        ("\"1M\"", "1", "\"e\""),
        ("7", "1", "1"),
    ] {
        frames.push(format!(
            r#"{{"event":"subscribe_redis_updates","data":{{"asset":"{ASSET}","timeframe":{tf},"last_seq":{seq},"epoch":{epoch}}}}}"#
        ));
    }
    for event in ["get_cached_historical_data", "clear_cached_historical_data"] {
        frames.push(format!(
            r#"{{"event":"{event}","data":{{"timeframe":"1M"}}}}"#
        ));
        frames.push(format!(
            r#"{{"event":"{event}","data":{{"asset":"{ASSET}","timeframe":"1Y"}}}}"#
        ));
        frames.push(format!(
            r#"{{"event":"{event}","data":{{"asset":"A B","timeframe":"1M"}}}}"#
        ));
    }
    // Privileged events without the admin token, and malformed candles.
    frames.push(format!(
        r#"{{"event":"clear_cached_historical_data","data":{{"asset":"{ASSET}","timeframe":"1M"}}}}"#
    ));
    let candle = |o: &str, h: &str, l: &str, c: &str, ts: i64| {
        format!(
            r#"{{"asset":"{ASSET}","timeframe":"1M","timestamp":{ts},"open":{o},"high":{h},"low":{l},"close":{c},"volume":1,"date":"2024-01-15T10:30:00Z"}}"#
        )
    };
    for data in [
        candle("1", "2", "0.5", "1.5", 1_705_314_600),
        candle("1", "0.5", "0.4", "0.45", 1_705_314_600),
        candle("1", "2", "0.5", "1.5", 1_705_314_601),
        candle("-1", "2", "0.5", "1.5", 1_705_314_600),
        "{}".to_owned(),
    ] {
        frames.push(format!(
            r#"{{"event":"cache_historical_data","data":{{"asset":"{ASSET}","timeframe":"1M","data":[{data}]}}}}"#
        ));
    }
    frames.push(format!(
        r#"{{"event":"cache_historical_data","data":{{"asset":"{ASSET}","timeframe":"1M","data":"x"}}}}"#
    ));
    frames.push(r#"{"event":"stop_stream","data":"#.to_owned());
    frames.push(r#"{"event":"get_redis_status","data":{}}}"#.to_owned());
    // Larger than MAX_FRAME_BYTES.
    frames.push(format!(
        r#"{{"event":"start_stream","data":{{"asset":"{}"}}}}"#,
        "A".repeat(3_000)
    ));
    frames
}

/// What must not change: the journal, the keys, the counters.
async fn footprint(server: &Running, prefix: &str) -> (u64, Vec<String>, serde_json::Value, bool) {
    let mut conn = common::redis().await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    // Each tailing process publishes where it reads (trimming waits for
    // it), and start-up records its DAY_START: bookkeeping of the server's
    // own, not data a client made.
    keys.retain(|k| !k.ends_with("journal:readers") && !k.ends_with("day_start"));
    keys.sort();
    let (_, status) = server.get("/api/status").await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let (_, metrics) = server.get("/metrics").await;
    let accepted = metrics.contains("\ntickstream_ticks_accepted_total 0\n");
    (
        common::journal_len(prefix).await,
        keys,
        serde_json::json!({"live": status["live"], "feeds": status["feeds"]}),
        accepted,
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn a_hundred_malformed_inputs_get_clear_errors_and_change_nothing() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = common::unique_prefix("corpus");
    let server = common::start_on_redis(
        dist.path(),
        &prefix,
        &[
            "--max-ingest-bytes",
            "4096",
            "--max-ingest-ticks",
            "10",
            "--max-frame-bytes",
            "2048",
            "--ws-rate-limit",
            "100000",
            "--admin-token",
            common::ADMIN,
        ],
    )
    .await;
    let before = footprint(&server, &prefix).await;
    assert!(before.3, "no tick accepted yet");
    let http = reqwest::Client::new();
    let mut inputs = 0;

    let valid = common::ticks_json(ASSET, &[("1.1", now_ms())]);
    for auth in BAD_AUTH {
        let response = http
            .post(format!("{}/api/ticks", server.base))
            .header("authorization", auth)
            .body(valid.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{auth}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("token"),
            "{auth}: {body}"
        );
        inputs += 1;
    }
    for body in bad_ingest_bodies(now_ms()) {
        let response = http
            .post(format!("{}/api/ticks", server.base))
            .bearer_auth(TOKEN)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let shown = String::from_utf8_lossy(&body);
        assert!(
            matches!(status, 400 | 413 | 422),
            "{shown}: {status} {text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{shown}: not JSON: {text}"));
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.len() > 5, "{shown}: {text}");
        inputs += 1;
    }
    for query in bad_candle_queries() {
        let (status, text) = server.get(&format!("/api/candles?{query}")).await;
        assert_eq!(status, 400, "{query}: {text}");
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{query}: not JSON: {text}"));
        assert!(
            json["error"].as_str().unwrap_or_default().len() > 5,
            "{query}: {text}"
        );
        inputs += 1;
    }

    let mut client = Client::connect(&server.ws).await;
    for frame in bad_frames() {
        client.send_text(&frame).await;
        match client.recv().await {
            ServerMessage::Error(e) => assert!(e.message.len() > 5, "{frame}: {}", e.message),
            other => panic!("{frame}: answered {other:?}"),
        }
        inputs += 1;
    }
    for binary in [
        vec![],
        vec![0u8],
        b"{\"event\":\"get_redis_status\"}".to_vec(),
    ] {
        client.send_raw(Message::binary(binary)).await;
        match client.recv().await {
            ServerMessage::Error(e) => assert!(e.message.contains("binary"), "{}", e.message),
            other => panic!("binary: answered {other:?}"),
        }
        inputs += 1;
    }
    assert!(inputs >= 100, "only {inputs} inputs");
    eprintln!("{inputs} malformed inputs refused");

    let after = footprint(&server, &prefix).await;
    assert_eq!(before, after, "a refused input changed something");
    // No malformed subscribe subscribed: a valid tick reaches nobody.
    server.ingest(&valid).await;
    let started = std::time::Instant::now();
    let status = loop {
        let (_, text) = server.get("/api/status").await;
        let status: serde_json::Value = serde_json::from_str(&text).unwrap();
        if !status["feeds"][ASSET].is_null() || started.elapsed() > Duration::from_secs(10) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status["live"]["deliveries"], 0, "{status}");
    assert!(client.try_recv(Duration::from_millis(300)).await.is_none());
    server.stop().await;
    common::cleanup(&prefix).await;
}

/// Opens `/ws` with an `Origin` header (or none) and `?token=`.
async fn upgrade(server: &Running, origin: Option<&str>, token: Option<&str>) -> Result<(), u16> {
    let url = match token {
        Some(t) => format!("{}?token={t}", server.ws),
        None => server.ws.clone(),
    };
    let mut request = url.into_client_request().unwrap();
    if let Some(o) = origin {
        request.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn origins_and_the_admin_token_are_checked_at_the_upgrade() {
    let dist = tempfile::tempdir().unwrap();
    // Default: the page's own origin and non-browser clients only.
    let own = common::start(
        dist.path(),
        &["--redis-url", "none", "--admin-token", common::ADMIN],
    )
    .await;
    let host = own.base.clone();
    assert_eq!(upgrade(&own, None, None).await, Ok(()));
    assert_eq!(upgrade(&own, Some(&host), None).await, Ok(()));
    assert_eq!(
        upgrade(&own, Some("http://evil.example"), None).await,
        Err(403)
    );
    assert_eq!(upgrade(&own, Some("null"), None).await, Err(403));
    assert_eq!(upgrade(&own, None, Some(common::ADMIN)).await, Ok(()));
    // (A wrong token is refused in history.rs.)
    assert_eq!(upgrade(&own, None, Some("")).await, Err(401));
    let almost = &common::ADMIN[..common::ADMIN.len() - 1];
    assert_eq!(upgrade(&own, None, Some(almost)).await, Err(401));
    assert_eq!(
        upgrade(&own, Some("http://evil.example"), Some(common::ADMIN)).await,
        Err(403)
    );
    own.stop().await;

    // A list: exactly those origins, and a browser must send one.
    let listed = common::start(
        dist.path(),
        &[
            "--redis-url",
            "none",
            "--allowed-origins",
            "https://charts.example,https://b.example",
        ],
    )
    .await;
    assert_eq!(
        upgrade(&listed, Some("https://charts.example"), None).await,
        Ok(())
    );
    assert_eq!(
        upgrade(&listed, Some("https://b.example"), None).await,
        Ok(())
    );
    assert_eq!(
        upgrade(&listed, Some("https://charts.example.evil"), None).await,
        Err(403)
    );
    assert_eq!(
        upgrade(&listed, Some("http://charts.example"), None).await,
        Err(403)
    );
    assert_eq!(upgrade(&listed, None, None).await, Err(403));
    // Without ADMIN_TOKEN configured, any token is refused.
    assert_eq!(
        upgrade(&listed, Some("https://b.example"), Some("x")).await,
        Err(401)
    );
    listed.stop().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_tickstream");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `tickstream health` on Redis only (no server, no database): the Redis
/// lines of its report.
fn redis_health(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .arg("health")
        .args([
            "--server",
            "http://127.0.0.1:9",
            "--redis-socket-timeout",
            "3",
        ])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("SSL_CERT_FILE")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            ["redis_connection", "pubsub_round_trip", "cache_set_get"]
                .iter()
                .any(|n| l.contains(n))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn all_ok(report: &str) -> bool {
    report.lines().count() == 3 && report.lines().all(|l| l.starts_with("OK"))
}

#[tokio::test]
async fn redis_password_is_used_for_the_journal_and_the_health_check() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _redis = PrivateRedis::start_with(dir.path(), port, &["--requirepass", "s3cr3t pass"]);
    let port_s = port.to_string();
    let parts = ["--redis-host", "127.0.0.1", "--redis-port", port_s.as_str()];

    // The server journals in Redis with the password, in-process without it.
    let dist = tempfile::tempdir().unwrap();
    let mut args = parts.to_vec();
    args.extend(["--redis-password", "s3cr3t pass"]);
    let server = common::start(dist.path(), &args).await;
    let body = common::ticks_json("AuthA", &[("1.1", common::future_minute())]);
    assert_eq!(server.ingest(&body).await["journal"], "redis");
    server.stop().await;
    let mut args = parts.to_vec();
    args.extend(["--redis-password", "wrong"]);
    let refused = common::start(dist.path(), &args).await;
    assert_eq!(refused.ingest(&body).await["journal"], "local");
    refused.stop().await;

    let mut args = parts.to_vec();
    args.extend(["--redis-password", "s3cr3t pass"]);
    let report = redis_health(&args, &[]);
    assert!(all_ok(&report), "{report}");
    // The same through REDIS_PASSWORD, and through a URL.
    let report = redis_health(&parts, &[("REDIS_PASSWORD", "s3cr3t pass")]);
    assert!(all_ok(&report), "{report}");
    let url = format!("redis://:s3cr3t%20pass@127.0.0.1:{port}/0");
    assert!(all_ok(&redis_health(&["--redis-url", &url], &[])));

    let report = redis_health(&parts, &[]);
    assert!(
        report.starts_with("FAILED") && report.contains("NOAUTH"),
        "{report}"
    );
    let report = redis_health(&parts, &[("REDIS_PASSWORD", "wrong")]);
    assert!(
        report.starts_with("FAILED") && report.contains("authentication failed"),
        "{report}"
    );
    // The password is never printed.
    assert!(!redis_health(&["--redis-url", &url], &[]).contains("s3cr3t"));
}

/// A CA and a certificate for `localhost` signed by it, made by `openssl`.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=tickstream test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "redis.key",
        "-out",
        "redis.csr",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "redis.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "redis.pem",
    ]);
}

#[test]
fn rediss_urls_speak_tls_and_verify_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let port = free_port();
    let path = |f: &str| dir.path().join(f).display().to_string();
    let _redis = PrivateRedis::start_with(
        dir.path(),
        port,
        &[
            "--tls-port",
            &port.to_string(),
            "--port",
            "0",
            "--tls-cert-file",
            &path("redis.pem"),
            "--tls-key-file",
            &path("redis.key"),
            "--tls-ca-cert-file",
            &path("ca.pem"),
            "--tls-auth-clients",
            "no",
        ],
    );
    let url = format!("rediss://localhost:{port}/0");
    // Trusting the CA (SSL_CERT_FILE, read by the native root store): OK.
    let report = redis_health(
        &["--redis-url", &url],
        &[("SSL_CERT_FILE", &path("ca.pem"))],
    );
    assert!(all_ok(&report), "{report}");
    // Not trusting it: refused, saying why.
    let report = redis_health(&["--redis-url", &url], &[]);
    assert!(report.starts_with("FAILED"), "{report}");
    assert!(report.to_lowercase().contains("certificate"), "{report}");
    // Plain redis:// to a TLS port does not get through either.
    let report = redis_health(
        &["--redis-url", &format!("redis://localhost:{port}/0")],
        &[],
    );
    assert!(report.starts_with("FAILED"), "{report}");
}

#[tokio::test]
async fn postgresql_sslmode_is_honoured() {
    use sqlx::Connection;
    let (url, db) = common::fresh_database("sslmode").await;
    let with = |mode: &str| format!("{url}?sslmode={mode}");
    // The local server has SSL on with a self-signed certificate.
    let mut conn = sqlx::PgConnection::connect(&with("require")).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ssl, "sslmode=require gave a plain connection");
    conn.close().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&with("disable")).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(!ssl, "sslmode=disable gave TLS");
    conn.close().await.unwrap();
    // verify-full checks the certificate, which no trusted CA signed.
    let err = sqlx::PgConnection::connect(&with("verify-full"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    common::drop_database(&db).await;
}
