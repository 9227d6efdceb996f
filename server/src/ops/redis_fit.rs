//! Whether a Redis can hold the journal: version 6.2 or newer (`XAUTOCLAIM`,
//! `XTRIM MINID`), no eviction of keys that have no time to live, and
//! append-only persistence (recommended). Read from `INFO` and `CONFIG GET`,
//! judged by the pure [`judge`]; checked at `serve` start-up
//! ([`check_before_serving`]) and by `tickstream health`.
//!
//! Eviction: `allkeys-*` policies may evict any key, the journal stream
//! included, so they are refused while `maxmemory` is set. `volatile-*`
//! policies evict only keys with a time to live: of ours only the candle
//! cache (`historical:*`, rebuilt from the store on a miss) has one, so they
//! are a warning: once nothing volatile is left, Redis refuses writes (the
//! journal write fails and says so) instead of dropping journal entries.

use std::collections::HashMap;

use crate::redis::Link;

use super::connect;
use crate::config::RedisConfig;

/// The oldest Redis the journal runs on: `XAUTOCLAIM` and `XTRIM MINID`
/// came in 6.2.
pub const OLDEST: (u32, u32) = (6, 2);

/// What a Redis says about itself, as far as the journal cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisFacts {
    /// `redis_version` (`INFO server`).
    pub version: Option<String>,
    /// `maxmemory` in bytes, 0 for no limit (`CONFIG GET`, else `INFO memory`).
    pub maxmemory: Option<u64>,
    /// `maxmemory-policy` (`CONFIG GET`, else `INFO memory`'s `maxmemory_policy`).
    pub policy: Option<String>,
    /// `aof_enabled` (`INFO persistence`).
    pub append_only: Option<bool>,
}

impl RedisFacts {
    /// Reads the facts from `INFO` text (any of its sections, concatenated)
    /// and the `CONFIG GET maxmemory` / `maxmemory-policy` answers (empty when
    /// `CONFIG` is disabled or renamed, as on many managed services): the
    /// `CONFIG` answer wins, `INFO memory` fills what it leaves out.
    #[must_use]
    pub fn read(info: &str, config: &HashMap<String, String>) -> Self {
        let maxmemory = config
            .get("maxmemory")
            .map(String::as_str)
            .or_else(|| info_field(info, "maxmemory"))
            .and_then(|v| v.trim().parse().ok());
        let policy = config
            .get("maxmemory-policy")
            .map(String::as_str)
            .or_else(|| info_field(info, "maxmemory_policy"))
            .map(|p| p.trim().to_ascii_lowercase());
        Self {
            version: info_field(info, "redis_version").map(str::to_owned),
            maxmemory,
            policy,
            append_only: info_field(info, "aof_enabled").map(|v| v == "1"),
        }
    }
}

/// A field of `INFO` text (`name:value` lines, `\r\n` or `\n`).
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .filter_map(|l| l.trim().split_once(':'))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `major.minor` of a version such as `7.0.15`.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The journal cannot run on this Redis: `serve` does not start and
    /// `health` fails.
    Refuse,
    /// It runs, with a risk the operator should know about.
    Warn,
}

/// One thing found, in words naming the setting and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// What, why it matters, and the fix.
    pub text: String,
}

/// Everything [`judge`] found; empty when the Redis fits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The findings, refusals first.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether the journal must not run on this Redis.
    #[must_use]
    pub fn refused(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Refuse)
    }

    /// The texts of the findings of one severity.
    pub fn texts(&self, severity: Severity) -> impl Iterator<Item = &str> {
        self.findings
            .iter()
            .filter(move |f| f.severity == severity)
            .map(|f| f.text.as_str())
    }
}

/// A byte count for people (`100 MB`).
fn megabytes(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mb = bytes as f64 / (1024.0 * 1024.0);
    format!("{mb:.0} MB")
}

