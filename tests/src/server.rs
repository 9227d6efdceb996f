//! [`Server`]: the real `tickstream` binary, started on `127.0.0.1:0`, found
//! by the `listening on` line it prints, and killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::paths;

/// A running server process.
pub struct Server {
    child: Child,
    base: String,
    /// Holds the server's own write-ahead file unless a test names one.
    _scratch: tempfile::TempDir,
}

impl Server {
    /// Starts `tickstream serve` with the built page and extra environment
    /// variables (Redis off unless `REDIS_URL` is given), and waits until it
    /// listens.
    ///
    /// # Errors
    ///
    /// When the binary or the page is missing, or the server does not start
    /// within 30 seconds.
    pub fn start(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dist = paths::dist();
        if !dist.join("index.html").is_file() {
            bail!(
                "{} has no index.html: build the page with `trunk build --release`",
                dist.display()
            );
        }
        Self::spawn(&paths::tickstream_bin(), env)
    }

    /// Starts `bin serve` with extra environment variables, page or not.
    ///
    /// # Errors
    ///
    /// When the binary is missing or does not start within 30 seconds.
    pub fn spawn(bin: &std::path::Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::spawn_unset(bin, env, &[])
    }

    /// Starts `bin serve` with extra environment variables, and without the
    /// variables in `unset` (not even the defaults set here: `REDIS_URL`
    /// unset means the default Redis address).
    ///
    /// # Errors
    ///
    /// When the binary is missing or does not start within 30 seconds.
    pub fn spawn_unset(
        bin: &std::path::Path,
        env: &[(&str, &str)],
        unset: &[&str],
    ) -> anyhow::Result<Self> {
        if !bin.is_file() {
            bail!(
                "{} is missing: build it with `cargo build -p server`",
                bin.display()
            );
        }
        let dist = paths::dist();
        let scratch = tempfile::tempdir()?;
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .env("BIND", "127.0.0.1:0")
            .env("DIST_DIR", &dist)
            // In-process and without a database unless a test names them;
            // quiet unless asked.
            .env("REDIS_URL", "none")
            .env("DATABASE_URL", "none")
            .env("JOURNAL_WAL_PATH", scratch.path().join("journal.wal"))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for name in unset {
            command.env_remove(name);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (found, wait) = mpsc::channel();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = found.send(url.trim().to_owned());
                }
            }
        });
        match wait.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => Ok(Self {
                child,
                base,
                _scratch: scratch,
            }),
            Err(_) => {
                let _ = child.kill();
                bail!("tickstream did not report `listening on` within 30 s")
            }
        }
    }

    /// The process id, for reading its memory use.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The WebSocket URL.
    #[must_use]
    pub fn ws(&self) -> String {
        format!("{}/ws", self.base.replacen("http://", "ws://", 1))
    }

    /// The full URL of `path` on this server.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Server {
    /// Kills the process with SIGKILL, no shutdown at all.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A number no other call in this process returns: for unique key prefixes.
#[must_use]
pub fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) * 1000 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The Redis the end-to-end tests share.
pub const REDIS: &str = "redis://127.0.0.1:6379/0";

/// Deletes every key under `prefix` in the Redis at `url` (what a test or a
/// load scenario wrote).
///
/// # Errors
///
/// When Redis cannot be reached.
pub async fn forget_keys(url: &str, prefix: &str) -> anyhow::Result<()> {
    let mut redis = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await?;
    if !keys.is_empty() {
        let () = redis::cmd("DEL").arg(keys).query_async(&mut redis).await?;
    }
    Ok(())
}
