//! A private PostgreSQL primary and its streaming replica on loopback, made
//! from the machine's PostgreSQL binaries (`initdb`, `pg_basebackup -R`) in
//! a temporary folder; both servers are stopped and the folder removed on
//! drop, whatever the test did. As root, the servers run as `postgres`
//! (PostgreSQL refuses to run as root).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// How long a server may take to start or stop.
const WAIT: Duration = Duration::from_secs(15);

/// The folder of PostgreSQL's server binaries (`/usr/lib/postgresql/N/bin`,
/// the newest installed).
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's binaries in /usr/lib/postgresql")
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("postgres").is_file())
        .collect();
    found.sort();
    found.pop().expect("a PostgreSQL version with bin/postgres")
}

/// The user and group ids to run PostgreSQL as: `postgres`'s as root, else
/// none (the current user's).
fn server_ids() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let mut fields = line.split(':').skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// One running PostgreSQL server.
pub struct Server {
    child: Option<Child>,
    data: PathBuf,
    port: u16,
}

impl Server {
    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it (fast shutdown, then SIGKILL past [`WAIT`]).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A primary and its streaming replica. Fields drop in order: the replica,
/// the primary, then the folder.
pub struct Pair {
    pub replica: Server,
    pub primary: Server,
    dir: tempfile::TempDir,
    ids: Option<(u32, u32)>,
}

impl Pair {
    /// A primary on `port` and its replica on `port + 1`, both accepting
    /// queries, the replica streaming from the primary.
    pub async fn start(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ids = server_ids();
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let bin = bin_dir();
        let primary_data = dir.path().join("primary");
        run(
            Command::new(bin.join("initdb"))
                .args(["-U", "postgres", "-A", "trust", "--no-sync", "-D"])
                .arg(&primary_data),
            ids,
        );
        let hba = primary_data.join("pg_hba.conf");
        let mut rules = std::fs::read_to_string(&hba).unwrap();
        rules.push_str("\nhost replication all 127.0.0.1/32 trust\n");
        std::fs::write(&hba, rules).unwrap();
        let mut pair = Self {
            primary: Server {
                child: None,
                data: primary_data,
                port,
            },
            replica: Server {
                child: None,
                data: dir.path().join("replica"),
                port: port + 1,
            },
            dir,
            ids,
        };
        pair.launch(true).await;
        run(
            Command::new(bin.join("pg_basebackup"))
                .args(["-h", "127.0.0.1", "-U", "postgres", "-R", "-X", "stream"])
                .args(["-c", "fast", "-p", &port.to_string(), "-D"])
                .arg(&pair.replica.data),
            ids,
        );
        pair.launch(false).await;
        pair
    }

    /// Pauses the replica's replay, and waits until it has paused (a WAL
    /// record from the primary gets it there when it idles).
    pub async fn pause_replay(&self) {
        let (primary, replica) = (self.primary.url(), self.replica.url());
        let _: i32 = scalar(&replica, "SELECT 1 FROM pg_wal_replay_pause()").await;
        let started = Instant::now();
        loop {
            let state: String = scalar(&replica, "SELECT pg_get_wal_replay_pause_state()").await;
            if state == "paused" {
                return;
            }
            assert!(started.elapsed() < WAIT, "replay did not pause: {state}");
            let _: String = scalar(
                &primary,
                "SELECT pg_logical_emit_message(false, 'test', 'pause')::text",
            )
            .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resumes the replica's replay.
    pub async fn resume_replay(&self) {
        let _: i32 = scalar(&self.replica.url(), "SELECT 1 FROM pg_wal_replay_resume()").await;
    }

    /// The temporary folder holding both servers' files.
    pub fn folder(&self) -> &Path {
        self.dir.path()
    }

    /// Starts the primary (`true`) or the replica again, and waits until it
    /// accepts queries.
    pub async fn launch(&mut self, primary: bool) {
        let (ids, dir) = (self.ids, self.dir.path().to_owned());
        let server = if primary {
            &mut self.primary
        } else {
            &mut self.replica
        };
        assert!(server.child.is_none(), "already running");
        let log = std::fs::File::create(dir.join(format!("{}.log", server.port))).unwrap();
        let mut command = Command::new(bin_dir().join("postgres"));
        command
            .arg("-D")
            .arg(&server.data)
            .args(["-p", &server.port.to_string(), "-k"])
            .arg(&dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(log);
        if let Some((uid, gid)) = ids {
            command.uid(uid).gid(gid);
        }
        server.child = Some(command.spawn().expect("postgres starts"));
        let (url, started) = (server.url(), Instant::now());
        while sqlx::PgConnection::connect(&url).await.is_err() {
            assert!(
                started.elapsed() < WAIT,
                "postgres on {} did not start: {}",
                server.port,
                std::fs::read_to_string(dir.join(format!("{}.log", server.port)))
                    .unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs a short PostgreSQL tool to completion, as `ids` when given.
fn run(command: &mut Command, ids: Option<(u32, u32)>) {
    if let Some((uid, gid)) = ids {
        command.uid(uid).gid(gid);
    }
    let out = command.output().expect("the tool runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One query's single value on `url`.
pub async fn scalar<T>(url: &str, sql: &str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}
