//! Serving the router on a listener, with the bounds `axum::serve` lacks:
//! a header-read timeout and an idle timeout on every connection (one that
//! never sends a byte included), a cap on open connections in all and per
//! client address (refused with `503` or `429` before any work), the
//! open-files limit raised to fit them, and graceful shutdown.
//!
//! - [`settings`]: [`ConnectionsConfig`], the settings.
//! - [`connection`]: one connection through hyper, `ConnectInfo` and
//!   `ClientIp` on every request, the idle watchdog.
//! - [`refuse`]: the answer over a cap.
//! - [`fd_limit`]: the open-files limit.

mod connection;
mod fd_limit;
mod refuse;
mod settings;

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::gate::Gate;
use crate::http::client_ip::TrustedProxies;

pub use settings::ConnectionsConfig;

/// How long shutdown waits for open connections (WebSockets closing with
/// a reason, requests in flight) before it returns anyway.
const DRAIN: Duration = Duration::from_secs(10);

/// Pause after a failed `accept`, so a full descriptor table is not spun on.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `stop` is cancelled; then accepts no
/// more, lets requests in flight finish and WebSockets close, and returns
/// once every connection is closed or after [`DRAIN`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &ConnectionsConfig,
    stop: CancellationToken,
) {
    let nofile = fd_limit::raise();
    let cap = fd_limit::fitting(config.max_connections, nofile);
    let gate = Gate::new(cap, config.max_connections_per_ip);
    let proxies = TrustedProxies::new(config.trusted_proxies.clone());
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    tracing::info!(
        max_connections = cap,
        max_connections_per_ip = config.max_connections_per_ip,
        header_read_timeout = ?config.header_read_timeout,
        idle_timeout = ?config.idle_timeout,
        "connection limits"
    );
    let serving = connection::Serving {
        router,
        gate: gate.clone(),
        proxies: proxies.clone(),
        http,
        idle: config.idle_timeout,
        stop: stop.clone(),
    };
    let refusals = refuse::Refusals::default();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let place = match gate.connection(connection::counted_address(&proxies, peer.ip())) {
            Ok(place) => place,
            Err(why) => {
                tracing::debug!(%peer, "connection refused: {why}");
                refusals.refuse(tcp, why);
                continue;
            }
        };
        // Small frames go out at once: no Nagle delay on live updates.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        tokio::spawn(connection::serve(serving.clone(), tcp, peer, place));
    }
    drop(listener);
    // A connection's place is given back when its socket closes, WebSocket
    // or not: none left open means everything is closed.
    let closed = async {
        while gate.open() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(DRAIN, closed).await.is_err() {
        tracing::warn!(
            open = gate.open(),
            "connections still open {DRAIN:?} after shutdown began"
        );
    }
}
