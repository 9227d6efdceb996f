//! Wrong tokens per client address ([`crate::http::client_ip::ClientIp`],
//! so behind `TRUSTED_PROXIES` the forwarded client): after `AUTH_MAX_FAILURES` wrong admin or ingest
//! tokens within `AUTH_FAILURE_WINDOW`, an address is refused (429) until its
//! window ends, whatever token it presents. At most `AUTH_FAILURE_ADDRESSES`
//! addresses are remembered; an IPv6 address counts as its /64, which one
//! host usually holds whole.
//!
//! Hand-written rather than a general cache crate: the rule is a fixed window
//! per address, checked before the token is compared, and a cache with
//! approximate admission (moka's TinyLFU) could decline to remember a new
//! attacker at all.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::AccessConfig;

/// What a presented token comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The token is right.
    Accepted,
    /// The token is wrong (or none is configured); counted.
    Wrong,
    /// The address has used up its tries; the token was not looked at.
    LockedOut {
        /// Whole seconds until the address may try again (at least 1).
        retry_after_secs: u64,
    },
}

/// One address's wrong tokens in its current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

/// Wrong tokens per address; cheap to clone.
#[derive(Debug, Clone)]
pub struct Lockout {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    addresses: Arc<Mutex<HashMap<IpAddr, Failures>>>,
}

impl Lockout {
    /// The limits of `AUTH_MAX_FAILURES`, `AUTH_FAILURE_WINDOW` and
    /// `AUTH_FAILURE_ADDRESSES`.
    #[must_use]
    pub fn new(config: &AccessConfig) -> Self {
        Self {
            max_failures: config.auth_max_failures.max(1),
            window: Duration::from_secs(config.auth_failure_window),
            capacity: usize::try_from(config.auth_failure_addresses)
                .unwrap_or(usize::MAX)
                .max(1),
            addresses: Arc::default(),
        }
    }

    /// Checks `given` against `expected` for a request from `ip`: a locked
    /// out address is refused before the token is compared, and a wrong
    /// token (or any token when none is configured) is counted.
    pub fn check(&self, ip: IpAddr, given: &str, expected: Option<&str>) -> Verdict {
        let now = Instant::now();
        if let Some(left) = self.locked(ip, now) {
            return Verdict::LockedOut {
                retry_after_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
            };
        }
        match expected {
            Some(expected) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => {
                Verdict::Accepted
            }
            _ => {
                self.failed(ip, now);
                Verdict::Wrong
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.addresses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long `ip` stays refused, if it is.
    fn locked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let key = key_of(ip);
        let mut addresses = self.lock();
        let entry = *addresses.get(&key)?;
        let elapsed = now.saturating_duration_since(entry.since);
        if elapsed >= self.window {
            addresses.remove(&key);
            return None;
        }
        (entry.count >= self.max_failures).then(|| self.window - elapsed)
    }

    /// Counts one wrong token from `ip`.
    fn failed(&self, ip: IpAddr, now: Instant) {
        let key = key_of(ip);
        let window = self.window;
        let mut addresses = self.lock();
        if !addresses.contains_key(&key) && addresses.len() >= self.capacity {
            addresses.retain(|_, f| now.saturating_duration_since(f.since) < window);
            if addresses.len() >= self.capacity
                && let Some(oldest) = addresses
                    .iter()
                    .min_by_key(|(_, f)| f.since)
                    .map(|(k, _)| *k)
            {
                addresses.remove(&oldest);
            }
        }
        let entry = addresses.entry(key).or_insert(Failures {
            since: now,
            count: 0,
        });
        if now.saturating_duration_since(entry.since) >= window {
            *entry = Failures {
                since: now,
                count: 0,
            };
        }
        entry.count = entry.count.saturating_add(1);
    }
}

/// Compares without an early exit, so timing does not leak the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// IPv4 (also when mapped into IPv6) as is; IPv6 by its /64.
fn key_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(segments))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout(max: u32, window_s: u64, capacity: u64) -> Lockout {
        let mut config = crate::config::ServeConfig::parse_from(["--redis-url", "none"])
            .unwrap()
            .access;
        config.auth_max_failures = max;
        config.auth_failure_window = window_s;
        config.auth_failure_addresses = capacity;
        Lockout::new(&config)
    }

    const RIGHT: Option<&str> = Some("0123456789abcdef");

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_eleventh_try_is_refused_even_with_the_right_token() {
        let l = lockout(10, 60, 100);
        let a = ip("192.0.2.1");
        for _ in 0..10 {
            assert_eq!(l.check(a, "guess", RIGHT), Verdict::Wrong);
        }
        assert!(matches!(
            l.check(a, "0123456789abcdef", RIGHT),
            Verdict::LockedOut { retry_after_secs } if (59..=60).contains(&retry_after_secs)
        ));
        // Another address is untouched.
        assert_eq!(
            l.check(ip("192.0.2.2"), "0123456789abcdef", RIGHT),
            Verdict::Accepted
        );
        // No token configured: every token is wrong, and counted.
        assert_eq!(
            l.check(ip("192.0.2.3"), "0123456789abcdef", None),
            Verdict::Wrong
        );
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }

    #[test]
    fn the_window_ends_and_the_address_may_try_again() {
        let l = lockout(2, 60, 100);
        let a = ip("192.0.2.1");
        let start = Instant::now();
        l.failed(a, start);
        l.failed(a, start);
        assert!(l.locked(a, start + Duration::from_secs(59)).is_some());
        assert_eq!(l.locked(a, start + Duration::from_secs(60)), None);
        // A failure after the window starts a new one.
        l.failed(a, start + Duration::from_secs(61));
        assert_eq!(l.locked(a, start + Duration::from_secs(61)), None);
    }

    #[test]
    fn the_map_is_bounded_and_forgets_the_oldest_first() {
        let l = lockout(1, 60, 3);
        let start = Instant::now();
        for (i, host) in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
            .iter()
            .enumerate()
        {
            l.failed(ip(host), start + Duration::from_millis(i as u64));
        }
        assert_eq!(l.lock().len(), 3);
        let now = start + Duration::from_secs(1);
        assert_eq!(l.locked(ip("192.0.2.1"), now), None, "the oldest went");
        assert!(l.locked(ip("192.0.2.4"), now).is_some());
        // Expired entries go before anyone is evicted.
        let later = start + Duration::from_secs(120);
        l.failed(ip("192.0.2.9"), later);
        assert_eq!(l.lock().len(), 1);
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let l = lockout(2, 60, 100);
        let now = Instant::now();
        l.failed(ip("2001:db8:1:2::1"), now);
        l.failed(ip("2001:db8:1:2:ffff::9"), now);
        assert!(l.locked(ip("2001:db8:1:2::77"), now).is_some());
        assert_eq!(l.locked(ip("2001:db8:1:3::1"), now), None);
        l.failed(ip("::ffff:192.0.2.7"), now);
        l.failed(ip("192.0.2.7"), now);
        assert!(l.locked(ip("192.0.2.7"), now).is_some());
    }
}