/// Judges whether a Redis with these facts can hold the journal.
#[must_use]
pub fn judge(facts: &RedisFacts) -> Verdict {
    let mut findings = Vec::new();
    let mut found = |severity, text: String| findings.push(Finding { severity, text });
    let (oldest_major, oldest_minor) = OLDEST;
    match facts.version.as_deref().map(|v| (v, major_minor(v))) {
        Some((_, Some(version))) if version >= OLDEST => {}
        Some((v, Some(_))) => found(
            Severity::Refuse,
            format!(
                "Redis {v} is older than {oldest_major}.{oldest_minor}, which the journal needs \
                 (XAUTOCLAIM, XTRIM MINID): upgrade Redis to {oldest_major}.{oldest_minor} or newer"
            ),
        ),
        _ => found(
            Severity::Warn,
            format!(
                "the Redis version could not be read from INFO server: the journal needs \
                 {oldest_major}.{oldest_minor} or newer"
            ),
        ),
    }
    match (facts.maxmemory, facts.policy.as_deref()) {
        (Some(0), Some(p)) if p.starts_with("allkeys-") => found(
            Severity::Warn,
            format!(
                "maxmemory-policy is {p}: harmless while maxmemory is 0, but it would evict the \
                 journal as soon as a limit is set; set maxmemory-policy noeviction"
            ),
        ),
        (Some(0), _) | (Some(_), Some("noeviction")) => {}
        (Some(limit), Some(p)) if p.starts_with("allkeys-") => found(
            Severity::Refuse,
            format!(
                "maxmemory-policy is {p} with maxmemory {}: Redis may evict the journal and lose \
                 accepted ticks not yet stored; set maxmemory-policy noeviction \
                 (CONFIG SET maxmemory-policy noeviction, and in redis.conf) or maxmemory 0",
                megabytes(limit)
            ),
        ),
        (Some(limit), Some(p)) if p.starts_with("volatile-") => found(
            Severity::Warn,
            format!(
                "maxmemory-policy is {p} with maxmemory {}: only keys with a time to live are \
                 evicted (the candle cache, rebuilt from the store), and when memory runs out \
                 journal writes fail; maxmemory-policy noeviction is the plain choice",
                megabytes(limit)
            ),
        ),
        (Some(limit), Some(p)) => found(
            Severity::Warn,
            format!(
                "maxmemory-policy {p} (with maxmemory {}) is not one this check knows: make sure \
                 it never evicts keys without a time to live (noeviction does not)",
                megabytes(limit)
            ),
        ),
        (Some(limit), None) => found(
            Severity::Warn,
            format!(
                "maxmemory is {} but maxmemory-policy could not be read (CONFIG GET, INFO \
                 memory): make sure it is noeviction",
                megabytes(limit)
            ),
        ),
        (None, _) => found(
            Severity::Warn,
            "maxmemory could not be read (CONFIG GET, INFO memory): make sure \
             maxmemory-policy is noeviction"
                .to_owned(),
        ),
    }
    match facts.append_only {
        Some(true) => {}
        Some(false) => found(
            Severity::Warn,
            "append-only persistence is off (aof_enabled:0): a Redis restart loses journal \
             entries not yet stored; set appendonly yes (appendfsync always, or everysec for at \
             most a second of loss)"
                .to_owned(),
        ),
        None => found(
            Severity::Warn,
            "whether append-only persistence is on could not be read from INFO persistence: \
             appendonly yes is recommended"
                .to_owned(),
        ),
    }
    findings.sort_by_key(|f| f.severity != Severity::Refuse);
    Verdict { findings }
}

/// Asks a Redis for its facts: `INFO server`, `INFO persistence`,
/// `INFO memory`, and `CONFIG GET maxmemory` / `maxmemory-policy` (an
/// error there means `CONFIG` is disabled or renamed: `INFO memory` is used).
///
/// # Errors
///
/// When `INFO` fails.
pub async fn inspect(conn: &mut Link) -> redis::RedisResult<RedisFacts> {
    let mut info = String::new();
    for section in ["server", "persistence", "memory"] {
        let text: String = conn.on_one_node(redis::cmd("INFO").arg(section)).await?;
        info.push_str(&text);
    }
    let mut config = HashMap::new();
    for name in ["maxmemory", "maxmemory-policy"] {
        let answer: redis::RedisResult<HashMap<String, String>> = conn
            .on_one_node(redis::cmd("CONFIG").arg("GET").arg(name))
            .await;
        match answer {
            Ok(pairs) => config.extend(pairs),
            Err(e) => tracing::debug!("CONFIG GET {name} refused ({e}); reading INFO memory"),
        }
    }
    Ok(RedisFacts::read(&info, &config))
}

/// Why `serve` does not start on a Redis.
#[derive(Debug, thiserror::Error)]
#[error("the Redis at {url} cannot hold the journal: {reasons}")]
pub struct UnfitRedis {
    /// The Redis, password hidden.
    pub url: String,
    /// The refusals, `; `-separated.
    pub reasons: String,
}

/// At `serve` start-up: when the configured Redis answers, judges it; logs
/// each warning and returns the refusals as an error. A Redis that does not
/// answer (the journal then starts in-process) or does not answer `INFO` is
/// not judged now.
///
/// # Errors
///
/// [`UnfitRedis`] naming the settings and the fix.
pub async fn check_before_serving(config: &RedisConfig) -> Result<(), UnfitRedis> {
    if config.url().is_none() && !config.is_cluster() {
        return Ok(());
    }
    let url = super::shown(config);
    let (_target, mut conn) = match connect(config).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("Redis fit not checked at start-up: {e}");
            return Ok(());
        }
    };
    let facts = match tokio::time::timeout(config.timeout(), inspect(&mut conn)).await {
        Ok(Ok(facts)) => facts,
        Ok(Err(e)) => {
            tracing::warn!("whether the Redis at {url} fits the journal could not be read: {e}");
            return Ok(());
        }
        Err(_) => {
            tracing::warn!("the Redis at {url} did not answer INFO in time: fit not checked");
            return Ok(());
        }
    };
    let verdict = judge(&facts);
    for warning in verdict.texts(Severity::Warn) {
        tracing::warn!("Redis at {url}: {warning}");
    }
    if verdict.refused() {
        return Err(UnfitRedis {
            url,
            reasons: verdict
                .texts(Severity::Refuse)
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
