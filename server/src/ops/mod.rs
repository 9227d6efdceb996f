//! The operator commands: `tickstream health` (the old
//! `redis_health_check.py`) and `tickstream monitor` (the old
//! `monitor_redis_performance.py`).
//!
//! - [`health`]: one pass of checks, OK or FAILED each with the reason.
//! - [`monitor`]: Redis figures sampled on an interval, with warnings.
//! - [`redis_fit`]: whether a Redis can hold the journal (version, eviction,
//!   append-only), for `health` and `serve` start-up.

pub mod health;
pub mod monitor;
pub mod redis_fit;

use std::time::{Duration, Instant};

use crate::config::RedisConfig;
use crate::redis::{Link, Target};

/// A Redis URL with its password hidden, for printing.
#[must_use]
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_owned(),
    }
}

/// The Redis of `config` for printing: the URL, or the cluster's nodes,
/// passwords hidden.
#[must_use]
pub fn shown(config: &RedisConfig) -> String {
    if config.is_cluster() {
        let nodes: Vec<String> = config
            .redis_cluster_nodes
            .iter()
            .map(|u| redact(u))
            .collect();
        return format!("the cluster at {}", nodes.join(","));
    }
    config.url().map(|u| redact(&u)).unwrap_or_default()
}

/// Opens the configured Redis (one server or a cluster) and one connection
/// with the configured timeouts.
///
/// # Errors
///
/// A readable reason: no Redis configured, a bad URL, or the connection
/// failing (refused, timed out, authentication, TLS).
pub async fn connect(config: &RedisConfig) -> Result<(Target, Link), String> {
    let target = Target::from_config(config)?
        .ok_or_else(|| "no Redis configured (REDIS_URL=none)".to_owned())?;
    let conn = tokio::time::timeout(config.timeout(), target.connect(config))
        .await
        .map_err(|_| format!("no answer within {} s", config.redis_socket_timeout))?
        .map_err(|e| e.to_string())?;
    Ok((target, conn))
}

/// Milliseconds since `started`.
#[must_use]
pub fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// Runs `f` and returns its result with the time it took (ms).
///
/// # Errors
///
/// `f`'s error.
pub async fn timed<T, E, F>(f: F) -> Result<(T, f64), E>
where
    F: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let out = f.await?;
    Ok((out, ms_since(started)))
}

/// A cache round trip: `SET key value EX 60`, `GET key` (must match),
/// `DEL key`. Returns the time of SET and GET (ms).
///
/// # Errors
///
/// The Redis error, or a mismatch.
pub async fn cache_round_trip(conn: &mut Link, key: &str) -> Result<f64, String> {
    let value = format!("health-{}", crate::clock::now_millis());
    let ((), ms) = timed(async {
        redis::cmd("SET")
            .arg(key)
            .arg(&value)
            .arg("EX")
            .arg(60)
            .query_async::<()>(conn)
            .await?;
        let got: Option<String> = redis::cmd("GET").arg(key).query_async(conn).await?;
        if got.as_deref() == Some(value.as_str()) {
            Ok(())
        } else {
            Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "GET returned something else than was SET",
            )))
        }
    })
    .await
    .map_err(|e: redis::RedisError| e.to_string())?;
    let _ = redis::cmd("DEL").arg(key).query_async::<()>(conn).await;
    Ok(ms)
}

/// A unique suffix for the keys and channels the commands touch.
#[must_use]
pub fn unique_suffix() -> String {
    use std::hash::{BuildHasher, RandomState};
    format!(
        "{}:{:x}",
        std::process::id(),
        RandomState::new().hash_one(crate::clock::now_millis()) & 0xffff_ffff
    )
}

/// The longest a health or monitor step waits for anything.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("rediss://u:p@h/0"), "rediss://u:***@h/0");
        assert_eq!(redact("redis://h:6379/0"), "redis://h:6379/0");
        assert_eq!(redact("redis://tok@h/0"), "redis://***@h/0");
    }
}
