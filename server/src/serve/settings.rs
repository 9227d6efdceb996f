//! [`ConnectionsConfig`]: the settings of client connections (timeouts,
//! caps, trusted proxies), a group of `tickstream serve`'s settings.

use std::time::Duration;

use clap::Args;

/// Client connections: how long a client may take, how many may be open,
/// and which peers are proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Args)]
pub struct ConnectionsConfig {
    /// Seconds a client has to send a complete request head, counted from
    /// when the server starts waiting for it: the connection opened, or the
    /// previous response sent on a keep-alive connection.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10", value_parser = seconds)]
    pub header_read_timeout: Duration,
    /// Seconds without a byte read or written before a connection is
    /// closed (a stalled request body, a client that stopped reading a
    /// response). WebSockets are watched by pings instead.
    #[arg(long, env = "IDLE_TIMEOUT", default_value = "60", value_parser = seconds)]
    pub idle_timeout: Duration,
    /// Open connections (WebSockets included) before new ones get `503`.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_connections: u32,
    /// Open connections from one client address (an IPv6 client counts by
    /// its /64) before new ones get `429`.
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_connections_per_ip: u32,
    /// Comma-separated addresses or CIDR blocks of reverse proxies whose
    /// `X-Forwarded-For` names the client. Empty: the peer is the client.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = crate::http::client_ip::parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds between server pings on a WebSocket; a session that leaves
    /// two in a row unanswered is closed. Shortened by tests.
    #[arg(long, env = "WS_PING_INTERVAL", default_value = "20", value_parser = seconds, hide = true)]
    pub ws_ping_interval: Duration,
}

/// A duration in seconds, fractions allowed, from 0.05 s to a day.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if (0.05..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err("expected seconds between 0.05 and 86400".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::ServeConfig;

    use super::*;

    fn parse(args: &[&str]) -> Result<ConnectionsConfig, String> {
        ServeConfig::parse_from(args)
            .map(|c| c.connections)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_those_of_the_issue() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.max_connections, 10_000);
        assert_eq!(c.max_connections_per_ip, 256);
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.ws_ping_interval, Duration::from_secs(20));
    }

    #[test]
    fn values_are_checked_and_errors_name_the_variable() {
        let c = parse(&[
            "--trusted-proxies",
            "10.0.0.0/8,192.0.2.7, ::1",
            "--idle-timeout",
            "0.5",
        ])
        .unwrap();
        let proxies: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]);
        assert_eq!(c.idle_timeout, Duration::from_millis(500));
        for (flag, value, name) in [
            ("--trusted-proxies", "10.0.0.0/33", "TRUSTED_PROXIES"),
            ("--trusted-proxies", "proxy.example", "TRUSTED_PROXIES"),
            ("--header-read-timeout", "0", "HEADER_READ_TIMEOUT"),
            ("--idle-timeout", "soon", "IDLE_TIMEOUT"),
            ("--max-connections", "0", "MAX_CONNECTIONS"),
            ("--max-connections-per-ip", "0", "MAX_CONNECTIONS_PER_IP"),
        ] {
            let err = parse(&[flag, value]).unwrap_err();
            assert!(err.contains(name), "{flag} {value}: {err}");
        }
    }
}
