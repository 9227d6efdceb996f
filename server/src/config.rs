//! Settings for `tickstream serve`. Each is a flag and an environment variable
//! (a `.env` file is read first), with the names and defaults of the original
//! design. A wrong value stops start-up with a message naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use shared::Asset;

use crate::store::{ReadLimits, StoreTarget};

/// Most candles one history read returns: `GET /api/candles`' largest
/// `limit`, and so the largest `REDIS_HISTORICAL_CACHE_SIZE`.
pub const MAX_CANDLES: u64 = 5_000;

mod tokens;

pub use tokens::MIN_TOKEN_CHARS;
use tokens::TokenParser;

/// How the server runs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "0.0.0.0:3001")]
    pub bind: SocketAddr,

    /// A second address serving only `GET /metrics`; when set, `/metrics`
    /// is no longer served on `BIND`.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Folder holding the built client (`trunk build --release` writes it).
    #[arg(long = "dist", env = "DIST_DIR", default_value = "dist")]
    pub dist: PathBuf,

    /// Where every tick is kept: PostgreSQL (`postgres://user@host:port/db`,
    /// with `?sslmode=require` and the like as PostgreSQL takes them), a
    /// SQLite file (`sqlite:PATH`), or `none`. Unset or empty: the embedded
    /// store, `sqlite:data/tickstream.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = store_url)]
    pub database_url: Option<String>,

    /// Seconds a journal entry may sit unacknowledged with a persister that
    /// stopped before another persister takes it over.
    #[arg(long, env = "PERSISTER_CLAIM_IDLE", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub persister_claim_idle: u64,

    /// Redis and the journal.
    #[command(flatten)]
    pub redis: RedisConfig,

    /// The journal's write-ahead file.
    #[command(flatten)]
    pub journal: JournalConfig,

    /// Client connections: timeouts, caps, proxies.
    #[command(flatten)]
    pub connections: crate::serve::ConnectionsConfig,

    /// Who may do what.
    #[command(flatten)]
    pub access: AccessConfig,

    /// The built-in price simulator.
    #[command(flatten)]
    pub simulator: SimulatorConfig,

    /// Limits that keep one client from hurting others.
    #[command(flatten)]
    pub limits: LimitsConfig,

    /// When a feed counts as stale (`FEED_STALE_*`).
    #[command(flatten)]
    pub feeds: crate::feeds::FeedRules,

    /// How candle history is read from the tick store.
    #[command(flatten)]
    pub history: HistoryConfig,

    /// When the trading day opens, for daily and weekly candles: `HH:MM`
    /// and an IANA time zone, such as `17:00 America/New_York`.
    #[arg(long, env = "DAY_START", default_value = "00:00 UTC", value_parser = parse_day_start)]
    pub day_start: shared::DayStart,
}

