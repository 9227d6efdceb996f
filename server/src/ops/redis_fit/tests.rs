//! [`judge`] and [`RedisFacts::read`] on real `INFO server`, `INFO
//! persistence` and `INFO memory` answers of Redis 7.0.15 (captured with
//! `redis-server --maxmemory 100mb --maxmemory-policy allkeys-lru --appendonly
//! no`, with `volatile-lru --appendonly yes`, and with the defaults).

use super::*;

const ALLKEYS: &str = include_str!("info-7.0.15-allkeys-lru.txt");
const VOLATILE_AOF: &str = include_str!("info-7.0.15-volatile-lru-aof.txt");
const DEFAULT: &str = include_str!("info-7.0.15-default.txt");

fn config(maxmemory: &str, policy: &str) -> HashMap<String, String> {
    HashMap::from([
        ("maxmemory".to_owned(), maxmemory.to_owned()),
        ("maxmemory-policy".to_owned(), policy.to_owned()),
    ])
}

fn texts(verdict: &Verdict, severity: Severity) -> Vec<&str> {
    verdict.texts(severity).collect()
}

#[test]
fn facts_come_from_info_text_with_crlf_lines() {
    assert!(ALLKEYS.contains("\r\n"), "the fixture is a raw INFO answer");
    let facts = RedisFacts::read(ALLKEYS, &HashMap::new());
    assert_eq!(
        facts,
        RedisFacts {
            version: Some("7.0.15".to_owned()),
            maxmemory: Some(104_857_600),
            policy: Some("allkeys-lru".to_owned()),
            append_only: Some(false),
        }
    );
    let facts = RedisFacts::read(VOLATILE_AOF, &HashMap::new());
    assert_eq!(facts.policy.as_deref(), Some("volatile-lru"));
    assert_eq!(facts.append_only, Some(true));
}

#[test]
fn config_get_wins_and_info_memory_fills_in_when_config_is_disabled() {
    // CONFIG answered (what `CONFIG SET` changed since INFO is the same, but
    // CONFIG is the setting itself).
    let facts = RedisFacts::read(ALLKEYS, &config("0", "noeviction"));
    assert_eq!(facts.maxmemory, Some(0));
    assert_eq!(facts.policy.as_deref(), Some("noeviction"));
    // CONFIG renamed away (managed Redis): INFO memory's fields.
    let facts = RedisFacts::read(DEFAULT, &HashMap::new());
    assert_eq!(facts.maxmemory, Some(0));
    assert_eq!(facts.policy.as_deref(), Some("noeviction"));
}

#[test]
fn allkeys_eviction_with_a_memory_limit_is_refused_naming_the_setting_and_fix() {
    let verdict = judge(&RedisFacts::read(
        ALLKEYS,
        &config("104857600", "allkeys-lru"),
    ));
    assert!(verdict.refused());
    let refusals = texts(&verdict, Severity::Refuse);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    for needle in ["maxmemory-policy is allkeys-lru", "100 MB", "noeviction"] {
        assert!(refusals[0].contains(needle), "{needle}: {}", refusals[0]);
    }
    // And the append-only warning comes along.
    assert!(texts(&verdict, Severity::Warn)[0].contains("appendonly yes"));
    for policy in ["allkeys-lfu", "allkeys-random"] {
        let facts = RedisFacts::read(ALLKEYS, &config("1", policy));
        assert!(judge(&facts).refused(), "{policy}");
    }
}

#[test]
fn volatile_eviction_is_a_warning_since_only_the_candle_cache_has_a_ttl() {
    let verdict = judge(&RedisFacts::read(VOLATILE_AOF, &HashMap::new()));
    assert!(!verdict.refused());
    let warnings = texts(&verdict, Severity::Warn);
    assert_eq!(warnings.len(), 1, "append-only is on: {warnings:?}");
    assert!(warnings[0].contains("volatile-lru"), "{}", warnings[0]);
    assert!(warnings[0].contains("candle cache"), "{}", warnings[0]);
    for policy in ["volatile-lfu", "volatile-random", "volatile-ttl"] {
        let verdict = judge(&RedisFacts::read(VOLATILE_AOF, &config("1048576", policy)));
        assert!(!verdict.refused(), "{policy}");
    }
}

#[test]
fn without_a_memory_limit_nothing_is_evicted() {
    // The machine's default Redis: passes, with the append-only warning only.
    let verdict = judge(&RedisFacts::read(DEFAULT, &config("0", "noeviction")));
    assert!(!verdict.refused());
    let warnings = texts(&verdict, Severity::Warn);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("aof_enabled:0"), "{}", warnings[0]);
    // allkeys-* without a limit evicts nothing yet: a warning, not a refusal.
    let verdict = judge(&RedisFacts::read(DEFAULT, &config("0", "allkeys-lru")));
    assert!(!verdict.refused());
    assert!(texts(&verdict, Severity::Warn)[0].contains("as soon as a limit is set"));
}

#[test]
fn a_redis_older_than_6_2_is_refused() {
    // The same answer with the version line of older releases.
    for old in ["6.0.16", "5.0.14", "6.1.0"] {
        let info = ALLKEYS.replace("redis_version:7.0.15", &format!("redis_version:{old}"));
        let verdict = judge(&RedisFacts::read(&info, &config("0", "noeviction")));
        let refusals = texts(&verdict, Severity::Refuse);
        assert_eq!(refusals.len(), 1, "{old}: {refusals:?}");
        assert!(refusals[0].contains(&format!("Redis {old} is older than 6.2")));
        assert!(refusals[0].contains("XAUTOCLAIM"));
    }
    for new in ["6.2.0", "6.2.14", "7.2.4", "8.0.2", "10.0"] {
        let info = DEFAULT.replace("redis_version:7.0.15", &format!("redis_version:{new}"));
        let verdict = judge(&RedisFacts::read(&info, &HashMap::new()));
        assert!(!verdict.refused(), "{new}: {verdict:?}");
    }
}

#[test]
fn what_cannot_be_read_is_a_warning_not_a_refusal() {
    let verdict = judge(&RedisFacts::default());
    assert!(!verdict.refused());
    let warnings = texts(&verdict, Severity::Warn);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("version could not be read"));
    assert!(warnings[1].contains("maxmemory could not be read"));
    assert!(warnings[2].contains("append-only"));
    // A limit with an unreadable or unknown policy.
    let facts = RedisFacts {
        maxmemory: Some(1 << 30),
        ..RedisFacts::read(VOLATILE_AOF, &HashMap::new())
    };
    for (policy, needle) in [
        (None, "could not be read"),
        (Some("lru-everything"), "not one"),
    ] {
        let facts = RedisFacts {
            policy: policy.map(str::to_owned),
            ..facts.clone()
        };
        let verdict = judge(&facts);
        assert!(!verdict.refused());
        assert!(texts(&verdict, Severity::Warn)[0].contains(needle));
    }
}
