//! The HTTP surface: each concern exposes a `router()` and this module
//! merges them; everything else falls through to the built client. Every
//! response carries the security headers of [`headers`], and every request
//! is logged through [`trace`]'s span, which hides tokens.

mod candles;
pub mod client_ip;
mod cors;
mod error;
mod headers;
mod health;
mod indicators;
mod ingest;
mod live;
pub mod lockout;
mod metrics;
mod page;
mod series;
mod socketio;
pub mod status;
mod trace;
mod ws;

use axum::Router;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub use error::ApiError;
pub(crate) use ingest::parse as parse_ticks;

/// Every route of the server; `/metrics` answers 404 here while
/// `METRICS_BIND` serves it apart.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let metrics = if config.metrics_bind.is_none() {
        metrics::router()
    } else {
        metrics::served_apart()
    };
    let routes = Router::new()
        .merge(health::router())
        .merge(ingest::router(config.limits.max_ingest_bytes))
        .merge(status::router())
        .merge(metrics)
        .merge(candles::router())
        .merge(indicators::router())
        .merge(ws::router())
        .fallback_service(page::service(&config.dist))
        .layer(socketio::layer(&state));
    let routes = match cors::layer(&config.access.allowed_origins) {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    with_layers(routes, &config.dist).with_state(state)
}

/// `GET /metrics` alone, for the `METRICS_BIND` listener.
pub fn metrics_router(state: AppState) -> Router {
    let dist = state.config.dist.clone();
    with_layers(metrics::router(), &dist).with_state(state)
}

fn with_layers(routes: Router<AppState>, dist: &std::path::Path) -> Router<AppState> {
    headers::layers(routes, dist)
        .layer(TraceLayer::new_for_http().make_span_with(trace::request_span::<axum::body::Body>))
}