/// Redis connection and key settings.
#[derive(Debug, Clone, Args)]
pub struct RedisConfig {
    /// Full Redis URL (`redis://`, `rediss://`); overrides the host settings.
    /// `none`: no Redis (the tick store is the journal).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Redis host (unset: `localhost`). With neither `REDIS_URL` nor
    /// `REDIS_HOST` set, a Redis that does not answer at start-up means
    /// embedded mode (the tick store is the journal); with either set, a
    /// Redis that is away means the write-ahead file.
    #[arg(long, env = "REDIS_HOST")]
    pub redis_host: Option<String>,
    /// Redis port.
    #[arg(long, env = "REDIS_PORT", default_value_t = 6379)]
    pub redis_port: u16,
    /// Redis database number.
    #[arg(long, env = "REDIS_DB", default_value_t = 0)]
    pub redis_db: u32,
    /// Redis password (empty: none).
    #[arg(
        long,
        env = "REDIS_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub redis_password: String,
    /// Accepted for compatibility: commands are pipelined over one
    /// multiplexed connection (plus one tailing the journal), so no pool.
    #[arg(long, env = "REDIS_CONNECTION_POOL_SIZE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub redis_connection_pool_size: u32,
    /// Seconds before a Redis command or connection attempt times out.
    #[arg(long, env = "REDIS_SOCKET_TIMEOUT", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub redis_socket_timeout: u64,
    /// Quick retries of a failed Redis command before falling back in-process.
    #[arg(long, env = "REDIS_RETRY_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub redis_retry_attempts: u32,
    /// First reconnection delay in seconds; it doubles up to 30 s.
    #[arg(long, env = "REDIS_RETRY_DELAY", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub redis_retry_delay: u64,
    /// Ticks kept in each `ticks:{asset}` list.
    #[arg(long, env = "REDIS_MAX_TICK_BUFFER_SIZE", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub redis_max_tick_buffer_size: u64,
    /// Seconds a cached candle list lives.
    #[arg(long, env = "REDIS_HISTORICAL_CACHE_TTL", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub redis_historical_cache_ttl: u64,
    /// Seconds between persister batches.
    #[arg(long, env = "REDIS_BATCH_PROCESSING_INTERVAL", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub redis_batch_processing_interval: u64,
    /// Candles kept per series in the cache and in snapshots, and returned
    /// by `/api/candles` without `limit`: at most 5000, its largest `limit`.
    #[arg(long, env = "REDIS_HISTORICAL_CACHE_SIZE", default_value_t = 200,
          value_parser = cache_size)]
    pub redis_historical_cache_size: u64,
    /// Prefix of every Redis key and channel, so several deployments (or test
    /// runs) can share one Redis.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "", value_parser = parse_prefix)]
    pub redis_key_prefix: String,
    /// Whether producers may journal ticks by `XADD` to the stream
    /// `{prefix}ingest` (read only while Redis is in use).
    #[arg(long, env = "REDIS_INGEST_STREAM", default_value_t = true,
          num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub redis_ingest_stream: bool,
    /// Seconds an ingest-stream entry may sit unacknowledged with a process
    /// that stopped before another process takes it over.
    #[arg(long, env = "REDIS_INGEST_CLAIM_IDLE", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub redis_ingest_claim_idle: u64,
    // Scale (issue 14): a Redis Cluster and the journal's shards.
    /// Comma-separated `redis://` or `rediss://` URLs of some Redis Cluster
    /// nodes: the server then runs on that cluster, and `REDIS_URL`,
    /// `REDIS_HOST`, `REDIS_PORT`, `REDIS_DB` and `REDIS_PASSWORD` are not
    /// used (credentials go in the URLs).
    #[arg(long, env = "REDIS_CLUSTER_NODES", value_delimiter = ',', value_parser = cluster_node)]
    pub redis_cluster_nodes: Vec<String>,
    /// Journal streams (unset: 1 on one Redis, 16 on a cluster). Every
    /// process on a Redis must use the same count: it is recorded there,
    /// and a process configured with another one refuses to start.
    #[arg(long, env = "JOURNAL_SHARDS",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub journal_shards: Option<u16>,
}

impl RedisConfig {
    /// Whether the server runs on a Redis Cluster (`REDIS_CLUSTER_NODES`).
    #[must_use]
    pub const fn is_cluster(&self) -> bool {
        !self.redis_cluster_nodes.is_empty()
    }

    /// The journal's stream count: `JOURNAL_SHARDS`, or 16 on a cluster and
    /// 1 on one Redis.
    #[must_use]
    pub fn shards(&self) -> u16 {
        self.journal_shards
            .unwrap_or(if self.is_cluster() { 16 } else { 1 })
    }
}

/// Checks one `REDIS_CLUSTER_NODES` entry.
fn cluster_node(text: &str) -> Result<String, String> {
    let url = text.trim();
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        Ok(url.to_owned())
    } else {
        Err(format!(
            "expected redis:// or rediss:// URLs, comma-separated; got {url:?}"
        ))
    }
}

#[cfg(test)]
mod scale_tests {
    use super::ServeConfig;

    #[test]
    fn cluster_nodes_take_over_and_default_to_sixteen_shards() {
        let one = ServeConfig::parse_from(["--redis-url", "redis://h:1/0"]).unwrap();
        assert!(!one.redis.is_cluster());
        assert_eq!(one.redis.shards(), 1);
        let args = ["--redis-cluster-nodes", "redis://a:7000/,rediss://b:7001/"];
        let c = ServeConfig::parse_from(args).unwrap();
        assert_eq!(c.redis.redis_cluster_nodes.len(), 2);
        assert!(c.redis.is_cluster() && c.redis.redis_is_explicit());
        assert_eq!(c.redis.shards(), 16);
        let four = ServeConfig::parse_from([args[0], args[1], "--journal-shards", "4"]).unwrap();
        assert_eq!(four.redis.shards(), 4);
    }

