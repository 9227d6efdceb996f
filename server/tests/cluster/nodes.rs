//! A private six-node Redis Cluster on loopback (three masters, three
//! replicas) from Debian's `redis-server`, made with `redis-cli --cluster
//! create`, stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Nodes of a test cluster: three masters and one replica each.
pub const NODES: u16 = 6;
/// The longest wait for the cluster to be made and agree.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running cluster on ports `base .. base + 6` (bus ports +10000).
pub struct Cluster {
    children: Vec<Child>,
    base: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts six nodes on `base ..` and makes the cluster; panics with the
    /// reason when `redis-server` or `redis-cli` is missing, a port is taken,
    /// or the cluster is not ready within 20 s.
    pub fn start(base: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut children = Vec::new();
        for port in base..base + NODES {
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
                "port {port} is taken: a node of an earlier run may still be running"
            );
            children.push(node(dir.path(), port));
        }
        let mut cluster = Self {
            children,
            base,
            _dir: dir,
        };
        let started = Instant::now();
        for port in cluster.ports() {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    started.elapsed() < READY_WITHIN,
                    "redis-server on {port} did not start"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let addresses: Vec<String> = cluster.ports().map(|p| format!("127.0.0.1:{p}")).collect();
        let made = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli is not installed: the cluster tests need Debian's redis-tools");
        assert!(
            made.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&made.stdout)
        );
        cluster.wait_ready(started);
        cluster
    }

    fn ports(&self) -> std::ops::Range<u16> {
        self.base..self.base + NODES
    }

    /// Waits until every node says `cluster_state:ok` and knows all six.
    fn wait_ready(&mut self, started: Instant) {
        for port in self.ports() {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "cluster", "info"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:6") {
                    break;
                }
                assert!(
                    started.elapsed() < READY_WITHIN,
                    "the cluster on {} is not ready: {info}",
                    self.base
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// `REDIS_CLUSTER_NODES` for it: two of its nodes are enough to find
    /// the rest.
    pub fn nodes(&self) -> String {
        format!(
            "redis://127.0.0.1:{}/,redis://127.0.0.1:{}/",
            self.base,
            self.base + 1
        )
    }

    /// The key count of each master (`DBSIZE` of the nodes that hold slots).
    pub fn keys_per_master(&self) -> Vec<u64> {
        self.ports()
            .filter_map(|port| {
                let p = port.to_string();
                let role = Command::new("redis-cli")
                    .args(["-p", &p, "role"])
                    .output()
                    .ok()?;
                if !String::from_utf8_lossy(&role.stdout).starts_with("master") {
                    return None;
                }
                let size = Command::new("redis-cli")
                    .args(["-p", &p, "dbsize"])
                    .output()
                    .ok()?;
                String::from_utf8_lossy(&size.stdout).trim().parse().ok()
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn node(dir: &Path, port: u16) -> Child {
    let own = dir.join(port.to_string());
    std::fs::create_dir_all(&own).unwrap();
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&own)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is not installed: the cluster tests need Debian's redis-server")
}
