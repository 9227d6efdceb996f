//! The HTTP surface: each concern exposes a `router()` and this module
//! merges them; everything else falls through to the built client.

mod candles;
pub mod client_ip;
mod error;
mod health;
mod ingest;
mod metrics;
mod page;
pub mod status;
mod ws;

use axum::Router;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub use error::ApiError;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    Router::new()
        .merge(health::router())
        .merge(ingest::router(config.limits.max_ingest_bytes))
        .merge(status::router())
        .merge(metrics::router())
        .merge(candles::router())
        .merge(ws::router())
        .fallback_service(page::service(&config.dist))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
