//! Test helpers: a real server in-process on `127.0.0.1:0`, against the real
//! Redis on loopback under a key prefix of its own, and a WebSocket client.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use server::app;
use server::config::ServeConfig;
use shared::{ClientMessage, ServerMessage};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// The Redis the tests use.
pub const REDIS: &str = "redis://127.0.0.1:6379/0";
/// The ingest token of test servers.
pub const TOKEN: &str = "test-ingest-token";
/// The admin token of test servers that take one (`--admin-token`).
pub const ADMIN: &str = "test-admin-token-0123";

/// A key prefix no other test run shares.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test:{name}:{}:{nanos}:", std::process::id())
}

/// A running server and the token that stops it.
pub struct Running {
    pub base: String,
    pub ws: String,
    pub stop: CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Holds the server's write-ahead file unless a test names one.
    pub scratch: tempfile::TempDir,
}

/// Starts a server with `args` (plus a free port and the test token).
pub async fn start(dist: &Path, args: &[&str]) -> Running {
    let mut all: Vec<&str> = vec!["--ingest-token", TOKEN];
    all.extend_from_slice(args);
    start_bare(dist, &all).await
}

/// Starts a server on the shared Redis under `prefix`, plus `args`.
pub async fn start_on_redis(dist: &Path, prefix: &str, args: &[&str]) -> Running {
    let mut all = vec!["--redis-url", REDIS, "--redis-key-prefix", prefix];
    all.extend_from_slice(args);
    start(dist, &all).await
}

/// Starts a server on the shared Redis under `prefix` and the database at
/// `db_url`, writing a batch every second, plus `args`.
pub async fn start_with_db(dist: &Path, prefix: &str, db_url: &str, args: &[&str]) -> Running {
    let mut all = vec![
        "--database-url",
        db_url,
        "--redis-batch-processing-interval",
        "1",
    ];
    all.extend_from_slice(args);
    start_on_redis(dist, prefix, &all).await
}

/// Starts a server with `args` and a free port only. No tick store unless
/// `args` names one: a `DATABASE_URL` in the environment is not used.
pub async fn start_bare(dist: &Path, args: &[&str]) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut all: Vec<String> = vec![
        "--bind".into(),
        addr.to_string(),
        "--dist".into(),
        dist.display().to_string(),
    ];
    if !args.contains(&"--database-url") {
        all.extend(["--database-url".to_owned(), "none".to_owned()]);
    }
    let scratch = tempfile::tempdir().unwrap();
    if !args.contains(&"--max-future-skew-ms") {
        // Tests stamp ticks from the next minute on (`future_minute`), so
        // that their candles stay forming while they run.
        all.extend(["--max-future-skew-ms".to_owned(), "600000".to_owned()]);
    }
    if !args.contains(&"--journal-wal-path") {
        let wal = scratch.path().join("journal.wal");
        all.extend(["--journal-wal-path".to_owned(), wal.display().to_string()]);
    }
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let config = ServeConfig::parse_from(all).unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app::run(listener, config, stop.clone()));
    Running {
        base: format!("http://{addr}"),
        ws: format!("ws://{addr}/ws"),
        stop,
        task,
        scratch,
    }
}

impl Running {
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A figure of `GET /metrics`, by its full name.
    pub async fn metric(&self, name: &str) -> u64 {
        let (code, text) = self.get("/metrics").await;
        assert_eq!(code, 200);
        let line = text
            .lines()
            .find(|l| l.split_once(' ').is_some_and(|(n, _)| n == name))
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"));
        line.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64
    }

    /// POSTs a JSON body to `/api/ticks` with `token`.
    pub async fn ingest_with(&self, token: Option<&str>, body: &str) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/ticks", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// POSTs ticks with the right token and expects them accepted.
    pub async fn ingest(&self, body: &str) -> serde_json::Value {
        let (status, json) = self.ingest_with(Some(TOKEN), body).await;
        assert_eq!(status, 200, "{json}");
        json
    }