    #[test]
    fn wrong_cluster_nodes_or_shards_name_the_variable() {
        let bad = ServeConfig::parse_from(["--redis-cluster-nodes", "http://a:7000"]);
        let text = bad.map(|_| ()).unwrap_err().to_string();
        assert!(
            text.contains("redis-cluster-nodes") && text.contains("redis://"),
            "{text}"
        );
        let none = ServeConfig::parse_from(["--journal-shards", "0"]);
        assert!(
            none.map(|_| ())
                .unwrap_err()
                .to_string()
                .contains("journal-shards")
        );
    }
}

/// Tokens, origins, and how many wrong tokens an address may try.
#[derive(Debug, Clone, Args)]
pub struct AccessConfig {
    /// Bearer token for `POST /api/ticks`, at least 16 characters; ingest is
    /// refused while unset.
    #[arg(long, env = "INGEST_TOKEN", hide_env_values = true, value_parser = TokenParser)]
    pub ingest_token: Option<String>,
    /// Token of privileged WebSocket sessions (the cache events), at least
    /// 16 characters; no session is privileged while unset.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true, value_parser = TokenParser)]
    pub admin_token: Option<String>,
    /// Comma-separated origins allowed to open `/ws` and `/socket.io/`, and
    /// to read the HTTP API from a browser (CORS) (`*`: any). Unset: the
    /// page's own origin and clients that send no Origin.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Wrong tokens (admin or ingest) one address may present within
    /// `AUTH_FAILURE_WINDOW` before it is refused with 429 until the window
    /// ends.
    #[arg(long, env = "AUTH_MAX_FAILURES", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub auth_max_failures: u32,
    /// Seconds over which wrong tokens are counted, from an address's first.
    #[arg(long, env = "AUTH_FAILURE_WINDOW", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_failure_window: u64,
    /// Most addresses whose wrong tokens are remembered at once; past it the
    /// address closest to the end of its window is forgotten first.
    #[arg(long, env = "AUTH_FAILURE_ADDRESSES", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub auth_failure_addresses: u64,
}

/// The simulator.
#[derive(Debug, Clone, Args)]
pub struct SimulatorConfig {
    /// Assets to simulate from start-up, comma-separated.
    #[arg(long, env = "SIMULATE", value_delimiter = ',')]
    pub simulate: Vec<Asset>,
    /// Ticks per second per simulated asset.
    #[arg(long, env = "SIMULATOR_RATE", default_value_t = 5.0, value_parser = parse_rate)]
    pub simulator_rate: f64,
    /// Seed of the random walks: the same seed gives the same prices.
    #[arg(long, env = "SIMULATOR_SEED", default_value_t = 42)]
    pub simulator_seed: u64,
    /// Whether `start_stream` may simulate an asset that never had a real
    /// tick (its ticks are shown, never stored). Off: it only subscribes.
    #[arg(long, env = "SIMULATOR_ON_DEMAND", default_value_t = false,
          num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub simulator_on_demand: bool,
    /// On-demand simulations running at once in this process, at most.
    #[arg(long, env = "SIMULATOR_MAX_ASSETS", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub simulator_max_assets: u16,
    /// Milliseconds an on-demand simulation goes on after its last session
    /// left (a reload keeps its walk); at most 10 s.
    #[arg(long, env = "SIMULATOR_LINGER_MS", default_value_t = 5_000, hide = true,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub simulator_linger_ms: u64,
}

/// Limits.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Largest `POST /api/ticks` body, bytes.
    #[arg(long, env = "MAX_INGEST_BYTES", default_value_t = 1 << 20)]
    pub max_ingest_bytes: usize,
    /// Most ticks in one `POST /api/ticks`.
    #[arg(long, env = "MAX_INGEST_TICKS", default_value_t = 10_000)]
    pub max_ingest_ticks: usize,
    /// Milliseconds a tick may be stamped ahead of the server clock; a batch
    /// holding one further ahead is refused (422 naming it), so a wrong clock
    /// upstream never moves the candles into the future.
    #[arg(long, env = "MAX_FUTURE_SKEW_MS", default_value_t = shared::batch::DEFAULT_MAX_FUTURE_SKEW_MS,
          value_parser = clap::value_parser!(i64).range(0..=shared::batch::MAX_FUTURE_SKEW_LIMIT_MS))]
    pub max_future_skew_ms: i64,
    /// Largest WebSocket frame from a client, bytes.
    #[arg(long, env = "MAX_FRAME_BYTES", default_value_t = 256 << 10)]
    pub max_frame_bytes: usize,
    /// Frames per second a WebSocket client may send, of any kind (text,
    /// binary, ping, pong), in bursts of twice that.
    #[arg(long, env = "WS_RATE_LIMIT", default_value_t = 50)]
    pub ws_rate_limit: u32,
    /// Frames queued per WebSocket client before it is declared lagging.
    #[arg(long, env = "WS_SEND_QUEUE", default_value_t = 1024)]
    pub ws_send_queue: usize,
    /// Bytes of frames queued per WebSocket client before it is declared
    /// lagging (replies past twice that close the session).
    #[arg(long, env = "WS_SEND_QUEUE_BYTES", default_value_t = 4 << 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..))]
    pub ws_send_queue_bytes: usize,
    /// Assets one WebSocket client may follow at once; past it a subscribe
    /// is answered with `error`.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = 64,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub ws_max_subscriptions: usize,
}

