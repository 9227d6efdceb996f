//! [`Gate`]: counts open connections, in all and per client address, and
//! refuses one over `MAX_CONNECTIONS` or `MAX_CONNECTIONS_PER_IP`. What it
//! hands out is a [`Permit`] that gives its place back when dropped.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection or request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// `MAX_CONNECTIONS` are open.
    #[error("the server is at its connection limit (MAX_CONNECTIONS)")]
    Full,
    /// `MAX_CONNECTIONS_PER_IP` are open from this address.
    #[error("too many connections from this address (MAX_CONNECTIONS_PER_IP)")]
    TooManyFromAddress,
}

/// The caps and the counts, shared by the accept loop and every connection.
#[derive(Debug, Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    max_total: usize,
    max_per_ip: u32,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, u32>,
}

/// A place held in the [`Gate`]: a connection (counted in all, and per
/// address unless it comes from a trusted proxy) or, behind a proxy, a
/// request or WebSocket of one client (per address only).
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Inner>,
    total: bool,
    ip: Option<IpAddr>,
}

impl Gate {
    /// At most `max_total` connections, and `max_per_ip` from one address.
    #[must_use]
    pub fn new(max_total: usize, max_per_ip: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                max_total,
                max_per_ip,
                counts: Mutex::default(),
            }),
        }
    }

    /// Open connections.
    #[must_use]
    pub fn open(&self) -> usize {
        self.inner.lock().total
    }

    /// A place for a new connection, counted per address under `ip`, or in
    /// all only when `ip` is `None` (a trusted proxy's connection).
    ///
    /// # Errors
    ///
    /// [`Refused`] when a cap is reached; nothing is counted then.
    pub fn connection(&self, ip: Option<IpAddr>) -> Result<Permit, Refused> {
        self.take(true, ip)
    }

    /// A place for one request or WebSocket of the client at `ip` behind a
    /// trusted proxy, counted per address only.
    ///
    /// # Errors
    ///
    /// [`Refused::TooManyFromAddress`] when that address is at its cap.
    pub fn client(&self, ip: IpAddr) -> Result<Permit, Refused> {
        self.take(false, Some(ip))
    }

    fn take(&self, total: bool, ip: Option<IpAddr>) -> Result<Permit, Refused> {
        let ip = ip.map(address_key);
        let mut counts = self.inner.lock();
        if total && counts.total >= self.inner.max_total {
            return Err(Refused::Full);
        }
        if let Some(ip) = ip {
            let n = counts.per_ip.entry(ip).or_default();
            if *n >= self.inner.max_per_ip {
                return Err(Refused::TooManyFromAddress);
            }
            *n += 1;
        }
        if total {
            counts.total += 1;
        }
        Ok(Permit {
            gate: self.inner.clone(),
            total,
            ip,
        })
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.gate.lock();
        if self.total {
            counts.total = counts.total.saturating_sub(1);
        }
        if let Some(ip) = self.ip
            && let Some(n) = counts.per_ip.get_mut(&ip)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_ip.remove(&ip);
            }
        }
    }
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64 (one
/// subscriber usually holds a whole /64).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn caps_in_all_and_per_address_and_places_come_back() {
        let gate = Gate::new(3, 2);
        let a1 = gate.connection(Some(ip("192.0.2.1"))).unwrap();
        let _a2 = gate.connection(Some(ip("192.0.2.1"))).unwrap();
        assert_eq!(
            gate.connection(Some(ip("192.0.2.1"))).unwrap_err(),
            Refused::TooManyFromAddress
        );
        let _b = gate.connection(Some(ip("192.0.2.2"))).unwrap();
        assert_eq!(
            gate.connection(Some(ip("192.0.2.3"))).unwrap_err(),
            Refused::Full
        );
        assert_eq!(gate.open(), 3);
        drop(a1);
        assert_eq!(gate.open(), 2);
        let _a3 = gate.connection(Some(ip("192.0.2.1"))).unwrap();
    }

    #[test]
    fn proxied_clients_count_per_address_only() {
        let gate = Gate::new(1, 1);
        let _proxy = gate.connection(None).unwrap();
        let c = gate.client(ip("203.0.113.9")).unwrap();
        assert_eq!(
            gate.client(ip("203.0.113.9")).unwrap_err(),
            Refused::TooManyFromAddress
        );
        let _other = gate.client(ip("203.0.113.10")).unwrap();
        drop(c);
        let _again = gate.client(ip("203.0.113.9")).unwrap();
        assert_eq!(gate.open(), 1);
    }

    #[test]
    fn ipv6_counts_by_its_slash_64() {
        let gate = Gate::new(10, 1);
        let _a = gate.connection(Some(ip("2001:db8:1:2::1"))).unwrap();
        assert!(gate.connection(Some(ip("2001:db8:1:2::99"))).is_err());
        assert!(gate.connection(Some(ip("2001:db8:1:3::1"))).is_ok());
        let _mapped = gate.connection(Some(ip("::ffff:192.0.2.1"))).unwrap();
        assert!(gate.connection(Some(ip("192.0.2.1"))).is_err());
    }
}
