//! [`run`]: serve the HTTP API and the page on a listener until the stop
//! token is cancelled, then finish in-flight requests and return.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::ServeConfig;
use crate::http;

/// Serves on `listener` until `stop` is cancelled.
///
/// Prints `tickstream listening on http://ADDR` to standard output once the
/// server accepts connections, so scripts and tests can find a port chosen by
/// the system (`BIND=127.0.0.1:0`).
///
/// # Errors
///
/// When the listener fails.
pub async fn run(
    listener: TcpListener,
    config: ServeConfig,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    if !config.dist.join("index.html").is_file() {
        tracing::warn!(
            "no built client in {}: `/` will answer 503 until `trunk build --release` has run",
            config.dist.display()
        );
    }
    let router = http::router(&config);
    println!("tickstream listening on http://{addr}");
    tracing::info!(%addr, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await?;
    tracing::info!("stopped");
    Ok(())
}