/// The write-ahead file that holds accepted batches while Redis is away.
#[derive(Debug, Clone, Args)]
pub struct JournalConfig {
    /// The write-ahead file (created with its folder). Another process
    /// finding it in use takes `NAME-1.EXT` .. `NAME-15.EXT`.
    #[arg(long, env = "JOURNAL_WAL_PATH", default_value = "data/journal.wal")]
    pub journal_wal_path: PathBuf,
    /// Largest write-ahead file in bytes; past it ingest answers 503 until
    /// Redis is back (about 40 bytes a tick).
    #[arg(long, env = "JOURNAL_WAL_MAX_BYTES", default_value_t = 1 << 30,
          value_parser = clap::value_parser!(u64).range(4096..))]
    pub journal_wal_max_bytes: u64,
}

/// Candle history reads (`/api/candles`, `get_cached_historical_data`).
#[derive(Debug, Clone, Args)]
pub struct HistoryConfig {
    /// Seconds a history read may run in the database, or wait for a read
    /// connection (a fraction is allowed: 0.5); past it the read is cancelled
    /// and `/api/candles` answers 503 with `Retry-After`.
    #[arg(long, env = "HISTORY_READ_TIMEOUT", default_value = "2", value_parser = parse_seconds)]
    pub history_read_timeout: Duration,
    /// Database connections for history reads, apart from the persister's.
    #[arg(long, env = "HISTORY_READ_CONNECTIONS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub history_read_connections: u32,
    /// A PostgreSQL read replica of `DATABASE_URL`'s database
    /// (`postgres://...`) for history reads (`/api/candles`,
    /// `/api/indicators`, `get_cached_historical_data`, derived-series
    /// seeds), with `HISTORY_READ_CONNECTIONS` connections of its own; a
    /// read it fails goes to `DATABASE_URL`. Writes, migrations, today's
    /// ticks read at start-up and restated candles stay on `DATABASE_URL`.
    /// Unset or empty: every read goes to `DATABASE_URL`.
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true, value_parser = replica_url)]
    pub database_read_url: Option<String>,
}

impl HistoryConfig {
    /// The bounds of the store's read pool.
    #[must_use]
    pub const fn read_limits(&self) -> ReadLimits {
        ReadLimits {
            timeout: self.history_read_timeout,
            connections: self.history_read_connections,
        }
    }

    /// The read replica (`DATABASE_READ_URL`), unless unset or empty.
    #[must_use]
    pub fn read_url(&self) -> Option<&str> {
        self.database_read_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
    }
}

/// Checks a `DATABASE_READ_URL` value (empty: none).
fn replica_url(text: &str) -> Result<String, String> {
    let url = text.trim();
    if url.is_empty() || url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url.to_owned())
    } else {
        Err("expected postgres://... naming a read replica of DATABASE_URL's PostgreSQL".to_owned())
    }
}

impl ServeConfig {
    /// Parses settings from command-line style arguments (and the
    /// environment), as `tickstream serve` would.
    ///
    /// # Errors
    ///
    /// clap's error, naming the flag and variable, for a wrong value.
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Probe {
            #[command(flatten)]
            serve: ServeConfig,
        }
        let args = std::iter::once(std::ffi::OsString::from("tickstream"))
            .chain(args.into_iter().map(Into::into));
        <Probe as clap::Parser>::try_parse_from(args).map(|p| p.serve)
    }
}

impl ServeConfig {
    /// Where ticks are kept (`DATABASE_URL`, checked when parsed).
    #[must_use]
    pub fn store(&self) -> StoreTarget {
        StoreTarget::parse(self.database_url.as_deref()).unwrap_or(StoreTarget::Nothing)
    }
}