    /// Waits for a server that must refuse to start (within 15 s): its
    /// error, with causes.
    pub async fn refusal(self) -> String {
        let outcome = tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("serve stops")
            .unwrap();
        format!("{:#}", outcome.expect_err("serve must not start"))
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// A WebSocket client speaking the wire protocol.
pub struct Client {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Client {
    pub async fn connect(url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Self { socket }
    }

    /// A client over a socket opened some other way (from another local
    /// address, say).
    pub fn from_socket(
        socket: tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    ) -> Self {
        Self { socket }
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&message.to_json()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.unwrap();
    }

    /// The next server message, within 10 seconds.
    pub async fn recv(&mut self) -> ServerMessage {
        self.try_recv(Duration::from_secs(10))
            .await
            .expect("no message within 10 s")
    }

    /// The next server message within `wait`, if any.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<ServerMessage> {
        loop {
            let next = tokio::time::timeout(wait, self.socket.next())
                .await
                .ok()??;
            match next.ok()? {
                Message::Text(text) => {
                    return Some(
                        ServerMessage::from_json(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
                    );
                }
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// Reads until a message matches, returning it.
    pub async fn until<T>(&mut self, mut pick: impl FnMut(ServerMessage) -> Option<T>) -> T {
        loop {
            if let Some(t) = pick(self.recv().await) {
                return t;
            }
        }
    }

    /// Subscribes to `asset` in one timeframe (or all), no resume.
    pub async fn subscribe(&mut self, asset: &str, timeframe: Option<shared::Timeframe>) {
        self.send(&ClientMessage::SubscribeRedisUpdates(
            shared::protocol::Subscribe {
                asset: shared::Asset::new(asset),
                timeframe,
                last_seq: None,
                epoch: None,
            },
        ))
        .await;
    }

    /// Reads until the next `candle_snapshot`.
    pub async fn snapshot(&mut self) -> shared::protocol::CandleSnapshot {
        self.until(|m| match m {
            ServerMessage::CandleSnapshot(s) => Some(s),
            _ => None,
        })
        .await
    }

    /// Reads until the next `redis_update`.
    pub async fn update(&mut self) -> shared::protocol::CandleUpdate {
        self.until(|m| match m {
            ServerMessage::RedisUpdate(u) => Some(u),
            _ => None,
        })
        .await
    }

    /// The close frame, if the server closes within `wait`.
    pub async fn closed(&mut self, wait: Duration) -> Option<String> {
        loop {
            match tokio::time::timeout(wait, self.socket.next()).await.ok()? {
                Some(Ok(Message::Close(frame))) => {
                    return Some(frame.map(|f| f.reason.to_string()).unwrap_or_default());
                }
                Some(Ok(_)) => {}
                _ => return Some(String::new()),
            }
        }
    }
}

/// `GET {base}/api/status` as JSON.
pub async fn status(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/api/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A tick array body.
pub fn ticks_json(asset: &str, ticks: &[(&str, i64)]) -> String {
    let items: Vec<String> = ticks
        .iter()
        .map(|(p, t)| format!(r#"{{"asset":"{asset}","price":"{p}","timestamp":{t}}}"#))
        .collect();
    format!("[{}]", items.join(","))
}

/// A Redis connection for checking what the server wrote.
pub async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Deletes every key under `prefix`.
pub async fn cleanup(prefix: &str) {
    let mut conn = redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// Stream length of the journal under `prefix`.
pub async fn journal_len(prefix: &str) -> u64 {
    let mut conn = redis().await;
    redis::cmd("XLEN")
        .arg(format!("{prefix}journal"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// The open time (ms) of the next minute: candles from it on stay forming
/// while the test runs, and a few minutes after it are still accepted.
pub fn future_minute() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / 60_000 + 1) * 60_000
}

/// Every tick in the journal stream `stream`, in order.
pub async fn journal_ticks_at(
    conn: &mut redis::aio::MultiplexedConnection,
    stream: &str,
) -> Vec<shared::Tick> {
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(conn)
        .await
        .unwrap();
    let redis::Value::Array(entries) = reply else {
        return Vec::new();
    };
    let (mut out, mut skipped) = (Vec::new(), 0);
    server::journal::entry::parse_entries(&entries, &mut out, &mut skipped);
    assert_eq!(skipped, 0);
    out.into_iter().flat_map(|(_, e)| e.ticks).collect()
}

/// Every tick in the journal under `prefix`.
pub async fn journal_ticks(prefix: &str) -> Vec<shared::Tick> {
    journal_ticks_at(&mut redis().await, &format!("{prefix}journal")).await
}

/// A fresh PostgreSQL database for one test, dropped by [`drop_database`].
/// `TEST_PG_ADMIN_URL` names the server (default: trust auth on loopback).
pub async fn fresh_database(name: &str) -> (String, String) {
    use sqlx::Connection;
    let admin = std::env::var("TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let db = format!(
        "tickstream_{name}_{}_{}",
        std::process::id(),
        unique_number()
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = admin
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/{db}"))
        .unwrap();
    (url, db)
}

/// Drops a database made by [`fresh_database`].
pub async fn drop_database(db: &str) {
    use sqlx::Connection;
    let admin = std::env::var("TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// The same URL, logged in as `role`.
pub fn as_role(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{role}@{host}")
}

/// A login role of this test process, member of the group role `group`
/// (roles are cluster-wide: the name carries the process id); dropped by
/// [`drop_role`].
pub async fn login_role(name: &str, group: &str) -> String {
    use sqlx::Connection;
    let role = format!("tickstream_{name}_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    sqlx::raw_sql(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN IN ROLE {group}"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    role
}

/// Drops a role made by [`login_role`].
pub async fn drop_role(role: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
        .execute(&mut conn)
        .await
        .unwrap();
}

fn admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn unique_number() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(nanos) * 100 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A TCP proxy on loopback that a test can cut and restore: a real network
/// fault between the server and PostgreSQL, without stopping the shared
/// PostgreSQL.
pub struct Proxy {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::broadcast::Sender<()>,
}

impl Proxy {
    pub async fn start(upstream: &'static str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, _) = tokio::sync::broadcast::channel(4);
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection reset
                }
                let mut stop = cut2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = stop.recv() => {}
                    }
                });
            }
        });
        Self { port, up, cut }
    }

    /// Cuts every connection and refuses new ones.
    pub fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    /// Lets connections through again.
    pub fn up(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A private redis-server with an append-only file fsynced on every write,
/// so its data survives a restart.
pub struct PrivateRedis {
    child: std::process::Child,
    port: u16,
}

impl PrivateRedis {
    pub fn start(dir: &Path, port: u16) -> Self {
        Self::start_with(dir, port, &[])
    }

    /// As [`PrivateRedis::start`], with more `redis-server` arguments
    /// (`--requirepass`, TLS settings, ...).
    pub fn start_with(dir: &Path, port: u16, extra: &[&str]) -> Self {
        use std::process::{Command, Stdio};
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(extra)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `tickstream migrate ARGS` (the real binary) against `url`, run from an
/// empty folder: whether it succeeded, and its stdout then stderr.
pub fn migrate(url: &str, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickstream"))
        .arg("migrate")
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
