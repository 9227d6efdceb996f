//! Tokens against the real server (issue 10, item 7): short tokens stop
//! start-up, the `authenticate` message, wrong tokens locked out per address
//! (a second address is `127.0.0.2`), and no token in a debug log of the
//! real binary. The rest of the surface is in `surface.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ADMIN, Client, Running, TOKEN};
use shared::protocol::{Authenticate, ForSeries};
use shared::{Asset, ClientMessage, ServerMessage, Timeframe};
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