impl RedisConfig {
    /// The Redis URL to use, or `None` to run in-process only.
    #[must_use]
    pub fn url(&self) -> Option<String> {
        match self.redis_url.as_deref() {
            Some("none" | "") => None,
            Some(url) => Some(url.to_owned()),
            None => {
                let auth = if self.redis_password.is_empty() {
                    String::new()
                } else {
                    format!(":{}@", urlencode(&self.redis_password))
                };
                Some(format!(
                    "redis://{auth}{}:{}/{}",
                    self.redis_host.as_deref().unwrap_or("localhost"),
                    self.redis_port,
                    self.redis_db
                ))
            }
        }
    }

    /// Whether a Redis was asked for (`REDIS_URL`, `REDIS_HOST` or
    /// `REDIS_CLUSTER_NODES` set), as
    /// opposed to the default address a fresh machine may not run.
    #[must_use]
    pub const fn redis_is_explicit(&self) -> bool {
        self.redis_url.is_some() || self.redis_host.is_some() || self.is_cluster()
    }

    /// The timeout for Redis commands and connection attempts.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        Duration::from_secs(self.redis_socket_timeout)
    }

    /// A key under the configured prefix.
    #[must_use]
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.redis_key_prefix)
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Checks a `DATABASE_URL` value at start-up.
fn store_url(text: &str) -> Result<String, String> {
    StoreTarget::parse(Some(text)).map(|_| text.to_owned())
}

fn parse_day_start(text: &str) -> Result<shared::DayStart, String> {
    text.parse()
        .map_err(|e: shared::DayStartError| e.to_string())
}

fn cache_size(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (1..=MAX_CANDLES).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected 1 to {MAX_CANDLES}: /api/candles returns at most {MAX_CANDLES} candles"
        )),
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.001..=300.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err("expected seconds from 0.001 to 300".to_owned()),
    }
}

