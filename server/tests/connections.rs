//! Connections against the real server: the header-read and idle timeouts
//! (a socket that never sends, half-sent headers, an idle keep-alive, a
//! stalled body), WebSocket pings, the caps per address and in all with
//! their `429` and `503`, `X-Forwarded-For` believed only from a trusted
//! proxy, and the real binary under a 256 open-files limit. Clients bind
//! other loopback addresses (127.0.0.2, ...) to be different addresses.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Client, Running, TOKEN};
use shared::{ClientMessage, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn start(args: &[&str]) -> (Running, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    let mut all = vec!["--redis-url", "none"];
    all.extend_from_slice(args);
    (common::start(dist.path(), &all).await, dist)
}

fn addr_of(server: &Running) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to `addr` from the loopback address `source`.
async fn connect_from(addr: SocketAddr, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// How long until the server closes `tcp` (whatever it writes first), if
/// it does within `wait`.
async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(wait.saturating_sub(started.elapsed()), tcp.read(&mut buf)).await
        {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// One keep-alive `GET path` on `tcp`: the status and body.
async fn get(tcp: &mut TcpStream, path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    read_response(tcp).await
}

/// Reads one response (head and a `content-length` body).
async fn read_response(tcp: &mut TcpStream) -> (u16, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .expect("a response within 5 s")
            .unwrap();
        assert!(n > 0, "closed before a response: {data:?}");
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
    let status: u16 = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while data.len() < head_end + length {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed inside a body");
        data.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&data[head_end..head_end + length]).into_owned();
    (status, body)
}

/// Reads everything until the server closes: the status of what it wrote.
async fn refusal(tcp: &mut TcpStream) -> u16 {
    let mut data = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut data))
        .await
        .expect("closed within 5 s")
        .unwrap();
    let text = String::from_utf8_lossy(&data);
    assert!(text.starts_with("HTTP/1.1 "), "{text}");
    text[9..12].parse().unwrap()
}

#[tokio::test]
async fn a_socket_that_never_sends_a_byte_is_closed() {
    let (server, _dist) = start(&["--header-read-timeout", "1", "--idle-timeout", "30"]).await;
    let mut silent = connect_from(addr_of(&server), "127.0.0.1").await;
    let after = closed_within(&mut silent, Duration::from_secs(5)).await;
    let after = after.expect("a silent socket stays open");
    assert!(after >= Duration::from_millis(800), "{after:?}");
    server.stop().await;
}

#[tokio::test]
async fn half_sent_headers_are_closed() {
    let (server, _dist) = start(&["--header-read-timeout", "1", "--idle-timeout", "30"]).await;
    let mut slow = connect_from(addr_of(&server), "127.0.0.1").await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-slow: ")
        .await
        .unwrap();
    let after = closed_within(&mut slow, Duration::from_secs(5)).await;
    assert!(after.is_some(), "half-sent headers stay open");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let (server, _dist) = start(&["--header-read-timeout", "1", "--idle-timeout", "2"]).await;
    let mut tcp = connect_from(addr_of(&server), "127.0.0.1").await;
    assert_eq!(get(&mut tcp, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get(&mut tcp, "/healthz").await.0, 200, "keep-alive works");
    let after = closed_within(&mut tcp, Duration::from_secs(5)).await;
    assert!(after.is_some(), "an idle keep-alive connection stays open");
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_request_body_is_closed_after_the_idle_timeout() {
    let (server, _dist) = start(&["--header-read-timeout", "1", "--idle-timeout", "2"]).await;
    let mut tcp = connect_from(addr_of(&server), "127.0.0.1").await;
    let head = format!(
        "POST /api/ticks HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n[{{\"asset\""
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let after = closed_within(&mut tcp, Duration::from_secs(8)).await;
    let after = after.expect("a stalled body stays open");
    assert!(after >= Duration::from_millis(1800), "{after:?}");
    server.stop().await;
}

/// `tickstream_ws_clients` from `/metrics`.
async fn ws_clients(server: &Running) -> u64 {
    let (_, text) = server.get("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix("tickstream_ws_clients "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_websocket_that_answers_no_ping_is_closed_and_one_that_reads_stays() {
    let (server, _dist) = start(&["--ws-ping-interval", "0.2"]).await;
    let mut reading = Client::connect(&server.ws).await;
    // After the handshake, a bare socket: it never reads, so never pongs.
    let (silent, _) = tokio_tungstenite::connect_async(&server.ws).await.unwrap();
    let tokio_tungstenite::MaybeTlsStream::Plain(mut silent) = silent.into_inner() else {
        unreachable!("ws:// is plain TCP")
    };
    assert_eq!(ws_clients(&server).await, 2);
    // Reading answers pings (tungstenite pongs as it reads); two missed
    // pings, three intervals, end the silent one.
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        assert!(reading.try_recv(Duration::from_millis(100)).await.is_none());
    }
    assert_eq!(ws_clients(&server).await, 1);
    reading.send(&ClientMessage::GetRedisStatus).await;
    reading
        .until(|m| matches!(m, ServerMessage::RedisStatus(_)).then_some(()))
        .await;
    // What it was sent: pings, then a close frame with the reason.
    let mut sent = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), silent.read_to_end(&mut sent))
        .await
        .expect("the server closed the silent socket")
        .unwrap();
    let reason = b"no answer to pings";
    assert!(sent.windows(reason.len()).any(|w| w == reason), "{sent:?}");
    server.stop().await;
}

#[tokio::test]
async fn over_the_per_address_cap_a_connection_gets_429_and_others_are_served() {
    let (server, _dist) =
        start(&["--max-connections", "20", "--max-connections-per-ip", "5"]).await;
    let addr = addr_of(&server);
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut tcp = connect_from(addr, "127.0.0.2").await;
        assert_eq!(get(&mut tcp, "/healthz").await.0, 200);
        held.push(tcp);
    }
    let mut sixth = connect_from(addr, "127.0.0.2").await;
    assert_eq!(refusal(&mut sixth).await, 429);
    let mut other = connect_from(addr, "127.0.0.3").await;
    assert_eq!(get(&mut other, "/healthz").await, (200, "ok".to_owned()));
    // A place given back is taken again.
    drop(held.pop());
    let retry = Instant::now();
    loop {
        let mut again = connect_from(addr, "127.0.0.2").await;
        let request = b"GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";
        again.write_all(request).await.unwrap();
        if refusal(&mut again).await == 200 {
            break;
        }
        assert!(
            retry.elapsed() < Duration::from_secs(3),
            "place never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn over_max_connections_a_connection_gets_503_and_service_comes_back() {
    let (server, _dist) =
        start(&["--max-connections", "20", "--max-connections-per-ip", "5"]).await;
    let addr = addr_of(&server);
    let mut held = Vec::new();
    for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        for _ in 0..5 {
            let mut tcp = connect_from(addr, source).await;
            assert_eq!(get(&mut tcp, "/healthz").await.0, 200);
            held.push(tcp);
        }
    }
    let mut over = connect_from(addr, "127.0.0.6").await;
    assert_eq!(refusal(&mut over).await, 503);
    let ws = tokio_tungstenite::connect_async(&server.ws).await;
    assert!(
        matches!(&ws, Err(tungstenite::Error::Http(r)) if r.status() == 503),
        "{ws:?}"
    );
    // The held connections are served still.
    assert_eq!(get(&mut held[0], "/healthz").await.0, 200);
    drop(held);
    let retry = Instant::now();
    loop {
        match reqwest::get(format!("{}/healthz", server.base)).await {
            Ok(r) if r.status() == 200 => break,
            _ => {}
        }
        assert!(
            retry.elapsed() < Duration::from_secs(3),
            "service never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// Opens `/ws` from `source`, with `X-Forwarded-For: forwarded` if given:
/// the socket, or the status that refused it.
async fn ws_from(
    addr: SocketAddr,
    source: &str,
    forwarded: Option<&str>,
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, u16> {
    let tcp = connect_from(addr, source).await;
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(f) = forwarded {
        request
            .headers_mut()
            .insert("x-forwarded-for", f.parse().unwrap());
    }
    match tokio_tungstenite::client_async(request, tcp).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let (server, _dist) = start(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--max-connections-per-ip",
        "2",
    ])
    .await;
    let addr = addr_of(&server);
    // Through the proxy, the client is the right-most untrusted address.
    let a1 = ws_from(addr, "127.0.0.1", Some("203.0.113.9"))
        .await
        .unwrap();
    let a2 = ws_from(addr, "127.0.0.1", Some("198.51.100.1, 203.0.113.9"))
        .await
        .unwrap();
    let forged = Some("203.0.113.10, 203.0.113.9, 127.0.0.1");
    assert_eq!(ws_from(addr, "127.0.0.1", forged).await.err(), Some(429));
    let _b = ws_from(addr, "127.0.0.1", Some("203.0.113.9, 203.0.113.10"))
        .await
        .unwrap();
    // The proxy itself is not capped per address.
    let mut plain = Vec::new();
    for _ in 0..4 {
        let mut tcp = connect_from(addr, "127.0.0.1").await;
        assert_eq!(get(&mut tcp, "/healthz").await.0, 200);
        plain.push(tcp);
    }
    // A closed WebSocket gives its client's place back.
    drop((a1, a2));
    let retry = Instant::now();
    while ws_from(addr, "127.0.0.1", Some("203.0.113.9"))
        .await
        .is_err()
    {
        assert!(
            retry.elapsed() < Duration::from_secs(3),
            "place never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // From anyone else the header counts for nothing: the peer is the client.
    let _c1 = ws_from(addr, "127.0.0.2", Some("192.0.2.1")).await.unwrap();
    let _c2 = ws_from(addr, "127.0.0.2", Some("192.0.2.2")).await.unwrap();
    assert_eq!(
        ws_from(addr, "127.0.0.2", Some("192.0.2.3")).await.err(),
        Some(429)
    );
    server.stop().await;
}

/// The real binary under a 256 open-files limit (soft and hard, as the
/// finding had it), 300 idle sockets from three addresses: with a cap per
/// address and the cap in all lowered to fit the limit, `/healthz` still
/// answers instead of failing with "Too many open files".
#[tokio::test]
async fn under_a_256_open_files_limit_300_idle_sockets_leave_healthz_answering() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dist = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 256 && exec \"$0\" serve",
            env!("CARGO_BIN_EXE_tickstream"),
        ])
        .env("BIND", "127.0.0.1:0")
        .env("DIST_DIR", dist.path())
        .env("REDIS_URL", "none")
        .env("DATABASE_URL", "none")
        .env("MAX_CONNECTIONS_PER_IP", "40")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let warnings = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    let base = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split("listening on ").nth(1).map(str::to_owned))
        .expect("the server starts");
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let mut idle = Vec::new();
    for i in 0..300 {
        let source = ["127.0.0.2", "127.0.0.3", "127.0.0.4"][i % 3];
        idle.push(connect_from(addr, source).await);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let response = client.get(format!("{base}/healthz")).send().await;
    let status = response.map(|r| r.status().as_u16());
    assert_eq!(status.ok(), Some(200));
    drop(idle);
    let _ = child.kill();
    let _ = child.wait();
    let log = warnings.join().unwrap();
    assert!(
        log.contains("MAX_CONNECTIONS=10000 does not fit in the open-files limit of 256"),
        "{log}"
    );
}
