//! [`ClientIp`]: the address of the client behind a request, as handlers
//! should see it. The peer of the TCP connection, unless that peer is one
//! of `TRUSTED_PROXIES`: then the right-most address of `X-Forwarded-For`
//! that is not a trusted proxy (what the nearest proxy saw; anything further
//! left could be written by the client).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The client's address, resolved once per request by the server (see the
/// module documentation): extract it in a handler as `ClientIp(ip)`.
///
/// Every request served by [`crate::app::run`] carries it, next to axum's
/// `ConnectInfo<SocketAddr>` (the TCP peer, which is the proxy when there is
/// one). Outside that (a router driven directly), it falls back to
/// `ConnectInfo`, then to the unspecified address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

impl ClientIp {
    /// The client of a request whose parts another layer holds (Socket.IO
    /// keeps those of the request that opened the session).
    #[must_use]
    pub fn of(parts: &Parts) -> Self {
        if let Some(ip) = parts.extensions.get::<Self>() {
            return *ip;
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| addr.ip());
        Self(peer.to_canonical())
    }
}

/// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// The given blocks.
    #[must_use]
    pub fn new(blocks: Vec<IpNet>) -> Self {
        Self(blocks)
    }

    /// Whether `ip` is a trusted proxy.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind a request from `peer` with `headers`: the peer
    /// itself unless it is trusted; then, reading `X-Forwarded-For` (every
    /// such header, in order) from the right, the first address that is not
    /// a trusted proxy. If every address is trusted, the left-most one; if
    /// an entry is not an address, the last good one before it (the proxy
    /// that received it).
    #[must_use]
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let values: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        for entry in values.iter().rev().flat_map(|v| v.rsplit(',')) {
            let Some(ip) = parse_forwarded(entry) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// Parses one `TRUSTED_PROXIES` entry: an address (`192.0.2.7`, `::1`) or a
/// CIDR block (`10.0.0.0/8`).
///
/// # Errors
///
/// A message saying what is expected, when it is neither.
pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| {
            format!("`{text}` is not an IP address or CIDR block (like 10.0.0.0/8 or 192.0.2.7)")
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|p| parse_proxy(p).unwrap()).collect())
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        let h = forwarded(&["203.0.113.9"]);
        assert_eq!(none.client_of(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let some = proxies(&["10.0.0.0/8"]);
        assert_eq!(some.client_of(ip("198.51.100.1"), &h), ip("198.51.100.1"));
    }

    #[test]
    fn a_trusted_peer_gives_the_right_most_untrusted_address() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.7"]);
        // The client forged the first entry; the proxies appended the rest.
        let h = forwarded(&["1.1.1.1, 203.0.113.9, 10.1.2.3"]);
        assert_eq!(p.client_of(ip("192.0.2.7"), &h), ip("203.0.113.9"));
        // Several headers read as one list, in order.
        let h = forwarded(&["1.1.1.1", "203.0.113.9", "10.1.2.3"]);
        assert_eq!(p.client_of(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Ports and brackets are accepted.
        let h = forwarded(&["[2001:db8::5]:4711, 10.0.0.2:80"]);
        assert_eq!(p.client_of(ip("10.0.0.1"), &h), ip("2001:db8::5"));
    }

    #[test]
    fn no_header_or_only_proxies_or_garbage_stop_at_the_last_good_address() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_of(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        let h = forwarded(&["10.9.9.9, 10.0.0.2"]);
        assert_eq!(p.client_of(ip("10.0.0.1"), &h), ip("10.9.9.9"));
        let h = forwarded(&["203.0.113.9, unknown, 10.0.0.2"]);
        assert_eq!(p.client_of(ip("10.0.0.1"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_blocks() {
        let p = proxies(&["127.0.0.1"]);
        let h = forwarded(&["203.0.113.9"]);
        assert_eq!(p.client_of(ip("::ffff:127.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn proxies_parse_as_addresses_or_blocks() {
        assert_eq!(parse_proxy("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            parse_proxy(" 192.0.2.7 ").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(parse_proxy("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert!(parse_proxy("").is_err());
        assert!(parse_proxy("10.0.0.0/40").is_err());
    }
}