fn parse_prefix(text: &str) -> Result<String, String> {
    if text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
    {
        Ok(text.to_owned())
    } else {
        Err("use at most 64 characters of A-Z a-z 0-9 _ - : .".to_owned())
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 100_000.0 => Ok(rate),
        _ => Err("expected a number of ticks per second in (0, 100000]".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ServeConfig, String> {
        ServeConfig::parse_from(args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_those_of_the_design() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "0.0.0.0:3001");
        assert_eq!(c.redis.url().as_deref(), Some("redis://localhost:6379/0"));
        assert!(!c.redis.redis_is_explicit());
        assert_eq!(
            c.journal.journal_wal_path,
            PathBuf::from("data/journal.wal")
        );
        assert_eq!(c.redis.redis_connection_pool_size, 10);
        assert_eq!(c.redis.redis_socket_timeout, 5);
        assert_eq!(c.redis.redis_retry_attempts, 3);
        assert_eq!(c.redis.redis_retry_delay, 1);
        assert_eq!(c.redis.redis_max_tick_buffer_size, 1000);
        assert_eq!(c.redis.redis_historical_cache_ttl, 3600);
        assert_eq!(c.redis.redis_batch_processing_interval, 30);
        assert_eq!(c.redis.redis_historical_cache_size, 200);
        assert!(c.redis.redis_ingest_stream);
        assert_eq!(c.redis.redis_ingest_claim_idle, 30);
        assert!(
            !parse(&["--redis-ingest-stream=false"])
                .unwrap()
                .redis
                .redis_ingest_stream
        );
        assert_eq!(c.history.read_limits(), ReadLimits::default());
    }

    #[test]
    fn history_bounds_are_checked() {
        let err = parse(&["--redis-historical-cache-size", "6000"]).unwrap_err();
        assert!(
            err.contains("REDIS_HISTORICAL_CACHE_SIZE") && err.contains("at most 5000"),
            "{err}"
        );
        let c = parse(&["--redis-historical-cache-size", "5000"]).unwrap();
        assert_eq!(c.redis.redis_historical_cache_size, 5000);
        let c = parse(&["--history-read-timeout", "0.25"]).unwrap();
        assert_eq!(c.history.history_read_timeout, Duration::from_millis(250));
        for bad in ["0", "-1", "nan", "301"] {
            let err = parse(&[&format!("--history-read-timeout={bad}")]).unwrap_err();
            assert!(err.contains("HISTORY_READ_TIMEOUT"), "{err}");
        }
        let err = parse(&["--history-read-connections", "0"]).unwrap_err();
        assert!(err.contains("HISTORY_READ_CONNECTIONS"), "{err}");
    }

    #[test]
    fn a_wrong_value_names_the_variable() {
        let err = parse(&["--redis-port", "sixty"]).unwrap_err();
        assert!(err.contains("REDIS_PORT"), "{err}");
        let err = parse(&["--redis-historical-cache-size", "0"]).unwrap_err();
        assert!(err.contains("REDIS_HISTORICAL_CACHE_SIZE"), "{err}");
        let err = parse(&["--simulate", "EUR/USD"]).unwrap_err();
        assert!(err.contains("SIMULATE") && err.contains("invalid"), "{err}");
        let err = parse(&["--redis-key-prefix", "a b"]).unwrap_err();
        assert!(err.contains("REDIS_KEY_PREFIX"), "{err}");
        let err = parse(&["--simulator-on-demand", "maybe"]).unwrap_err();
        assert!(err.contains("SIMULATOR_ON_DEMAND"), "{err}");
        let err = parse(&["--simulator-max-assets", "0"]).unwrap_err();
        assert!(err.contains("SIMULATOR_MAX_ASSETS"), "{err}");
        let err = parse(&["--redis-ingest-stream", "perhaps"]).unwrap_err();
        assert!(err.contains("REDIS_INGEST_STREAM"), "{err}");
        let err = parse(&["--redis-ingest-claim-idle", "0"]).unwrap_err();
        assert!(err.contains("REDIS_INGEST_CLAIM_IDLE"), "{err}");
    }

    #[test]
    fn the_simulator_answers_on_demand_only_when_asked() {
        let c = parse(&[]).unwrap();
        assert!(!c.simulator.simulator_on_demand);
        assert_eq!(c.simulator.simulator_max_assets, 8);
        assert!(c.simulator.simulator_linger_ms <= 10_000);
        for (args, on) in [
            (&["--simulator-on-demand"][..], true),
            (&["--simulator-on-demand=false"][..], false),
            (&["--simulator-on-demand", "true"][..], true),
            (&["--simulator-on-demand", "0"][..], false),
        ] {
            assert_eq!(
                parse(args).unwrap().simulator.simulator_on_demand,
                on,
                "{args:?}"
            );
        }
    }

    #[test]
    fn redis_url_is_built_from_parts_or_taken_whole() {
        let c = parse(&[
            "--redis-host",
            "cache",
            "--redis-port",
            "7000",
            "--redis-db",
            "3",
            "--redis-password",
            "p@ss",
        ])
        .unwrap();
        assert_eq!(
            c.redis.url().as_deref(),
            Some("redis://:p%40ss@cache:7000/3")
        );
        assert!(c.redis.redis_is_explicit());
        // A port alone still means "the default Redis, if one runs here".
        assert!(
            !parse(&["--redis-port", "7000"])
                .unwrap()
                .redis
                .redis_is_explicit()
        );
        let c = parse(&["--redis-url", "rediss://h:6380/1"]).unwrap();
        assert_eq!(c.redis.url().as_deref(), Some("rediss://h:6380/1"));
        let c = parse(&["--redis-url", "none"]).unwrap();
        assert_eq!(c.redis.url(), None);
    }

    #[test]
    fn the_store_defaults_to_the_embedded_file_and_checks_its_url() {
        use std::path::PathBuf;
        let store = |url: &str| parse(&["--database-url", url]).map(|c| c.store());
        assert_eq!(
            store("").unwrap(),
            StoreTarget::Sqlite(PathBuf::from("data/tickstream.db"))
        );
        assert_eq!(store("none").unwrap(), StoreTarget::Nothing);
        assert_eq!(
            store("sqlite:///tmp/t.db").unwrap(),
            StoreTarget::Sqlite(PathBuf::from("/tmp/t.db"))
        );
        let err = store("sqlite:t.db?mode=ro").unwrap_err();
        assert!(
            err.contains("DATABASE_URL") && err.contains("no options"),
            "{err}"
        );
        let err = store("sqlite::memory:").unwrap_err();
        assert!(
            err.contains("DATABASE_URL") && err.contains("keeps nothing"),
            "{err}"
        );
        assert_eq!(
            store("postgres://u@h/db?sslmode=require").unwrap(),
            StoreTarget::Postgres("postgres://u@h/db?sslmode=require".to_owned())
        );
        let err = store("mysql://u@h/db").unwrap_err();
        assert!(
            err.contains("DATABASE_URL") && err.contains("mysql"),
            "{err}"
        );
        let err = store("sqlite:").unwrap_err();
        assert!(
            err.contains("DATABASE_URL") && err.contains("file path"),
            "{err}"
        );
    }
}
